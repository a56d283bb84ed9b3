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

A window a short run *skipped* is the limit case: no run of its own, so it comes from the
runs that did the same work (:func:`fill_skipped`). A short search run skips its
validation passes (3.7 s of a 24 s short run on the default task, and nothing in the
search reads them): a training knob's validation is the baseline's work, measured by its
runs; a knob that changes it (precision, pruning, seq_len) has no run of the same work at
first, and its window is scaled from the trial's own eval window, a forward pass over the
test share, by the ratio of the two windows in the runs of the baseline's work (stated in
the record as a model; the finals measure every window).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from greensearch.knobs import Bundle, KnobRegistry, parse_bundle
from greensearch.record import TrialRecord

__all__ = [
    "fill_skipped",
    "fillable",
    "measures_windows",
    "shared_estimate",
    "window_kwh",
    "work_key",
]

#: The window of a trial's own that stands in for a skipped one with no run of the same
#: work: validation and the eval stage are both forward passes over held-out examples.
PROXY_WINDOWS = {"validate": "eval"}


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
    """A trial's mean energy per window at full-run scale (its own figures: its runs', and
    the estimate of a window they skipped).

    The stored stage means scaled as the trial's total was (``window_scales``), so the
    windows add up to its own extrapolated energy; ``{}`` for a trial stored without its
    scales (an older version's), whose short windows cannot be put at full-run scale.
    """
    figures = {name: _scaled(attrs, name) for name in attrs.get("stages") or {}}
    return {name: f[0] for name, f in figures.items() if f is not None}


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
        ``energy_kwh`` (the shared estimate), ``energy_kwh_own`` (its own figures') and
        ``shared_windows`` (each shared window's run count), or ``{}`` where no window
        had another run of the same work.
    """
    own = window_kwh(attrs)
    n_own = int(attrs.get("repeats") or 1)
    others = _measured(earlier)
    total, shared = 0.0, {}
    for window, kwh in own.items():
        if window in _estimated(attrs):  # filled from the others already (fill_skipped)
            total += kwh
            continue
        key = work_key(registry, bundle, window)
        weighted, runs = kwh * n_own, n_own
        for other, figures, n in others:
            theirs = _window_figures(figures, window)
            if theirs is not None and work_key(registry, other, window) == key:
                weighted += theirs[0] * n
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


def fill_skipped(
    registry: KnobRegistry,
    bundle: Bundle,
    attrs: Mapping[str, Any],
    earlier: Sequence[TrialRecord],
) -> dict[str, Any]:
    """A trial's figures with each window its runs skipped estimated at full-run scale.

    A skipped window takes the mean of the earlier runs that measured the same work
    there; with none, the trial's own proxy window (:data:`PROXY_WINDOWS`) scaled by the
    ratio of the two windows over the runs that did the baseline's work in both. Energy
    and time are estimated alike, added to the trial's total, to each run's, and to its
    stages (marked ``estimated`` with how). A window no rule can estimate stays out (the
    search skips only what :func:`fillable` says it can fill).

    Args:
        registry: knob declarations (which windows each value changes).
        bundle: the trial's knob values.
        attrs: the trial's own figures (``trial_attrs``), ``skipped_windows`` among them.
        earlier: completed trials at the same fidelity, measured before this one.

    Returns:
        The updated ``energy_kwh``, ``duration_s``, ``energy_kwh_runs`` and ``stages``, or
        ``{}`` where the runs skipped nothing (or nothing could be estimated).
    """
    skipped = [w for w in attrs.get("skipped_windows") or [] if w not in attrs["stages"]]
    others = _measured(earlier)
    stages = {name: dict(stage) for name, stage in attrs["stages"].items()}
    energy, duration = 0.0, 0.0
    for window in skipped:
        figures = _same_work(registry, bundle, window, others) or _by_proxy(
            registry, bundle, window, attrs, others
        )
        if figures is None:
            continue
        stages[window] = figures
        energy += figures["energy_kwh"]
        duration += figures["duration_s"]
    if stages == attrs["stages"]:
        return {}
    return {
        "energy_kwh": float(attrs["energy_kwh"]) + energy,
        "duration_s": float(attrs["duration_s"]) + duration,
        "energy_kwh_runs": [float(e) + energy for e in attrs.get("energy_kwh_runs") or []],
        "stages": stages,
    }


Measured = tuple[Bundle, Mapping[str, Any], int]


def _measured(earlier: Sequence[TrialRecord]) -> list[Measured]:
    """The earlier trials' bundles, figures and run counts that windows may come from."""
    return [
        (parse_bundle(r.knobs), r.attrs, int(r.repeats or 1))
        for r in earlier
        if r.in_search and r.reused_from is None and r.knobs is not None and r.energy_kwh_spent
    ]


def _estimated(attrs: Mapping[str, Any]) -> set[str]:
    """The windows of a trial that were estimated, not measured by its runs."""
    return {n for n, s in (attrs.get("stages") or {}).items() if s.get("estimated")}


def _scaled(attrs: Mapping[str, Any], window: str) -> tuple[float, float] | None:
    """A window's mean energy (kWh) and time (s) at full-run scale, or ``None`` where the
    trial lacks it or was stored without its scales (an older version's)."""
    stage = (attrs.get("stages") or {}).get(window)
    scales = attrs.get("window_scales")
    if stage is None or scales is None:
        return None
    scale = scales.get(window, {})
    return (
        float(stage["energy_kwh"]) * float(scale.get("energy_kwh", 1.0)),
        float(stage.get("duration_s", 0.0)) * float(scale.get("duration_s", 1.0)),
    )


def _window_figures(attrs: Mapping[str, Any], window: str) -> tuple[float, float] | None:
    """A *measured* window at full-run scale (:func:`_scaled`); ``None`` for an estimate."""
    if ((attrs.get("stages") or {}).get(window) or {}).get("estimated"):
        return None
    return _scaled(attrs, window)


def _mean_of(
    registry: KnobRegistry, window: str, key: str, others: Sequence[Measured]
) -> tuple[float, float, int] | None:
    """Run-weighted mean energy and time of ``window`` over the others doing work ``key``."""
    e = t = 0.0
    runs = 0
    for other, attrs, n in others:
        figures = _window_figures(attrs, window)
        if figures is not None and work_key(registry, other, window) == key:
            e, t, runs = e + figures[0] * n, t + figures[1] * n, runs + n
    return (e / runs, t / runs, runs) if runs else None


def _same_work(
    registry: KnobRegistry, bundle: Bundle, window: str, others: Sequence[Measured]
) -> dict[str, Any] | None:
    """The skipped window from the runs that did the same work there."""
    mean = _mean_of(registry, window, work_key(registry, bundle, window), others)
    if mean is None:
        return None
    return {
        "energy_kwh": mean[0],
        "duration_s": mean[1],
        "estimated": f"skipped: the mean of {mean[2]} earlier run(s) of the same work",
    }


def fillable(
    registry: KnobRegistry, bundle: Bundle, window: str, baseline: Mapping[str, Any]
) -> bool:
    """Whether a run of ``bundle`` may skip ``window``: :func:`fill_skipped` will fill it.

    The baseline (its figures at the run's fidelity) measured the window, and either the
    bundle leaves its work as the baseline does it (their mean) or its own proxy window
    does the same work as the skipped one would (the ratio rule: a pruned model's eval
    stands in for its validation; an int8 or ONNX eval engine's does not).
    """
    if _window_figures(baseline, window) is None:
        return False
    key = work_key(registry, bundle, window)
    if not key:
        return True
    proxy = PROXY_WINDOWS.get(window)
    return (
        proxy is not None
        and _window_figures(baseline, proxy) is not None
        and work_key(registry, bundle, proxy) == key
    )


def _by_proxy(
    registry: KnobRegistry,
    bundle: Bundle,
    window: str,
    attrs: Mapping[str, Any],
    others: Sequence[Measured],
) -> dict[str, Any] | None:
    """The skipped window as the trial's own proxy window x the baseline work's ratio."""
    proxy = PROXY_WINDOWS.get(window)
    own = None if proxy is None else _window_figures(attrs, proxy)
    if proxy is None or own is None:
        return None
    if work_key(registry, bundle, proxy) != work_key(registry, bundle, window):
        return None  # its eval runs other work (an engine): no stand-in for validation
    sums = [0.0, 0.0, 0.0, 0.0]  # skipped energy, time; proxy energy, time
    runs = 0
    for other, figures, n in others:
        pair = _window_figures(figures, window), _window_figures(figures, proxy)
        if pair[0] is None or pair[1] is None:
            continue
        if work_key(registry, other, window) or work_key(registry, other, proxy):
            continue  # only the baseline's work in both windows
        for i, value in enumerate((*pair[0], *pair[1])):
            sums[i] += value * n
        runs += n
    if not runs or sums[2] <= 0 or sums[3] <= 0:
        return None
    return {
        "energy_kwh": own[0] * sums[0] / sums[2],
        "duration_s": own[1] * sums[1] / sums[3],
        "estimated": (
            f"skipped: its own {proxy} window x {window}/{proxy} of {runs} earlier "
            "run(s) of the baseline's work (a model)"
        ),
    }
