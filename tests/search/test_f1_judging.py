"""The search's F1 verdicts come from kept predictions, or say they could not."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from greensearch.exceptions import ConfigError
from greensearch.record import TrialRecord
from greensearch.search._f1_judging import (
    f1_judgement,
    resolution_pct,
    short_run_chance,
    verdict_of,
)
from greensearch.stats import F1Verdict, RunPredictions

LABELS = [1] * 40 + [0] * 60


def _attrs(*runs: list[int], degenerate: bool = False) -> dict:
    blocks = [
        RunPredictions.from_lists(split_id="s", labels=LABELS, classes=c).to_record() for c in runs
    ]
    return {
        "predictions": blocks,
        "seeds": list(range(42, 42 + len(runs))),
        "degenerate": degenerate,
    }


def _flip(n: int) -> list[int]:
    """The labels with the first ``n`` positives missed."""
    return [0] * n + LABELS[n:]


def test_identical_predictions_are_confidently_feasible():
    got = f1_judgement(
        _attrs(LABELS), _attrs(LABELS, LABELS), budget_pct=1.0, confidence=0.95, point_loss_pct=0
    )
    assert got.verdict is F1Verdict.FEASIBLE and got.delta is not None
    assert got.delta.ci95_pct == (0.0, 0.0) and got.delta.confidence == 0.95
    assert got.n_seeds == 1 and got.delta.n_seeds_baseline == 2
    stored = got.to_attrs()
    assert stored["f1_verdict"] == "feasible" and stored["delta_f1_ci95_pct"] == [0.0, 0.0]
    assert stored["n_seeds"] == 1 and stored["n_seeds_baseline"] == 2 and stored["f1_interval"]


def test_a_large_loss_is_confidently_infeasible_and_a_small_one_uncertain():
    # 20 of 40 positives missed: F1 2/3 of the baseline's, far outside a 1 % budget.
    big = f1_judgement(
        _attrs(_flip(20)), _attrs(LABELS), budget_pct=1.0, confidence=0.95, point_loss_pct=33
    )
    assert big.verdict is F1Verdict.INFEASIBLE
    # One positive missed: -1.3 % point loss, but the interval reaches 0.
    small = f1_judgement(
        _attrs(_flip(1)), _attrs(LABELS), budget_pct=1.0, confidence=0.95, point_loss_pct=1.3
    )
    assert small.verdict is F1Verdict.UNCERTAIN
    assert small.delta is not None and 0 < small.delta.p_within_budget < 1


def test_a_degenerate_model_is_infeasible_whatever_its_interval():
    got = f1_judgement(
        _attrs(LABELS, degenerate=True),
        _attrs(LABELS),
        budget_pct=1.0,
        confidence=0.95,
        point_loss_pct=0,
    )
    assert got.verdict is F1Verdict.INFEASIBLE


def test_without_predictions_the_point_rule_is_used_and_said():
    got = f1_judgement(
        {"degenerate": False, "repeats": 1}, {}, budget_pct=1.0, confidence=0.95, point_loss_pct=0.5
    )
    assert got.delta is None
    assert got.to_attrs() == {
        "f1_interval": False,
        "f1_verdict": "feasible",
        "delta_f1_ci95_pct": None,
        "f1_bootstrap_share": None,
        "n_seeds": 1,
    }
    assert verdict_of({"feasible": False}) is F1Verdict.INFEASIBLE
    assert verdict_of({"f1_verdict": "uncertain", "feasible": True}) is F1Verdict.UNCERTAIN


def test_resolution_needs_two_distinct_seeds():
    assert resolution_pct(_attrs(LABELS), confidence=0.95) is None
    # Two seeds that differ by two missed positives (F1 1 vs 76/78): their spread, on one
    # degree of freedom, is the seed part: t(1) at 95 % times its standard error.
    found = resolution_pct(_attrs(LABELS, _flip(2)), confidence=0.95)
    f1 = np.array([1.0, 76 / 78])
    expected = stats.t.ppf(0.95, 1) * 100 * f1.std(ddof=1) / f1.mean()
    assert found is not None and 0.75 * expected < found < 1.25 * expected


def test_a_run_scored_with_another_metric_than_its_baseline_fails_its_trial():
    scored = RunPredictions.from_scores(split_id="s", scores=[1.0] * 100, metric="exact_match")
    attrs = {"predictions": [scored.to_record()], "seeds": [42]}
    with pytest.raises(ConfigError, match="a run reported exact_match but its baseline f1"):
        f1_judgement(attrs, _attrs(LABELS), budget_pct=1.0, confidence=0.95, point_loss_pct=0)


@pytest.mark.parametrize(
    ("attrs", "chance"),
    [
        ({"f1_interval": True, "f1_verdict": "uncertain", "f1_bootstrap_share": 0.7}, 0.7),
        ({"f1_interval": True, "f1_verdict": "feasible", "f1_bootstrap_share": 0.99}, 0.99),
        ({"f1_interval": True, "f1_verdict": "infeasible", "f1_bootstrap_share": 0.01}, None),
        ({"feasible": True, "f1_loss_pct": 0.4}, 1.0),
        ({"feasible": False, "f1_loss_pct": 2.0}, 0.5),  # within twice the budget
        ({"feasible": False, "f1_loss_pct": 2.01}, None),
    ],
    ids=["uncertain", "feasible", "infeasible", "point-feasible", "point-near", "point-out"],
)
def test_a_short_runs_chance_of_meeting_the_budget(attrs, chance) -> None:
    record = TrialRecord.from_attrs({"knobs": "trim", **attrs})
    assert short_run_chance(record, 1.0) == chance
