"""The built-in knobs, collected from one module per pipeline phase.

Each phase module exports ``KNOBS``: declarations plus small apply functions. Heavy
imports happen inside the hooks, so listing the registry stays cheap.
"""

from __future__ import annotations

from greensearch.knobs import (
    _data_knobs,
    _inference_knobs,
    _model_knobs,
    _system_knobs,
    _training_knobs,
)
from greensearch.knobs._registry import Knob, KnobRegistry

__all__ = ["BUILTIN", "register_builtin_knobs"]

BUILTIN: tuple[Knob, ...] = (
    *_data_knobs.KNOBS,
    *_model_knobs.KNOBS,
    *_training_knobs.KNOBS,
    *_system_knobs.KNOBS,
    *_inference_knobs.KNOBS,
)


def register_builtin_knobs(registry: KnobRegistry) -> KnobRegistry:
    """Add every built-in knob to ``registry``."""
    for knob in BUILTIN:
        registry.register(knob)
    return registry
