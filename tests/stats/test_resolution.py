"""Resolution and power per design, against simulated comparisons of that design."""

from __future__ import annotations

import numpy as np
import pytest

from greensearch.stats import NoiseModel, delta_f1, f1_power, f1_resolution, simulate_arms

MODEL = NoiseModel(seed_sd=0.02)


@pytest.mark.parametrize(("design", "runs"), [("n_vs_n", (3, 3)), ("one_vs_n", (3, 1))])
def test_resolution_and_power_match_what_comparisons_of_the_design_resolve(design, runs):
    # Over many studies of a lossless candidate: the resolution is the typical distance of
    # the verdict's lower bound below 0 (half the studies confirm a budget that size), and
    # a budget the size of the power is confirmed in about 80 % of them.
    rng = np.random.default_rng(11)
    resolutions, powers, losses = [], [], []
    for i in range(120):
        base, cand = simulate_arms(rng, MODEL, runs=runs, shifts=(0, 0))
        resolutions.append(f1_resolution(base, design=design, n_resamples=400, seed=i))
        powers.append(f1_power(base, design=design, n_resamples=400, seed=i))
        losses.append(-delta_f1(base, cand, budget_pct=0, n_resamples=400, seed=i).lower_pct)
    resolution, power, losses = np.median(resolutions), np.median(powers), np.array(losses)
    assert 0.8 < resolution / np.median(losses) < 1.25
    assert 0.35 <= np.mean(losses <= resolution) <= 0.65
    assert 0.65 <= np.mean(losses <= power) <= 0.92


def test_one_run_against_n_resolves_less_than_n_rounds_each():
    rng = np.random.default_rng(12)
    base, _ = simulate_arms(rng, MODEL, runs=(3, 1), shifts=(0, 0))
    finals = f1_resolution(base, design="n_vs_n", n_resamples=2000)
    search = f1_resolution(base, design="one_vs_n", n_resamples=2000)
    assert finals is not None and search is not None
    # Seed part sqrt(1 + 1/3) against sqrt(2/3) of one run's spread: sqrt(2) wider.
    assert 1.2 * finals < search < 1.6 * finals


def test_resolution_needs_two_runs_and_refuses_an_unknown_design():
    rng = np.random.default_rng(13)
    base, _ = simulate_arms(rng, MODEL, runs=(2, 1), shifts=(0, 0))
    assert f1_resolution(base[:1]) is None and f1_power(base[:1]) is None
    with pytest.raises(ValueError, match="unknown design"):
        f1_resolution(base, design="2_vs_1")  # type: ignore[arg-type]
