"""The paired bootstrap on constructed predictions, where the answer is known."""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
from sklearn.metrics import f1_score

from greensearch.stats import (
    DeltaF1,
    F1Verdict,
    RunPredictions,
    decision,
    delta_f1,
    f1_interval,
    f1_resolution,
    judge,
)
from greensearch.stats._bootstrap import f1_matrix

LABELS = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]


def runs(classes: list[int], labels: list[int] = LABELS, seed: int = 0) -> RunPredictions:
    return RunPredictions.from_lists(split_id="s", labels=labels, classes=classes, seed=seed)


def test_identical_predictions_give_zero_delta_with_zero_width():
    base = runs(LABELS)
    d = delta_f1([base], [runs(LABELS)], budget_pct=1.0, n_resamples=2_000)
    assert d.mean_pct == 0.0
    assert d.ci95_pct == (0.0, 0.0)
    assert d.lower_pct == d.upper_pct == 0.0
    assert d.p_within_budget == 1.0
    # One run per arm: no seed spread to judge by, so not a yes however narrow.
    assert d.seed_design == "none"
    assert judge(d) is F1Verdict.UNCERTAIN
    two = [base, runs(LABELS, seed=1)]
    assert judge(delta_f1(two, two, budget_pct=1.0, n_resamples=500)) is F1Verdict.FEASIBLE
    assert judge(delta_f1(two, two[:1], budget_pct=1.0, n_resamples=500), min_seeds=2) is (
        F1Verdict.UNCERTAIN
    )


def test_one_flipped_example_gives_the_exact_delta():
    flipped = list(LABELS)
    flipped[0] = 0  # one positive missed: TP 3, FN 1 -> F1 6/7 against 1
    d = delta_f1([runs(LABELS)], [runs(flipped)], budget_pct=1.0, n_resamples=2_000)
    assert d.mean_pct == pytest.approx(100 * (6 / 7 - 1))
    # The flipped example is in most resamples (1 - 0.9^10 = 65 %), never better than base.
    assert d.ci95_pct[1] == 0.0
    assert d.ci95_pct[0] < -10
    assert d.p_within_budget == pytest.approx(0.9**10, abs=0.03)


def test_full_split_f1_equals_sklearn_binary_and_macro():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 200)
    classes = np.where(rng.random(200) < 0.7, labels, rng.integers(0, 3, 200))
    got = f1_matrix([runs(list(classes), list(labels))], np.ones((1, 200)))[0, 0]
    assert got == pytest.approx(f1_score(labels, classes, average="macro"))
    binary = (labels == 1).astype(int)
    predicted = (classes == 1).astype(int)
    got = f1_matrix([runs(list(predicted), list(binary))], np.ones((1, 200)))[0, 0]
    assert got == pytest.approx(f1_score(binary, predicted))


def test_weights_count_repeated_examples():
    # Drawing the one true positive twice and nothing else positive: TP 2 -> F1 1.
    weights = np.zeros((1, 10))
    weights[0, 0] = 2
    weights[0, 5] = 1  # a true negative, predicted negative
    assert f1_matrix([runs(LABELS)], weights)[0, 0] == 1.0


def test_seed_spread_widens_the_interval():
    rng = np.random.default_rng(0)
    labels = (rng.random(500) < 0.3).astype(int)

    def noisy(seed: int, accuracy: float) -> RunPredictions:
        r = np.random.default_rng(seed)
        classes = np.where(r.random(500) < accuracy, labels, 1 - labels)
        return runs(list(classes), list(labels), seed)

    one = f1_interval([noisy(1, 0.9)], n_resamples=4_000)
    spread = f1_interval([noisy(1, 0.95), noisy(2, 0.8), noisy(3, 0.9)], n_resamples=4_000)
    assert one.n_seeds == 1 and spread.n_seeds == 3
    assert spread.ci95[1] - spread.ci95[0] > one.ci95[1] - one.ci95[0]
    assert one.ci95[0] < one.f1 < one.ci95[1]


def test_resolution_needs_two_seeds_and_is_zero_for_identical_seeds():
    assert f1_resolution([runs(LABELS)]) is None
    assert f1_resolution([runs(LABELS), runs(LABELS, seed=1)], n_resamples=1_000) == 0.0
    flipped = list(LABELS)
    flipped[0] = 0
    assert f1_resolution([runs(LABELS), runs(flipped, seed=1)], n_resamples=1_000) > 5


