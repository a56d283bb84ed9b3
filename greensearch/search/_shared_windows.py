"""Shared windows: a window whose work two search trials share is estimated from both.

Why: one short run of identical work spreads about 11 % on a 2-core VM whose speed moves
within seconds, and a search trial is one such run, compared with the baseline's. Most
knobs leave some windows' work exactly as the baseline does it: a training knob
(optimizer, schedule, batch size) tokenizes, validates and predicts the test split as
the baseline does, ``quantization=int8`` trains as it does, ``fast_tokenizer`` changes
the tokenize window only. Each knob declares the windows its work changes
(``Knob.windows``); every other window of a trial is estimated from all search runs at
its fidelity that did the same work there, the trial's own included (a window's *work
key* is the part of the bundle that changes it). On 12 identical runs of the default
task that took a run's spread from 11.4 % to 6.7 % (``benchmarks/drift_probe.py``;
figures in ``benchmarks/README.md``), and two trials that share a window now differ by
nothing there, so their ratio is decided by the windows they really change.

The estimate is causal, like the anchors (``_anchors``): an Optuna value is fixed when
its trial completes, so only runs measured before it count. Finals are never shared:
they are paired by round. Runs answered from an earlier measurement (reused) are not
counted twice. A runner whose windows are not measured (a replay, whose windows are a
model of the total) is left as it is (:func:`measures_windows`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from greensearch.knobs import Bundle, KnobRegistry, parse_bundle
from greensearch.record import TrialRecord

__all__ = ["measures_windows", "shared_estimate", "window_kwh", "work_key"]


def measures_windows(run_fn: Any) -> bool:
    """Whether a trial runner meters real windows (``None``: the staged pipeline does)."""
    return run_fn is None or bool(getattr(run_fn, "measures_windows", False))


def work_key(registry: KnobRegistry, bundle: Bundle, window: str) -> str:
    """The part of ``bundle`` that changes ``window``'s work, as canonical text."""
    part = {}
    for name, raw in bundle.items():
        changed = registry.get(name).changed_windows(str(raw))
        if changed is None or window in changed:
            part[name] = raw
    return registry.canonical(part) if part else ""


def window_kwh(attrs: Mapping[str, Any]) -> dict[str, float]:
    """A trial's mean energy per window at full-run scale (its own runs only).

    The stored stage means scaled as the trial's total was (``window_scales``), so the
    windows add up to its own extrapolated energy; ``{}`` for a trial stored without its
    scales (an older version's), whose short windows cannot be put at full-run scale.
    """
    scales = attrs.get("window_scales")
    if scales is None:
        return {}
    return {
        name: float(stage["energy_kwh"]) * float(scales.get(name, {}).get("energy_kwh", 1.0))
        for name, stage in (attrs.get("stages") or {}).items()
    }


def shared_estimate(
    registry: KnobRegistry,
    bundle: Bundle,
    attrs: Mapping[str, Any],
    earlier: Sequence[TrialRecord],
) -> dict[str, Any]:
    """A search trial's energy with each window it shares estimated from every run of it.

    Args:
        registry: knob declarations (which windows each value changes).
        bundle: the trial's knob values.
        attrs: the trial's own measured figures (``trial_attrs``).
        earlier: completed trials at the same fidelity, measured before this one.

    Returns:
        ``energy_kwh`` (the shared estimate), ``energy_kwh_own`` (its own runs') and
        ``shared_windows`` (each shared window's run count), or ``{}`` where no window
        had another run of the same work.
    """
    own = window_kwh(attrs)
    n_own = int(attrs.get("repeats") or 1)
    others = [
        (parse_bundle(r.knobs), window_kwh(r.attrs), int(r.repeats or 1))
        for r in earlier
        if r.in_search and r.reused_from is None and r.knobs is not None and r.energy_kwh_spent
    ]
    total, shared = 0.0, {}
    for window, kwh in own.items():
        key = work_key(registry, bundle, window)
        weighted, runs = kwh * n_own, n_own
        for other, windows, n in others:
            if window in windows and work_key(registry, other, window) == key:
                weighted += windows[window] * n
                runs += n
        total += weighted / runs
        if runs > n_own:
            shared[window] = runs
    if not shared:
        return {}
    return {
        "energy_kwh": total,
        "energy_kwh_own": float(attrs["energy_kwh"]),
        "shared_windows": shared,
    }
