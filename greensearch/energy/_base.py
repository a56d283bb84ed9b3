"""The meter contract: ``Measurement`` records and the ``Meter`` base class.

Every meter reads a cumulative snapshot at both edges of a window and turns the two
snapshots into per-component joules. Bookkeeping (keys, timing, idle baseline, CO2) lives
here once, so the hardware meters only say how to read and how to subtract.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE, carbon_intensity_kg_per_kwh
from greensearch.exceptions import MeasurementError

__all__ = ["Measurement", "Meter", "Method", "Window", "ZeroEnergyWarning", "measure_idle_power"]

Method = Literal["measured", "estimated"]

J_PER_KWH = 3.6e6


class ZeroEnergyWarning(UserWarning):
    """A hardware counter did not move during a window (window shorter than its update period)."""


@dataclass(frozen=True, slots=True)
class Measurement:
    """Energy of one named window, gross and net of the idle baseline.

    Attributes:
        key: Window name, e.g. ``"train"``.
        duration_s: Wall time of the window.
        energy_j: Gross energy of the window, summed over every metered device.
        idle_energy_j: Idle power (from :func:`measure_idle_power`) times ``duration_s``;
            0.0 when no idle baseline was measured.
        components_j: Gross energy per device, e.g. ``{"gpu:0": ..., "cpu:0": ..., "ram": ...}``.
        co2_kg: Emissions for ``energy_j`` at the meter's grid carbon intensity (CodeCarbon's
            offline data for ``country_iso_code``; see ``details["carbon"]``).
        meter: Which meter produced it: ``"nvml"``, ``"rapl"``, ``"codecarbon"``, ``"nvml+rapl"``...
        method: ``"measured"`` only if every component came from a hardware energy counter.
        details: Free-form provenance: per-component method, the power model CodeCarbon
            chose, how the idle baseline was obtained, the carbon intensity used.
    """

    key: str
    duration_s: float
    energy_j: float
    idle_energy_j: float
    components_j: dict[str, float]
    co2_kg: float
    meter: str
    method: Method
    details: dict[str, str] = field(default_factory=dict)

    @property
    def energy_kwh(self) -> float:
        """Gross energy in kWh."""
        return self.energy_j / J_PER_KWH

    @property
    def net_energy_j(self) -> float:
        """Energy above the idle baseline, never negative."""
        return max(self.energy_j - self.idle_energy_j, 0.0)

    @property
    def net_energy_kwh(self) -> float:
        """Net energy in kWh."""
        return self.net_energy_j / J_PER_KWH

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (dataclass fields only), for JSON Lines records."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Measurement:
        """Rebuild a record written by :meth:`to_dict`; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(slots=True)
class Window:
    """Handle yielded by :meth:`Meter.window`; ``measurement`` is set when the block exits."""

    key: str
    measurement: Measurement | None = None


