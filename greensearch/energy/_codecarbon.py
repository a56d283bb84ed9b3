"""CPU/RAM (and GPU) energy through CodeCarbon's hardware models, for machines without counters.

Why not start/stop an ``OfflineEmissionsTracker`` per window: the first ``start()`` probes
the hardware and reads the TDP table, later ones spawn two scheduler threads, and a tracker
has one running total, so nested windows would need one tracker each. Instead we let
CodeCarbon detect the hardware once (``get_detected_hardware()``), never start the tracker,
and at each window edge ask each CodeCarbon hardware object for the energy since the
previous edge (``measure_power_and_energy``), adding it to a cumulative ledger. A window's
energy is the ledger difference, so windows nest and overlap freely, and an edge is cheap
(measured by ``benchmarks/meter_overhead.py``; figures in ``benchmarks/README.md``).

CodeCarbon's figure for a component is "measured" only when it came from a counter (RAPL,
Windows EMI, Power Gadget, powermetrics, NVML); its TDP/CPU-load and RAM models are
"estimated", and the meter is "measured" only if every component is.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from greensearch.energy._base import J_PER_KWH, Meter
from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE
from greensearch.exceptions import MeasurementError, MeterUnavailableError

__all__ = ["CodeCarbonMeter"]

_COUNTER_CPU_MODES = {
    "intel_rapl": "RAPL",
    "windows_emi": "Windows Energy Meter Interface",
    "intel_power_gadget": "Intel Power Gadget",
}


def _quiet_codecarbon() -> None:
    """Silence CodeCarbon's INFO/WARNING lines printed before its own ``log_level`` applies.

    ``log_level="error"`` would set the same level moments later; we only set it earlier.
    """
    logging.getLogger("codecarbon").setLevel(logging.ERROR)


class _ZeroLoad:
    """Stands in for CodeCarbon's CPU load meter to evaluate its model at 0 % load."""

    def percent(self, *_: Any, **__: Any) -> float:
        return 0.0

    def reset(self) -> None:
        """Nothing to reset."""


def _describe(hw: Any) -> tuple[str, str, str]:
    """Return (component, method, description) for one CodeCarbon hardware object."""
    kind = type(hw).__name__  # CodeCarbon's own cache classifies by class name too
    if kind == "CPU":
        mode = getattr(hw, "_mode", "?")
        if mode in _COUNTER_CPU_MODES:
            return "cpu", "measured", f"measured: {_COUNTER_CPU_MODES[mode]} via CodeCarbon"
        tdp = f"{hw._tdp} W{' generic' if hw._is_generic_tdp else ''} TDP ({hw._model})"
        if mode == "cpu_load":
            return (
                "cpu",
                "estimated",
                (
                    f"estimated: CodeCarbon cpu_load model, {tdp}, power follows machine-wide "
                    "CPU load (floor 10% of TDP)"
                ),
            )
        return "cpu", "estimated", f"estimated: CodeCarbon {mode} model, {tdp}, constant power"
    if kind == "RAM":
        forced = getattr(hw, "_force_ram_power", None)
        how = "user-given" if forced is not None else "DIMM-count heuristic"
        return (
            "ram",
            "estimated",
            (
                f"estimated: CodeCarbon RAM model, {hw.total_power().W:.1f} W constant "
                f"for {hw.machine_memory_GB:.1f} GB ({how})"
            ),
        )
    if kind == "GPU":
        return "gpu", "measured", "measured: NVML energy counter via CodeCarbon"
    if kind in ("AppleSiliconChip", "Raspberry"):
        part = "gpu" if hw.chip_part == "GPU" else "ram" if hw.chip_part == "RAM" else "cpu"
        sensor = "powermetrics" if kind == "AppleSiliconChip" else "Raspberry Pi PMIC"
        return part, "measured", f"measured: {sensor} via CodeCarbon"
    raise MeterUnavailableError(
        f"CodeCarbon returned unknown hardware {kind}; pin codecarbon to a 3.x release"
    )


