"""Three-valued F1 verdicts: a bound near the budget is not a yes.

Why three values: with F1 noise, a point estimate inside the budget can be a lucky draw
and one outside an unlucky one. ``feasible`` needs the one-sided lower bound inside the
budget, ``infeasible`` the upper bound outside it (or a degenerate model), and anything
between is ``uncertain``: not resolved by this data. A comparison with no seed spread
(one run per arm) or an arm under ``min_seeds`` runs is ``uncertain`` at best: its
interval holds the test-example sampling alone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

from greensearch.stats._bootstrap import DeltaF1

__all__ = ["Decision", "F1Verdict", "decision", "judge"]


class F1Verdict(enum.StrEnum):
    """Whether a candidate keeps F1 within the budget, given the noise."""

    FEASIBLE = "feasible"
    UNCERTAIN = "uncertain"
    INFEASIBLE = "infeasible"


def judge(delta: DeltaF1, *, degenerate: bool = False, min_seeds: int = 1) -> F1Verdict:
    """The verdict on ``delta`` against its own budget and confidence.

    A degenerate model (one class for nearly every example) is infeasible whatever its
    F1, since its F1 says nothing about the task.

    Args:
        delta: The comparison.
        degenerate: Whether the candidate predicts one class for nearly every example.
        min_seeds: Runs each arm needs for a ``feasible`` verdict; the finals pass 2 (a
            search trial's single run borrows its baseline's spread and passes 1).
    """
    if degenerate or delta.upper_pct < -delta.budget_pct:
        return F1Verdict.INFEASIBLE
    seeded = delta.confidence == 0.5 or (  # the point-estimate rule asks for no spread
        min(delta.n_seeds_baseline, delta.n_seeds_candidate) >= min_seeds
        and delta.seed_design != "none"
    )
    if delta.lower_pct >= -delta.budget_pct and seeded:
        return F1Verdict.FEASIBLE
    return F1Verdict.UNCERTAIN


@dataclass(frozen=True, slots=True)
class Decision:
    """What decided a verdict, for showing beside the two-sided interval.

    Attributes:
        verdict: The verdict.
        bound: Which one-sided bound decided it (``upper`` for infeasible, else ``lower``).
        bound_pct: That bound's value, ΔF1 in percent.
        confidence: Its one-sided confidence.
        budget_pct: The budget it was held against (a loss, non-negative).
    """

    verdict: F1Verdict
    bound: Literal["lower", "upper"]
    bound_pct: float
    confidence: float
    budget_pct: float

    def describe(self) -> str:
        """One line, e.g. ``feasible: lower 95% bound -0.8% >= -1.0%``."""
        sign = ">=" if self.bound_pct >= -self.budget_pct else "<"
        return (
            f"{self.verdict.value}: {self.bound} {100 * self.confidence:.3g}% bound "
            f"{self.bound_pct:+.1f}% {sign} {-self.budget_pct:+.1f}%"
        )


def decision(delta: DeltaF1, verdict: F1Verdict) -> Decision:
    """The one-sided bound behind ``verdict`` (the lower one unless it is infeasible)."""
    upper = verdict is F1Verdict.INFEASIBLE
    return Decision(
        verdict=verdict,
        bound="upper" if upper else "lower",
        bound_pct=delta.upper_pct if upper else delta.lower_pct,
        confidence=delta.confidence,
        budget_pct=delta.budget_pct,
    )