class Meter(abc.ABC):
    """Measures named, possibly nested or overlapping, energy windows.

    Subclasses implement :meth:`_read` (a cumulative snapshot) and :meth:`_components_j`
    (joules per component between two snapshots). Windows are independent: each keeps
    its own start snapshot, so ``"pipeline"`` can enclose ``"train"``.
    """

    name: str = "meter"
    method: Method = "estimated"

    def __init__(
        self,
        *,
        country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE,
        carbon_intensity_g_per_kwh: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Set up window bookkeeping and the carbon intensity used for ``co2_kg``.

        Args:
            country_iso_code: 3-letter ISO code looked up in CodeCarbon's offline energy mix.
            carbon_intensity_g_per_kwh: Overrides the lookup (gCO2eq/kWh).
            clock: Seconds for window durations; a test passes a scripted clock so a
                duration is exact instead of a sleep's.
        """
        self._clock = clock
        if carbon_intensity_g_per_kwh is not None:
            self._kg_co2_per_kwh = carbon_intensity_g_per_kwh / 1000.0
            carbon = f"{carbon_intensity_g_per_kwh:.1f} gCO2eq/kWh (user-given)"
        else:
            self._kg_co2_per_kwh = carbon_intensity_kg_per_kwh(country_iso_code)
            carbon = (
                f"{self._kg_co2_per_kwh * 1000:.1f} gCO2eq/kWh "
                f"(CodeCarbon offline energy mix, {country_iso_code.upper()})"
            )
        self._open: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._idle_power_w: float | None = None
        self._details: dict[str, str] = {"carbon": carbon}

    # -- subclass hooks ------------------------------------------------------------------
    @abc.abstractmethod
    def _read(self) -> Any:
        """Return a cumulative snapshot of every counter this meter covers."""

    @abc.abstractmethod
    def _components_j(self, start: Any, end: Any, duration_s: float) -> dict[str, float]:
        """Return joules per component between two snapshots."""

    def _sync(self) -> None:
        """Wait for queued device work before reading (CUDA sync for GPU meters).

        A no-op by default: CPU counters see work as it happens, so only GPU meters override it.
        """
        return None

    def _sample_idle_power_w(self, seconds: float) -> tuple[float, str]:
        """Return (idle watts, how it was obtained); default: meter a sleeping window."""
        key = f"__idle_{id(self)}"
        self.begin(key)
        time.sleep(seconds)
        start_t, start = self._pop(key)
        self._sync()
        end_t = self._clock()
        comps = self._components_j(start, self._read(), end_t - start_t)
        watts = sum(comps.values()) / max(end_t - start_t, 1e-9)
        return watts, f"sampled while idle for {seconds:g} s"

    # -- public API ----------------------------------------------------------------------
    @property
    def idle_power_w(self) -> float | None:
        """Idle baseline set by :func:`measure_idle_power` (None if not measured)."""
        return self._idle_power_w

    @property
    def details(self) -> dict[str, str]:
        """Provenance copied into every Measurement (models, per-component methods)."""
        return dict(self._details)

    def set_idle_power(self, watts: float, *, how: str = "user-given") -> None:
        """Set the idle baseline used for ``idle_energy_j`` (watts, all metered devices)."""
        if watts < 0:
            raise MeasurementError(f"idle power must be >= 0 W, got {watts}; pass a measured value")
        self._idle_power_w = float(watts)
        self._details["idle"] = f"{watts:.3f} W, {how}"

    def begin(self, key: str) -> None:
        """Open window ``key``.

        Raises:
            MeasurementError: ``key`` is already open.
        """
        with self._lock:
            if key in self._open:
                raise MeasurementError(
                    f"energy window '{key}' is already open; end it first or use another key"
                )
            self._open[key] = (self._clock(), None)  # reserve the key
        try:
            self._sync()
            snapshot = self._read()
        except BaseException:
            with self._lock:
                self._open.pop(key, None)
            raise
        self._open[key] = (self._clock(), snapshot)

    def end(self, key: str) -> Measurement:
        """Close window ``key`` and return its Measurement.

        Raises:
            MeasurementError: ``key`` was never opened (or already ended), or a counter
                misbehaved.
        """
        self._sync()
        end_t = self._clock()
        end = self._read()
        start_t, start = self._pop(key)
        duration_s = end_t - start_t
        return self._finish(key, duration_s, self._components_j(start, end, duration_s))

    def _pop(self, key: str) -> tuple[float, Any]:
        with self._lock:
            if key not in self._open:
                opened = ", ".join(sorted(self._open)) or "none"
                raise MeasurementError(
                    f"energy window '{key}' is not open (open: {opened}); call begin('{key}') first"
                )
            return self._open.pop(key)

    def _finish(self, key: str, duration_s: float, components_j: dict[str, float]) -> Measurement:
        energy_j = float(sum(components_j.values()))
        idle_w = self._idle_power_w or 0.0
        return Measurement(
            key=key,
            duration_s=duration_s,
            energy_j=energy_j,
            idle_energy_j=idle_w * duration_s,
            components_j=components_j,
            co2_kg=energy_j / J_PER_KWH * self._kg_co2_per_kwh,
            meter=self.name,
            method=self.method,
            details=self.details,
        )

    @contextlib.contextmanager
    def window(self, key: str) -> Iterator[Window]:
        """Meter a ``with`` block; the block's Window gets the Measurement on exit.

        The window is closed even when the block raises, so the key can be reused.
        """
        handle = Window(key)
        self.begin(key)
        try:
            yield handle
        finally:
            handle.measurement = self.end(key)

    def close(self) -> None:
        """Release the meter's resources; open windows are dropped."""
        with self._lock:
            self._open.clear()

    def __enter__(self) -> Meter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, method={self.method!r})"


def warn_if_zero(
    meter: str, components_j: Mapping[str, float], duration_s: float, update_period: str
) -> None:
    """Warn (never divide) when counters did not move during a window."""
    if components_j and all(v == 0 for v in components_j.values()):
        warnings.warn(
            f"{meter} energy counters did not move in a {duration_s:.4f} s window; reporting 0 J. "
            f"Meter longer windows ({meter} updates about every {update_period})",
            ZeroEnergyWarning,
            stacklevel=4,  # the caller of Meter.end
        )


def measure_idle_power(meter: Meter, seconds: float = 2.0) -> float:
    """Measure idle power and make it ``meter``'s baseline for ``idle_energy_j``.

    Counter-based meters (NVML, RAPL) sample a sleeping window of ``seconds``. Estimating
    meters (CodeCarbon's power models) return the model's own idle figure instead, since
    sampling a model only echoes the machine's current load; ``details["idle"]`` says which.

    Args:
        meter: The meter whose baseline to set.
        seconds: Sampling time for counter-based meters.

    Returns:
        Idle power in watts over every device the meter covers.
    """
    if seconds <= 0:
        raise MeasurementError(f"idle sampling time must be > 0 s, got {seconds}")
    watts, how = meter._sample_idle_power_w(seconds)
    meter.set_idle_power(watts, how=how)
    return watts