class CodeCarbonMeter(Meter):
    """Energy from CodeCarbon's per-component models, without running its tracker."""

    name = "codecarbon"

    def __init__(
        self,
        *,
        include_gpu: bool = True,
        include_ram: bool = True,
        gpu_ids: Sequence[int] | None = None,
        force_cpu_power_w: float | None = None,
        force_ram_power_w: float | None = None,
        country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE,
        carbon_intensity_g_per_kwh: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Let CodeCarbon detect the hardware once (slow only the first time in a process).

        Args:
            include_gpu: Meter GPUs CodeCarbon finds (off when NVML is metered separately).
            include_ram: Add CodeCarbon's RAM power model.
            gpu_ids: GPUs for CodeCarbon to track; all by default.
            force_cpu_power_w: CPU TDP to use instead of CodeCarbon's table lookup.
            force_ram_power_w: RAM power to use instead of CodeCarbon's heuristic.
            country_iso_code: See :class:`Meter`; also given to CodeCarbon.
            carbon_intensity_g_per_kwh: See :class:`Meter`.
            clock: See :class:`Meter`; CodeCarbon's models integrate power over its intervals.

        Raises:
            MeterUnavailableError: CodeCarbon is missing or found no CPU to model.
        """
        super().__init__(
            country_iso_code=country_iso_code,
            carbon_intensity_g_per_kwh=carbon_intensity_g_per_kwh,
            clock=clock,
        )
        try:
            from codecarbon import OfflineEmissionsTracker
        except ImportError as err:
            raise MeterUnavailableError(
                "codecarbon is not installed; pip install codecarbon"
            ) from err
        _quiet_codecarbon()
        tracker = OfflineEmissionsTracker(
            country_iso_code=country_iso_code.upper(),
            save_to_file=False,  # never write emissions.csv into the user's cwd
            log_level="error",
            tracking_mode="machine",
            gpu_ids=list(gpu_ids) if gpu_ids is not None else None,
            force_cpu_power=force_cpu_power_w,
            force_ram_power=force_ram_power_w,
        )
        # Runs CodeCarbon's hardware probe; the tracker itself is never started.
        tracker.get_detected_hardware()
        hardware = list(getattr(tracker, "_hardware", []))  # no public accessor in 3.x
        self._parts: list[tuple[str, Any]] = []
        for hw in hardware:
            component, method, text = _describe(hw)
            if (component == "gpu" and not include_gpu) or (component == "ram" and not include_ram):
                continue
            self._parts.append((component, hw))
            self._details[component] = text
        if not any(c == "cpu" for c, _ in self._parts):
            raise MeterUnavailableError(
                "CodeCarbon found no CPU power source; check `codecarbon detect` or pass "
                "force_cpu_power_w"
            )
        self._methods = {c: self._details[c].split(":")[0] for c, _ in self._parts}
        self.method = (
            "measured" if all(m == "measured" for m in self._methods.values()) else "estimated"
        )
        self._ledger_j = {c: 0.0 for c, _ in self._parts}
        self._ledger_lock = threading.Lock()
        for _, hw in self._parts:
            hw.start()  # baselines: counters, and the CPU-load sample the first interval uses
        self._last_t = self._clock()

    @property
    def component_methods(self) -> dict[str, str]:
        """``"measured"`` or ``"estimated"`` per component, e.g. ``{"cpu": "estimated"}``."""
        return dict(self._methods)

    def _read(self) -> dict[str, float]:
        """Advance the cumulative ledger to now and return a copy (joules per component)."""
        with self._ledger_lock:
            now = self._clock()
            elapsed_s = now - self._last_t
            for component, hw in self._parts:
                _, energy = hw.measure_power_and_energy(last_duration=elapsed_s)
                self._ledger_j[component] += energy.kWh * J_PER_KWH
            self._last_t = now
            return dict(self._ledger_j)

    def _components_j(
        self, start: dict[str, float], end: dict[str, float], duration_s: float
    ) -> dict[str, float]:
        return {c: end[c] - start[c] for c in end}

    def model_idle_power_w(self) -> dict[str, float]:
        """Each estimated component's power in CodeCarbon's model at 0 % load (watts)."""
        out: dict[str, float] = {}
        try:
            for component, hw in self._parts:
                if self._methods[component] != "estimated":
                    continue
                if component == "cpu" and hw._mode == "cpu_load":
                    clone = copy.copy(hw)
                    clone._cpu_load_meter = _ZeroLoad()
                    out[component] = clone._get_power_from_cpus().W
                elif component == "cpu":
                    out[component] = hw._get_power_from_cpus().W
                else:
                    out[component] = hw.total_power().W
        except AttributeError as err:
            raise MeasurementError(
                f"this CodeCarbon version hides its power model ({err}); set the idle baseline "
                "with meter.set_idle_power(watts)"
            ) from err
        return out

    def _sample_idle_power_w(self, seconds: float) -> tuple[float, str]:
        """Model idle for estimated components; a sleeping window for measured ones."""
        model = self.model_idle_power_w()
        measured = [c for c, m in self._methods.items() if m == "measured"]
        sampled = 0.0
        if measured:
            start_t, start = self._clock(), self._read()
            time.sleep(seconds)
            end_t, end = self._clock(), self._read()
            sampled = sum(end[c] - start[c] for c in measured) / (end_t - start_t)
        parts = [f"{c} {w:.2f} W model idle estimate (0% load)" for c, w in model.items()]
        parts += [f"{c} sampled idle for {seconds:g} s" for c in measured]
        return sum(model.values()) + sampled, "; ".join(parts)
