"""Drift anchors: search trials compared with a baseline measured near them in time.

Why: a machine's speed (and so a run's energy) drifts, over minutes and over hours, by
more than many knobs save. A trial's energy taken against the baseline measured at the
start of the search carries all the drift since, so one run in a slow minute can rule a
neutral knob out. Every ``anchor_every``-th measured search trial first runs the
baseline once more at the search fidelity (an *anchor*); each trial's energy is then
scaled by ``baseline / latest anchor`` (the baseline's own runs are the first anchor), so
its ratio is taken against a baseline a few runs away. The correction is causal: an
Optuna value is fixed when its trial completes, so only anchors already measured count.
"""

from __future__ import annotations

from collections.abc import Sequence

from greensearch.record import TrialRecord

__all__ = ["anchor_due", "drift_factor"]


def _measured(before: Sequence[TrialRecord]) -> list[TrialRecord]:
    """Search runs that measured something themselves, in the order they ran."""
    return sorted(
        (r for r in before if r.reused_from is None and r.in_search and r.energy_kwh_spent),
        key=lambda r: r.number,
    )


def anchor_due(before: Sequence[TrialRecord], every: int) -> bool:
    """Whether the next measured search trial runs an anchor first.

    Args:
        before: the completed trials at the search fidelity before this one.
        every: one anchor per this many measured trials (0: never).
    """
    if every < 1:
        return False
    since = 0
    for r in reversed(_measured(before)):
        if r.is_baseline or r.anchor_energy_kwh is not None:
            return since >= every - 1
        since += 1
    return False  # no baseline yet: nothing to anchor to


def drift_factor(before: Sequence[TrialRecord], base_kwh: float, own: float | None) -> float:
    """``baseline / latest anchor``: what scales a trial's energy to the baseline's time.

    Args:
        before: the completed trials at the search fidelity before this one.
        base_kwh: the baseline's (extrapolated) energy, the mean of its runs.
        own: this trial's own anchor, just measured (``None``: it ran none).
    """
    latest = own
    if latest is None:
        for r in reversed(_measured(before)):
            if r.is_baseline:
                break
            if r.anchor_energy_kwh is not None:
                latest = r.anchor_energy_kwh
                break
    if latest is None or latest <= 0 or base_kwh <= 0:
        return 1.0
    return base_kwh / latest
