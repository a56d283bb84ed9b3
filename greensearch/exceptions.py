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
    "PreflightError",
    "ResultsNotSavedError",
    "StageFailedError",
]


class GreensearchError(Exception):
    """Root of every error greensearch raises on purpose."""


class ConfigError(GreensearchError):
    """A bad study file, flag, knob value or data source: the user can fix it."""


class PreflightError(ConfigError):
    """Several problems found before any work started; ``problems`` holds one line each.

    The preflight reports every problem at once, so a user fixes their input in one round
    instead of paying a start-up per mistake.
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__(
            self.problems[0]
            if len(self.problems) == 1
            else f"{len(self.problems)} problems: " + "; ".join(self.problems)
        )


class KnobConflictError(ConfigError):
    """Two requested knobs cannot be on together."""


class KnobUnavailableError(ConfigError):
    """A requested knob needs something this machine lacks (CUDA, a package, root)."""


class MeterUnavailableError(GreensearchError):
    """An energy meter (NVML, RAPL, CodeCarbon) is missing or unreadable."""


class MeasurementError(GreensearchError):
    """An energy window was misused (unknown or duplicate key) or a counter misbehaved."""


class ResultsNotSavedError(GreensearchError):
    """A measured record could not be written where asked; the message says where it went."""


class StageFailedError(GreensearchError):
    """A pipeline stage raised; ``stage`` names it and ``__cause__`` holds the original error."""

    def __init__(self, stage: str, message: str) -> None:
        super().__init__(f"stage '{stage}' failed: {message}")
        self.stage = stage


class MixedMachinesError(ConfigError):
    """A study's baseline was measured on one machine and this trial on another."""
