"""Model-phase knobs."""

from __future__ import annotations

from greensearch.knobs._registry import Knob

__all__ = ["KNOBS"]

KNOBS: tuple[Knob, ...] = ()
