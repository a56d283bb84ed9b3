"""The paired-round energy estimator recovers a known ratio under drift."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from greensearch.stats import energy_delta, round_order


def _rounds(ratio: float, drift: float, n: int, order, noise=None):
    """Energies of n rounds run in ``order``; slot k of the session scales by exp(drift k)."""
    base, cand, slot = [], [], 0
    for r in range(n):
        for key in order(["", "c"], r):
            e = (ratio if key else 1.0) * np.exp(drift * slot)
            if noise is not None:
                e *= np.exp(noise[r, int(bool(key))])
            (cand if key else base).append(e)
            slot += 1
    return base, cand


def test_alternating_order_cancels_a_linear_drift_and_a_fixed_order_does_not():
    base, cand = _rounds(0.7, 0.05, 4, round_order)
    assert energy_delta(base, cand).delta_pct == pytest.approx(-30.0, abs=1e-9)
    fixed = _rounds(0.7, 0.05, 4, lambda keys, r: keys)
    # Baseline first every round: the candidate always runs one slot later, 5 % drift.
    assert energy_delta(*fixed).delta_pct == pytest.approx(100 * (0.7 * np.exp(0.05) - 1))


def test_point_and_interval_come_from_one_estimator():
    d = energy_delta([1.0, 2.0, 4.0], [0.5, 1.0, 4.0])
    logs = np.log([0.5, 0.5, 1.0])
    half = stats.t.ppf(0.975, 2) * logs.std(ddof=1) / np.sqrt(3)
    assert d.delta_pct == pytest.approx(100 * (np.exp(logs.mean()) - 1))
    assert d.ci95_pct == pytest.approx(
        (100 * (np.exp(logs.mean() - half) - 1), 100 * (np.exp(logs.mean() + half) - 1))
    )
    assert energy_delta([1.0], [0.5]).ci95_pct is None


def test_the_interval_covers_the_true_ratio_95_percent_of_the_time():
    rng = np.random.default_rng(9)
    replicates, covered = 2000, 0
    for _ in range(replicates):
        base, cand = _rounds(0.8, 0.01, 3, round_order, noise=0.05 * rng.standard_normal((3, 2)))
        low, high = energy_delta(base, cand).ci95_pct
        covered += low <= -20.0 <= high
    # Monte-Carlo SE 0.5 points; the odd round's uncancelled drift widens a little.
    assert 0.935 <= covered / replicates <= 0.975


def test_unpaired_or_empty_rounds_are_refused():
    with pytest.raises(ValueError, match="equal, non-empty"):
        energy_delta([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="positive"):
        energy_delta([1.0], [0.0])
