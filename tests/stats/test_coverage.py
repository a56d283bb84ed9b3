"""The intervals keep their promise, by simulation with a known truth.

Identical arms, budget 0, confidence 0.95: a "feasible" verdict is false, and should
come at most 5 % of the time; the two-sided 95 % interval should cover the true ΔF1 of
0 at least 94 % of the time. Seed SD from 0.5x to 4x the example-level SE, for the
finals' 3 vs 3 (paired by round) and the search's 1 vs 3. 300 replicates give a
Monte-Carlo SE of about 1.3 points at 5 %, so the limits below allow two of them.
"""

from __future__ import annotations

import numpy as np
import pytest

from greensearch.stats import NoiseModel, delta_f1, simulate_arms

REPLICATES = 300
RESAMPLES = 400
MC = 2 * np.sqrt(0.05 * 0.95 / REPLICATES)


@pytest.mark.parametrize("design", [(3, 3), (3, 1)], ids=["3v3", "1v3"])
@pytest.mark.parametrize("seed_sd_x", [0.5, 1.0, 2.0, 4.0])
def test_false_feasible_rate_and_coverage_hold_at_95(design, seed_sd_x):
    model = NoiseModel(seed_sd=seed_sd_x * NoiseModel().example_se)
    rng = np.random.default_rng(20)
    false_feasible = covered = 0
    for i in range(REPLICATES):
        base, cand = simulate_arms(rng, model, runs=design, shifts=(0.0, 0.0))
        d = delta_f1(base, cand, budget_pct=0.0, n_resamples=RESAMPLES, seed=i)
        false_feasible += d.lower_pct >= 0.0
        covered += d.ci95_pct[0] <= 0.0 <= d.ci95_pct[1]
    assert false_feasible / REPLICATES <= 0.05 + MC
    assert covered / REPLICATES >= 0.94 - MC


def test_the_finals_pair_by_round_and_the_search_borrows():
    rng = np.random.default_rng(1)
    base, cand = simulate_arms(rng, NoiseModel(seed_sd=0.02), runs=(3, 3), shifts=(0, 0))
    assert delta_f1(base, cand, budget_pct=1.0, n_resamples=100).seed_design == "paired rounds"
    assert delta_f1(base, cand[:1], budget_pct=1.0, n_resamples=100).seed_design == "borrowed"
    shuffled = [cand[1], cand[0], cand[2]]  # seeds no longer line up
    assert delta_f1(base, shuffled, budget_pct=1.0, n_resamples=100).seed_design == "unpaired"


def test_pairing_by_round_narrows_the_interval_when_rounds_share_their_luck():
    # Seed effects correlated 0.9 within a round: the paired difference cancels most of
    # them; treating the same runs as unpaired keeps them all.
    model = NoiseModel(seed_sd=0.04, round_correlation=0.9)
    rng = np.random.default_rng(2)
    widths = {True: [], False: []}
    for i in range(20):
        base, cand = simulate_arms(rng, model, runs=(3, 3), shifts=(0, 0))
        for paired in (True, False):
            d = delta_f1(base, cand, budget_pct=0.0, n_resamples=RESAMPLES, seed=i, paired=paired)
            widths[paired].append(d.ci95_pct[1] - d.ci95_pct[0])
    assert np.median(widths[True]) < 0.6 * np.median(widths[False])


@pytest.mark.parametrize("design", [(3, 3), (3, 1)], ids=["3v3", "1v3"])
@pytest.mark.parametrize("metric", ["entity_f1", "exact_match"])
def test_other_task_metrics_keep_the_false_feasible_rate_at_identical_arms(design, metric):
    # Entity F1 resamples sentences with their entities; exact match is a mean of 0/1.
    model = NoiseModel(seed_sd=NoiseModel().example_se)
    rng = np.random.default_rng(21)
    false_feasible = 0
    for i in range(REPLICATES):
        base, cand = simulate_arms(rng, model, runs=design, shifts=(0.0, 0.0), metric=metric)
        assert base[0].metric == metric
        d = delta_f1(base, cand, budget_pct=0.0, n_resamples=RESAMPLES, seed=i)
        false_feasible += d.lower_pct >= 0.0
    assert false_feasible / REPLICATES <= 0.05 + MC
