"""Fakes for testing code that meters energy, without GPUs, root or CodeCarbon.

* :class:`FakeNvml` stands in for the ``pynvml`` module: ``NvmlMeter(nvml=FakeNvml([1000]))``.
* :func:`build_fake_rapl_tree` writes a powercap tree:
  ``RaplMeter(root=build_fake_rapl_tree(tmp_path))``.
* :class:`ReplayMeter` returns recorded Measurements, for pipeline and search tests.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from greensearch.energy._base import Measurement, Meter, Method
from greensearch.exceptions import MeasurementError

__all__ = [
    "FakeNvml",
    "FakeNvmlError",
    "ReplayMeter",
    "build_fake_rapl_tree",
    "set_rapl_energy",
]

DEFAULT_MAX_ENERGY_RANGE_UJ = 262_143_328_850  # a common real value (~262 kJ)


class FakeNvmlError(Exception):
    """Mimics ``pynvml.NVMLError``: carries the NVML error code in ``value``."""

    def __init__(self, value: int) -> None:
        super().__init__(f"fake NVML error {value}")
        self.value = value


class FakeNvml:
    """A scriptable stand-in for the ``pynvml`` module.

    Counters are plain attributes: set ``energy_mj[i]`` (or call :meth:`advance`) between
    ``begin`` and ``end``; or queue readings with :meth:`script`, consumed one per read.
    Errors: ``init_error`` fails ``nvmlInit``; :meth:`fail_next` fails the next call(s) of
    any function.
    """

    NVMLError = FakeNvmlError
    # Same codes as pynvml.
    NVML_ERROR_UNINITIALIZED = 1
    NVML_ERROR_INVALID_ARGUMENT = 2
    NVML_ERROR_NOT_SUPPORTED = 3
    NVML_ERROR_NO_PERMISSION = 4
    NVML_ERROR_NOT_FOUND = 6
    NVML_ERROR_DRIVER_NOT_LOADED = 9
    NVML_ERROR_TIMEOUT = 10
    NVML_ERROR_LIBRARY_NOT_FOUND = 12
    NVML_ERROR_FUNCTION_NOT_FOUND = 13
    NVML_ERROR_GPU_IS_LOST = 15
    NVML_ERROR_UNKNOWN = 999

    def __init__(self, energy_mj: Sequence[int] = (0,), *, init_error: int | None = None) -> None:
        """Fake ``len(energy_mj)`` GPUs whose counters start at ``energy_mj`` (millijoules)."""
        self.energy_mj = list(energy_mj)
        self.init_error = init_error
        self.reads: list[tuple[int, int]] = []  # (device, value) per energy read
        self.init_calls = 0
        self.shutdown_calls = 0
        self._script: dict[int, deque[int]] = defaultdict(deque)
        self._fail: dict[str, deque[int]] = defaultdict(deque)

    def script(self, device: int, values_mj: Iterable[int]) -> None:
        """Queue counter values returned by the next reads of ``device``."""
        self._script[device].extend(values_mj)

    def advance(self, device: int, delta_mj: int) -> None:
        """Add ``delta_mj`` to a counter, wrapping like NVML's unsigned 64-bit value."""
        self.energy_mj[device] = (self.energy_mj[device] + delta_mj) % 2**64

    def fail_next(self, function: str, code: int, times: int = 1) -> None:
        """Make the next ``times`` calls of ``function`` raise ``NVMLError(code)``."""
        self._fail[function].extend([code] * times)

    def _maybe_fail(self, function: str) -> None:
        if self._fail[function]:
            raise FakeNvmlError(self._fail[function].popleft())

    def nvmlInit(self) -> None:  # noqa: N802 - pynvml's names
        self.init_calls += 1
        if self.init_error is not None:
            raise FakeNvmlError(self.init_error)
        self._maybe_fail("nvmlInit")

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.shutdown_calls += 1
        self._maybe_fail("nvmlShutdown")

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        self._maybe_fail("nvmlDeviceGetCount")
        return len(self.energy_mj)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        self._maybe_fail("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.energy_mj):
            raise FakeNvmlError(self.NVML_ERROR_INVALID_ARGUMENT)
        return index

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: int) -> int:  # noqa: N802
        self._maybe_fail("nvmlDeviceGetTotalEnergyConsumption")
        if self._script[handle]:
            self.energy_mj[handle] = self._script[handle].popleft()
        self.reads.append((handle, self.energy_mj[handle]))
        return self.energy_mj[handle]