def test_other_splits_are_refused():
    other = RunPredictions.from_lists(split_id="t", labels=LABELS, classes=LABELS)
    with pytest.raises(ValueError, match="different test splits"):
        delta_f1([runs(LABELS)], [other], budget_pct=1.0)


def test_confidence_half_is_the_point_estimate_rule():
    flipped = list(LABELS)
    flipped[0] = 0
    d = delta_f1([runs(LABELS)], [runs(flipped)], budget_pct=20.0, confidence=0.5)
    assert d.lower_pct == d.upper_pct == d.mean_pct
    assert judge(d) is F1Verdict.FEASIBLE  # -14.3 % inside a 20 % budget


def test_ten_thousand_resamples_of_a_thousand_examples_is_vectorised():
    rng = np.random.default_rng(0)
    labels = list((rng.random(1000) < 0.2).astype(int))
    arm = [runs(list(rng.integers(0, 2, 1000)), labels, s) for s in range(3)]
    start = time.process_time()  # CPU time: other jobs on a loaded machine do not count
    delta_f1(arm, arm[::-1], budget_pct=1.0, n_resamples=10_000)
    # The loop-free version takes ~0.1 s; a Python loop over the resamples takes minutes.
    assert time.process_time() - start < 5.0


def _delta(lower: float, upper: float, budget: float = 1.0) -> DeltaF1:
    return DeltaF1(
        mean_pct=(lower + upper) / 2,
        ci95_pct=(lower, upper),
        lower_pct=lower,
        upper_pct=upper,
        p_within_budget=0.5,
        budget_pct=budget,
        confidence=0.95,
        n_seeds_baseline=3,
        n_seeds_candidate=3,
        n_examples=100,
        n_resamples=100,
    )


@pytest.mark.parametrize(
    ("lower", "upper", "degenerate", "verdict"),
    [
        (-1.0, 2.0, False, F1Verdict.FEASIBLE),  # the bound on the budget counts as inside
        (-1.01, 2.0, False, F1Verdict.UNCERTAIN),
        (-3.0, -1.0, False, F1Verdict.UNCERTAIN),
        (-3.0, -1.01, False, F1Verdict.INFEASIBLE),
        (0.5, 2.0, True, F1Verdict.INFEASIBLE),
    ],
)
def test_verdict_boundaries(lower, upper, degenerate, verdict):
    assert judge(_delta(lower, upper), degenerate=degenerate) is verdict


def test_a_single_run_borrows_the_other_arms_seed_spread():
    flipped = list(LABELS)
    flipped[0] = 0  # seed 43 of the baseline missed one positive
    base_same = [runs(LABELS), runs(LABELS, seed=43)]
    base_spread = [runs(LABELS), runs(flipped, seed=43)]
    single = [runs(LABELS, seed=7)]
    same = delta_f1(base_same, single, budget_pct=1.0, n_resamples=2_000)
    spread = delta_f1(base_spread, single, budget_pct=1.0, n_resamples=2_000)
    # Identical baseline seeds lend no spread; differing ones widen the single run's interval.
    assert same.ci95_pct == (0.0, 0.0)
    # The single run is perfect on every resample of examples, so from examples alone its
    # ΔF1 could never be negative; with the baseline's seed spread it may be an unlucky
    # draw as well as a lucky one.
    assert spread.ci95_pct[0] < -5.0 < 5.0 < spread.ci95_pct[1]


@pytest.mark.parametrize(
    ("lower", "upper", "bound", "text"),
    [
        (-0.8, 2.0, "lower", "feasible: lower 95% bound -0.8% >= -1.0%"),
        (-1.2, 2.0, "lower", "uncertain: lower 95% bound -1.2% < -1.0%"),
        (-3.0, -1.5, "upper", "infeasible: upper 95% bound -1.5% < -1.0%"),
    ],
)
def test_the_decision_names_the_one_sided_bound_that_decided(lower, upper, bound, text):
    d = _delta(lower, upper)
    decided = decision(d, judge(d))
    assert decided.bound == bound
    assert decided.bound_pct == (lower if bound == "lower" else upper)
    assert decided.describe() == text
    assert d.bootstrap_share == d.p_within_budget


def test_a_looks_share_of_the_confidence_prints_with_three_digits():
    """A later look's confidence (e.g. 1 - 0.05/2/3 x ...) prints as 99.2%, not 99.1667%."""
    d = _delta(-0.5, 2.8)
    decided = dataclasses.replace(decision(d, judge(d)), confidence=1 - 0.05 / 6)
    assert decided.describe() == "feasible: lower 99.2% bound -0.5% >= -1.0%"
