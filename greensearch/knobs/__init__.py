"""Knobs: declarative pipeline optimizations, their registry and the bundle grammar."""

from __future__ import annotations

import functools

from greensearch.knobs._bundle import FLAG_ON, Bundle, format_bundle, parse_bundle
from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import (
    RESOURCES,
    Knob,
    KnobRegistry,
    Param,
    Requirement,
    ResolvedKnob,
)

__all__ = [
    "FLAG_ON",
    "RESOURCES",
    "Bundle",
    "Knob",
    "KnobRegistry",
    "Param",
    "Requirement",
    "ResolvedKnob",
    "RunPlan",
    "default_registry",
    "format_bundle",
    "parse_bundle",
]


@functools.cache
def default_registry() -> KnobRegistry:
    """The registry of built-in knobs (built once per process)."""
    from greensearch.knobs._builtin import register_builtin_knobs

    return register_builtin_knobs(KnobRegistry())
