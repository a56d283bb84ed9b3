"""Helpers shared by the knob tests."""

from __future__ import annotations

import dataclasses

from greensearch.knobs import RunPlan


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
