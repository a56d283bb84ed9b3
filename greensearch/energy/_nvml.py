"""GPU energy from NVML's cumulative energy counter (Volta and newer)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from greensearch.energy._base import Meter, warn_if_zero
from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE
from greensearch.exceptions import MeasurementError, MeterUnavailableError

__all__ = ["NvmlMeter"]

#: nvmlDeviceGetTotalEnergyConsumption returns an unsigned 64-bit millijoule count.
COUNTER_MODULUS_MJ = 2**64
MJ_TO_J = 1e-3

# NVML error names that mean "this machine cannot meter GPUs" rather than "a read failed".
_UNAVAILABLE = {
    "NVML_ERROR_LIBRARY_NOT_FOUND": "the NVIDIA driver library (libnvidia-ml) is missing; "
    "install the NVIDIA driver or use --meter codecarbon",
    "NVML_ERROR_DRIVER_NOT_LOADED": "the NVIDIA driver is not loaded; load it (nvidia-smi "
    "should work) or use --meter codecarbon",
    "NVML_ERROR_NOT_SUPPORTED": "this GPU has no energy counter (needs Volta or newer); "
    "use --meter codecarbon",
    "NVML_ERROR_NO_PERMISSION": "NVML denied access; run with access to /dev/nvidia* "
    "or use --meter codecarbon",
    "NVML_ERROR_FUNCTION_NOT_FOUND": "the driver is too old for energy counters; update the "
    "NVIDIA driver",
}


def _error_name(nvml: Any, err: BaseException) -> str:
    value = getattr(err, "value", None)
    for name in _UNAVAILABLE.keys() | {"NVML_ERROR_GPU_IS_LOST", "NVML_ERROR_UNINITIALIZED"}:
        if value is not None and getattr(nvml, name, object()) == value:
            return name
    return f"NVML error {value}"


def _default_sync() -> Callable[[], None] | None:
    """CUDA sync only if the user already imported torch: otherwise no queued CUDA work exists."""
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.synchronize


class NvmlMeter(Meter):
    """Measures GPU energy with ``nvmlDeviceGetTotalEnergyConsumption`` (mJ, per device).

    Readings are "measured". Counters are read at both window edges after a CUDA
    synchronize, so queued kernels are charged to the window that launched them.
    """

    name = "nvml"
    method = "measured"

    def __init__(
        self,
        *,
        gpu_indices: Sequence[int] | None = None,
        nvml: ModuleType | Any | None = None,
        synchronize: Callable[[], None] | None = None,
        country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE,
        carbon_intensity_g_per_kwh: float | None = None,
    ) -> None:
        """Initialise NVML and check every selected GPU has an energy counter.

        Args:
            gpu_indices: GPUs to meter (NVML indices); all by default.
            nvml: The NVML module; ``pynvml`` by default, a ``FakeNvml`` in tests.
            synchronize: Called at window edges; default ``torch.cuda.synchronize`` when
                torch is already imported and CUDA is available.
            country_iso_code: See :class:`Meter`.
            carbon_intensity_g_per_kwh: See :class:`Meter`.

        Raises:
            MeterUnavailableError: pynvml, the driver, a GPU or its energy counter is missing.
        """
        super().__init__(
            country_iso_code=country_iso_code,
            carbon_intensity_g_per_kwh=carbon_intensity_g_per_kwh,
        )
        if nvml is None:
            try:
                import pynvml
            except ImportError as err:
                raise MeterUnavailableError(
                    "pynvml is not installed; pip install nvidia-ml-py or use --meter codecarbon"
                ) from err
            nvml = pynvml
        self._nvml: Any = nvml
        self._sync_fn = synchronize if synchronize is not None else _default_sync()
        self._initialised = False
        try:
            nvml.nvmlInit()
            self._initialised = True
            count = int(nvml.nvmlDeviceGetCount())
        except nvml.NVMLError as err:
            raise self._unavailable(err, "initialising NVML") from err
        indices = list(range(count)) if gpu_indices is None else list(gpu_indices)
        if not indices:
            self.close()
            raise MeterUnavailableError(
                "NVML found no NVIDIA GPU; use --meter codecarbon or --meter rapl on this machine"
            )
        bad = [i for i in indices if not 0 <= i < count]
        if bad:
            self.close()
            raise MeterUnavailableError(
                f"GPU indices {bad} do not exist (NVML sees {count}); pass gpu_indices in "
                f"0..{count - 1}"
            )
        self._indices = indices
        try:
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in indices]
            for handle in self._handles:  # fail now, not in the first window
                nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
        except nvml.NVMLError as err:
            self.close()
            raise self._unavailable(err, "reading the GPU energy counter") from err
        self._details["gpu"] = "measured: NVML total energy counter"

    def _unavailable(self, err: BaseException, doing: str) -> MeterUnavailableError:
        name = _error_name(self._nvml, err)
        fix = _UNAVAILABLE.get(name, "check nvidia-smi works or use --meter codecarbon")
        return MeterUnavailableError(f"NVML failed {doing} ({name}): {fix}")

    def _sync(self) -> None:
        if self._sync_fn is not None:
            self._sync_fn()

    def _read(self) -> tuple[int, ...]:
        try:
            return tuple(
                int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(h)) for h in self._handles
            )
        except self._nvml.NVMLError as err:
            raise MeasurementError(
                f"NVML energy read failed ({_error_name(self._nvml, err)}); the GPU may have "
                "been lost or reset, check nvidia-smi and rerun the stage"
            ) from err

    def _components_j(
        self, start: tuple[int, ...], end: tuple[int, ...], duration_s: float
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for index, s_mj, e_mj in zip(self._indices, start, end, strict=True):
            delta_mj = (e_mj - s_mj) % COUNTER_MODULUS_MJ  # one wrap of the u64 counter
            if delta_mj >= COUNTER_MODULUS_MJ // 2:
                raise MeasurementError(
                    f"gpu:{index} energy counter went backwards ({s_mj} -> {e_mj} mJ), likely a "
                    "driver reset; rerun the stage"
                )
            out[f"gpu:{index}"] = delta_mj * MJ_TO_J
        warn_if_zero(self.name, out, duration_s, "100 ms")
        return out

    def close(self) -> None:
        """Shut NVML down (once)."""
        super().close()
        if self._initialised:
            self._initialised = False
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:  # shutting down a lost GPU: nothing left to release
                pass
