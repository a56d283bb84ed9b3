"""The answer of a search from its final trials: Holm's oracle, paired ΔF1 and ΔEnergy."""

from __future__ import annotations

import math

from greensearch.pareto import cheapest_feasible
from greensearch.search._result import build_result
from greensearch.stats import delta_f1
from tests.search.finals_study import BASE_KWH, CONFIDENCE, finals_study, runs


def test_holm_names_a_dearer_oracle_than_each_finalist_judged_alone():
    study = finals_study()
    alpha = 1 - CONFIDENCE
    p = {
        k: delta_f1(runs(0), runs(n), budget_pct=1.0, confidence=CONFIDENCE).p_value
        for k, n in (("a", 1), ("b", 0), ("c", 3))
    }
    # Holm over 3: the smallest p at alpha/3 passes (b), the next at alpha/2 fails (a).
    assert p["b"] <= alpha / 3 and alpha / 2 < p["a"] < alpha < p["c"]
    finals = [t for t in study.trials if t.user_attrs["knobs"]]
    alone = cheapest_feasible(
        [t.values[0] for t in finals], [t.user_attrs["f1_verdict"] == "feasible" for t in finals]
    )
    assert alone is not None and finals[alone].user_attrs["knobs"] == "a"

    result = build_result(study, fidelity=0.5, budget_f1_pct=-1.0)

    assert result.oracle is not None and result.oracle.knobs == "b"
    assert result.oracle_rule is not None and "Holm" in result.oracle_rule
    assert "over 3 finalists" in result.oracle_rule
    assert result.not_confirmed is not None and result.not_confirmed.knobs == "a"
    # "a" clears the budget alone (p < alpha) but not Holm's alpha/2: more rounds settle it
    assert "clears the budget alone" in (result.not_confirmed.to_confirm or "")


def test_a_confirmed_finalist_that_costs_more_energy_than_the_baseline_is_no_answer():
    """B is confirmed within the budget (Holm) but used more energy than the baseline in
    every round (its short run had looked cheaper): keep the baseline, and say why."""
    result = build_result(finals_study(b_kwh=(1.1, 1.3, 1.0)), fidelity=0.5, budget_f1_pct=-1.0)
    row = next(f for f in result.finalists if f.knobs == "b")
    assert row.row["f1_verdict"] == "feasible" and row.row["delta_energy_pct"] > 0
    assert result.oracle is None
    assert result.oracle_rule is not None
    assert result.oracle_rule.endswith(
        "used more energy than the baseline in its full runs is not an answer"
    )
    # as before, with B cheaper than the baseline, B is the answer
    assert build_result(finals_study(), fidelity=0.5, budget_f1_pct=-1.0).oracle.knobs == "b"


def test_final_energy_is_the_geometric_mean_of_the_ratios_to_its_own_rounds_baseline():
    result = build_result(finals_study(), fidelity=0.5, budget_f1_pct=-1.0)
    row = next(f for f in result.finalists if f.knobs == "b")
    logs = [math.log(c / b) for c, b in zip([0.8, 1.1, 0.6], BASE_KWH, strict=True)]
    expected = (math.exp(sum(logs) / len(logs)) - 1) * 100
    ratio_of_means = ((0.8 + 1.1 + 0.6) / sum(BASE_KWH) - 1) * 100
    assert abs(expected - ratio_of_means) > 0.5  # the two estimators differ here
    assert math.isclose(row.row["delta_energy_pct"], expected, rel_tol=1e-9)
    ci = row.delta_energy_ci95_pct
    assert ci is not None and ci[0] < expected < ci[1]
    assert row.energy_interval is not None and row.energy_interval.kind == "paired rounds"
    # the payback uses the oracle's own baseline (invocation 1), not invocation 0's
    assert result.baseline is not None and result.baseline.energy_kwh == sum(BASE_KWH) / 3


def test_a_finalists_row_shows_the_deciding_bound_and_the_bootstrap_share():
    result = build_result(finals_study(), fidelity=0.5, budget_f1_pct=-1.0)
    row = next(f for f in result.finalists if f.knobs == "a").to_dict()
    expected = delta_f1(runs(0), runs(1), budget_pct=1.0, confidence=CONFIDENCE, n_resamples=4000)
    assert row["f1_decided_by"] == f"feasible: lower 93% bound {expected.lower_pct:+.1f}% >= -1.0%"
    assert math.isclose(row["f1_bootstrap_share"], 1 - expected.p_value)
    assert "p_f1_within_budget" not in row


def _uncertain(point: float, bounds: tuple[float, float], seeds: int = 3):
    import optuna

    return optuna.trial.create_trial(
        values=[1.0, 0.0],
        user_attrs={
            "knobs": "a",
            "fidelity": 1.0,
            "phase": "final",
            "delta_f1_pct": point,
            "delta_f1_bounds_pct": list(bounds),
            "n_seeds": seeds,
        },
    )


def test_to_confirm_names_the_rounds_only_while_they_are_worth_running():
    from greensearch.search._result import _to_confirm

    # +0.5 % with a lower bound at -2.8 %: (3.3 / 1.5)^2 x 3 = 14.5, so about 15 rounds
    assert _to_confirm(_uncertain(0.5, (-2.8, 3.9)), -1.0).startswith("about 15 rounds")
    # the live run's -0.9 % (-18.6 .. +15.8): 0.1 % inside the budget, 55,070 rounds
    far = _to_confirm(_uncertain(-0.9, (-18.6, 15.8)), -1.0)
    assert far.startswith("more than 100 rounds") and "0.1% inside the budget" in far
    assert "--repeats" not in far