def build_fake_rapl_tree(
    root: Path,
    package_uj: Sequence[int] = (0,),
    *,
    dram_uj: Sequence[int] | None = None,
    max_energy_range_uj: int = DEFAULT_MAX_ENERGY_RANGE_UJ,
    mode: int = 0o444,
) -> Path:
    """Write a powercap tree like ``/sys/class/powercap`` under ``root`` and return it.

    Each package gets a ``core`` subzone (must be ignored: it is inside the package) and,
    when ``dram_uj`` is given, a ``dram`` subzone. A control-type ``intel-rapl`` directory
    and an ``intel-rapl-mmio:0`` duplicate are added as decoys. ``mode`` applies to the
    ``energy_uj`` files (use ``0o000`` to test unreadable counters).
    """
    root.mkdir(parents=True, exist_ok=True)
    (root / "intel-rapl").mkdir(exist_ok=True)
    (root / "intel-rapl" / "enabled").write_text("1\n")

    def zone(name: str, label: str, energy_uj: int) -> None:
        path = root / name
        path.mkdir(exist_ok=True)
        (path / "name").write_text(f"{label}\n")
        (path / "max_energy_range_uj").write_text(f"{max_energy_range_uj}\n")
        energy = path / "energy_uj"
        if energy.exists():
            energy.chmod(0o644)
        energy.write_text(f"{energy_uj}\n")
        energy.chmod(mode)

    for i, uj in enumerate(package_uj):
        zone(f"intel-rapl:{i}", f"package-{i}", uj)
        zone(f"intel-rapl:{i}:0", "core", 123_456)
        if dram_uj is not None:
            zone(f"intel-rapl:{i}:1", "dram", dram_uj[i])
    zone("intel-rapl-mmio:0", "package-0", 999)
    return root


def set_rapl_energy(root: Path, zone: str, energy_uj: int) -> None:
    """Set a fake counter, e.g. ``set_rapl_energy(root, "intel-rapl:0", 4_000_000)``."""
    path = root / zone / "energy_uj"
    path.write_text(f"{energy_uj}\n")


class ReplayMeter(Meter):
    """Returns recorded Measurements, in order per key, while enforcing the window contract.

    ``end(key)`` returns the next recording with that key unchanged (its recorded duration,
    energy and idle figures), so pipeline tests get deterministic energy without hardware.
    """

    def __init__(
        self,
        recorded: Iterable[Measurement],
        *,
        name: str | None = None,
        method: Method | None = None,
    ) -> None:
        """Queue ``recorded``; ``name``/``method`` default to the first recording's."""
        super().__init__(carbon_intensity_g_per_kwh=0.0)  # co2 comes from the recordings
        self._details.pop("carbon", None)
        self._queues: dict[str, deque[Measurement]] = defaultdict(deque)
        records = list(recorded)
        for m in records:
            self._queues[m.key].append(m)
        self.name = name or (records[0].meter if records else "replay")
        self.method = method or (records[0].method if records else "estimated")

    @classmethod
    def from_jsonl(cls, path: str | Path) -> ReplayMeter:
        """Load Measurements written one JSON object per line (``Measurement.to_dict``)."""
        lines = Path(path).read_text().splitlines()
        return cls(Measurement.from_dict(json.loads(line)) for line in lines if line.strip())

    def begin(self, key: str) -> None:
        """Open ``key``; fails early if nothing is recorded for it."""
        if not self._queues.get(key):
            raise MeasurementError(f"ReplayMeter has no recording left for window '{key}'")
        super().begin(key)

    def _read(self) -> None:
        return None

    def _components_j(self, start: Any, end: Any, duration_s: float) -> dict[str, float]:
        return {}

    def _finish(self, key: str, duration_s: float, components_j: dict[str, float]) -> Measurement:
        return self._queues[key].popleft()

    def _sample_idle_power_w(self, seconds: float) -> tuple[float, str]:
        return 0.0, "replay: recordings carry their own idle figures"
