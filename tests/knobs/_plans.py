"""Helpers shared by the knob tests."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter

from greensearch.config import StudyConfig
from greensearch.knobs import RunPlan, default_registry


def changed(base: RunPlan, plan: RunPlan) -> set[str]:
    """Plan fields that differ from the baseline (study and training_args per key)."""
    out: set[str] = set()
    for f in dataclasses.fields(RunPlan):
        a, b = getattr(base, f.name), getattr(plan, f.name)
        if f.name == "notes":
            continue
        if f.name == "study":
            da, db = a.to_dict(), b.to_dict()
            out |= {f"study.{k}" for k in da if da[k] != db[k]}
        elif f.name == "training_args":
            out |= {
                f"training_args.{k}" for k in a.keys() | b.keys() if a.get(k, ...) != b.get(k, ...)
            }
        elif isinstance(a, list):
            if len(a) != len(b):
                out.add(f"{f.name}+{len(b) - len(a)}")
        elif a != b:
            out.add(f.name)
    return out


def _added(fields: set[str]) -> Counter[str]:
    """``{"data_hooks+1", "padding"}`` -> ``{"data_hooks": 1}``: list fields by items added."""
    found = (re.fullmatch(r"(.+)\+(\d+)", name) for name in fields)
    return Counter({m[1]: int(m[2]) for m in found if m})


def assert_pair_composes(study: StudyConfig, a: dict[str, str], b: dict[str, str]) -> None:
    """A pair's plan changes what either knob changes alone, and each leaves its note."""
    registry = default_registry()
    base = registry.plan(study, {})
    alone_a, alone_b = registry.plan(study, a), registry.plan(study, b)
    both = registry.plan(study, {**a, **b})
    fields_a, fields_b, fields = (changed(base, p) for p in (alone_a, alone_b, both))
    plain = {f for f in fields_a | fields_b if "+" not in f}
    assert {f for f in fields if "+" not in f} == plain, (a, b)
    assert _added(fields) == _added(fields_a) + _added(fields_b), (a, b)
    prefixes = sorted(note.split(":")[0] for note in both.notes)
    assert prefixes == sorted(n.split(":")[0] for n in alone_a.notes + alone_b.notes), (a, b)
