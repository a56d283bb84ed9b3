"""A meter stand-in for runs that must not be measured (warm-up runs)."""

from __future__ import annotations

import time

from greensearch.energy._base import Measurement

__all__ = ["UnmeteredMeter"]


class UnmeteredMeter:
    """Keeps each window's wall time and claims no energy (``meter`` ``"none"``).

    A warm-up run pays a process's one-off costs; its readings must never be stored,
    so this meter cannot produce a measured figure by mistake.
    """

    name = "none"
    method = "estimated"

    def __init__(self) -> None:
        self._open: dict[str, float] = {}

    def begin(self, key: str) -> None:
        """Start the clock of window ``key``."""
        self._open[key] = time.perf_counter()

    def end(self, key: str) -> Measurement:
        """Close window ``key``: its wall time, zero energy."""
        duration = time.perf_counter() - self._open.pop(key)
        return Measurement(key, duration, 0.0, 0.0, {}, 0.0, "none", "estimated")

    def close(self) -> None:
        """Nothing to release."""
