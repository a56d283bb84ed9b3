"""The energy–F1 Pareto front and the oracle rule: one home for the search and the analysis.

Both minimise two costs (energy, F1 loss). A point is on the front when no other point is
at least as good on both and better on one; the oracle is the cheapest point judged
feasible (how feasibility is judged, an interval verdict or a point estimate, is the
caller's: this module only orders).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["cheapest_feasible", "non_dominated"]


def non_dominated(costs: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points on the Pareto front, both costs minimised, cheapest first.

    Points with a NaN cost are never on the front; equal points are all on it (neither
    beats the other).

    Args:
        costs: ``(energy, F1 loss)`` per point.
    """
    usable = [i for i, (a, b) in enumerate(costs) if not (math.isnan(a) or math.isnan(b))]
    order = sorted(usable, key=lambda i: (costs[i][0], costs[i][1], i))
    front: list[int] = []
    best = math.inf
    for i in order:
        loss = costs[i][1]
        if loss < best or (front and costs[front[-1]] == costs[i]):
            front.append(i)
            best = min(best, loss)
    return front


def cheapest_feasible(energies: Sequence[float], feasible: Sequence[bool]) -> int | None:
    """The oracle: index of the lowest-energy feasible point (the first of equals), or ``None``."""
    chosen = [i for i, ok in enumerate(feasible) if ok and not math.isnan(energies[i])]
    return min(chosen, key=lambda i: (energies[i], i)) if chosen else None
