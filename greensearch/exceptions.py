"""The one exception tree of greensearch.

Every error the library raises on purpose derives from :class:`GreensearchError`, so callers
can catch ours without catching everyone's. The CLI maps :class:`ConfigError` and
:class:`MeterUnavailableError` to exit code 2 (the user can fix it) and the rest to 1.
"""

from __future__ import annotations

__all__ = [
    "GreensearchError",
    "ConfigError",
    "KnobConflictError",
    "KnobUnavailableError",
    "MeterUnavailableError",
    "MeasurementError",
    "MixedMachinesError",
    "StageFailedError",
]


class GreensearchError(Exception):
    """Root of every error greensearch raises on purpose."""


class ConfigError(GreensearchError):
    """A bad study file, flag, knob value or data source: the user can fix it."""


class KnobConflictError(ConfigError):
    """Two requested knobs cannot be on together."""


class KnobUnavailableError(ConfigError):
    """A requested knob needs something this machine lacks (CUDA, a package, root)."""


class MeterUnavailableError(GreensearchError):
    """An energy meter (NVML, RAPL, CodeCarbon) is missing or unreadable."""


class MeasurementError(GreensearchError):
    """An energy window was misused (unknown or duplicate key) or a counter misbehaved."""


class StageFailedError(GreensearchError):
    """A pipeline stage raised; ``stage`` names it and ``__cause__`` holds the original error."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage


class MixedMachinesError(ConfigError):
    """A study's baseline was measured on one machine and this trial on another."""
