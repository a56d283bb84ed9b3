"""Three-valued F1 verdicts: a bound near the budget is not a yes.

Why three values: with F1 noise, a point estimate inside the budget can be a lucky draw
and one outside an unlucky one. ``feasible`` needs the one-sided lower bound inside the
budget, ``infeasible`` the upper bound outside it (or a degenerate model), and anything
between is ``uncertain``: not resolved by this data.
"""

from __future__ import annotations

import enum

from greensearch.stats._bootstrap import DeltaF1

__all__ = ["F1Verdict", "judge"]


class F1Verdict(enum.StrEnum):
    """Whether a candidate keeps F1 within the budget, given the noise."""

    FEASIBLE = "feasible"
    UNCERTAIN = "uncertain"
    INFEASIBLE = "infeasible"


def judge(delta: DeltaF1, *, degenerate: bool = False) -> F1Verdict:
    """The verdict on ``delta`` against its own budget and confidence.

    A degenerate model (one class for nearly every example) is infeasible whatever its
    F1, since its F1 says nothing about the task.
    """
    if degenerate or delta.upper_pct < -delta.budget_pct:
        return F1Verdict.INFEASIBLE
    if delta.lower_pct >= -delta.budget_pct:
        return F1Verdict.FEASIBLE
    return F1Verdict.UNCERTAIN
