"""ΔEnergy of paired rounds: one estimator for the point and its interval.

Why log ratios: energy is multiplicative (a knob saves a share, drift scales a run), so
each round's ``log(candidate / baseline)`` is the unit; their mean gives the geometric-
mean ratio as the point and a Student t interval on n-1 degrees of freedom around it, so
the point always sits inside its interval. Rounds alternate which arm runs first (see
:func:`round_order`), so a drift that is linear in time adds +d in one round and -d in
the next and cancels from the mean instead of biasing every round the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["EnergyDelta", "energy_delta", "round_order"]


@dataclass(frozen=True, slots=True)
class EnergyDelta:
    """A candidate's energy change against the baseline over paired rounds.

    Attributes:
        delta_pct: Geometric mean of the per-round ratios, as a change in percent.
        ci95_pct: Two-sided 95 % t interval of the same, ``None`` with one round.
        n_rounds: Rounds behind it.
    """

    delta_pct: float
    ci95_pct: tuple[float, float] | None
    n_rounds: int


def energy_delta(
    baseline_kwh: Sequence[float], candidate_kwh: Sequence[float], *, level: float = 0.95
) -> EnergyDelta:
    """ΔEnergy in percent from runs paired by round (index i of both is round i).

    Raises:
        ValueError: no rounds, arms of different lengths, or an energy that is not positive.
    """
    base = np.asarray(baseline_kwh, dtype=float)
    cand = np.asarray(candidate_kwh, dtype=float)
    if base.size == 0 or base.shape != cand.shape:
        raise ValueError(f"paired rounds need equal, non-empty arms: {base.size} vs {cand.size}")
    if np.any(base <= 0) or np.any(cand <= 0):
        raise ValueError("energies of paired rounds must be positive")
    logs = np.log(cand / base)
    mean = float(logs.mean())
    ci = None
    if logs.size >= 2:
        from scipy import stats  # lazily: a script reporting its run needs no scipy

        half = float(stats.t.ppf(0.5 + level / 2, logs.size - 1)) * float(
            np.std(logs, ddof=1) / np.sqrt(logs.size)
        )
        ci = (100.0 * np.expm1(mean - half), 100.0 * np.expm1(mean + half))
    return EnergyDelta(
        delta_pct=float(100.0 * np.expm1(mean)),
        ci95_pct=None if ci is None else (float(ci[0]), float(ci[1])),
        n_rounds=int(logs.size),
    )


def round_order(keys: Sequence[str], round_index: int) -> list[str]:
    """The order of ``keys`` in round ``round_index`` (0-based): as given, then reversed.

    Round 0 runs the first key (the baseline) first, round 1 last, and so on (ABBA), so
    a linear drift over the rounds cancels from every pair's mean log ratio.
    """
    return list(keys) if round_index % 2 == 0 else list(reversed(keys))
