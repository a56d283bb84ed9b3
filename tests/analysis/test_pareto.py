from __future__ import annotations

import math

import pandas as pd
import pytest

from greensearch.analysis import from_records, pareto_frontier, quadrant_of, quadrant_table
from greensearch.exceptions import ConfigError


def _expected_quadrant(x: float, y: float) -> str:
    if x < 0 and y < 0:
        return "both_down"
    if x > 0 and y > 0:
        return "both_up"
    return "mixed"


def test_quadrant_of_edges() -> None:
    assert quadrant_of(-1.0, -1.0, is_baseline=False) == "both_down"
    assert quadrant_of(1.0, 2.0, is_baseline=False) == "both_up"
    assert quadrant_of(-1.0, 2.0, is_baseline=False) == "mixed"
    assert quadrant_of(0.0, -5.0, is_baseline=False) == "mixed"  # zero is no gain
    assert quadrant_of(0.0, 0.0, is_baseline=True) == "baseline"
    assert quadrant_of(math.nan, -5.0, is_baseline=False) == "unknown"


def test_eval_quadrants_follow_the_csv(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    table = quadrant_table(paper, stage="eval").set_index("variant")
    base_eval = float(raw_rows["V0"]["eval_kwh"])
    for variant, row in raw_rows.items():
        x = float(row["delta_eval_time_pct"])
        y = (float(row["eval_kwh"]) / base_eval - 1) * 100
        expected = "baseline" if variant == "V0" else _expected_quadrant(x, y)
        assert table.loc[variant, "quadrant"] == expected, variant
        assert table.loc[variant, "delta_time_pct"] == pytest.approx(x)
        assert table.loc[variant, "delta_energy_pct"] == pytest.approx(y)
    assert (table["time_basis"] == "eval").all()
    # the paper's reading of Figure 2: V1, V4, V5 are in the worse half, V3 trades time
    assert set(table.index[table["quadrant"] == "both_up"]) >= {"V1", "V4", "V5"}
    assert table.loc["V3", "quadrant"] == "mixed"


def test_total_uses_total_time(paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]) -> None:
    table = quadrant_table(paper, stage="total").set_index("variant")
    v3, v0 = raw_rows["V3"], raw_rows["V0"]
    x = (float(v3["total_time_s"]) / float(v0["total_time_s"]) - 1) * 100
    assert table.loc["V3", "delta_time_pct"] == pytest.approx(x)
    assert table.loc["V3", "delta_energy_pct"] == float(v3["delta_total_pct"])
    assert table.loc["V3", "quadrant"] == "mixed"


def test_stage_without_timing_says_it_uses_total_time(paper: pd.DataFrame) -> None:
    table = quadrant_table(paper, stage="train")
    assert (table["time_basis"] == "total").all()
    with pytest.raises(ConfigError, match="unknown stage 'warmup'"):
        quadrant_table(paper, stage="warmup")


def test_oracle_is_lowest_energy_feasible_non_degenerate(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    for budget in (0.05, 1.0, 5.0):
        front = pareto_frontier(paper, budget_f1_pct=budget)
        candidates = [
            (float(r["total_kwh"]), v)
            for v, r in raw_rows.items()
            if float(r["delta_f1_pct"]) >= -budget and v not in ("V2", "V30")
        ]
        assert front.oracle == min(candidates)[1]
    front = pareto_frontier(paper, budget_f1_pct=1.0)
    assert front.oracle == "V21"
    pts = front.points.set_index("variant")
    assert not pts.loc["V30", "on_frontier"]  # degenerate: never on the frontier
    assert not pts.loc["V29", "feasible"] and pts.loc["V28", "feasible"]


def test_frontier_on_synthetic_points() -> None:
    def rec(name: str, knobs: str, energy: float, f1: float) -> dict[str, object]:
        return {
            "variant": name,
            "knobs": knobs,
            "energy_kwh": energy,
            "duration_s": 1.0,
            "metrics": {"f1": f1},
        }

    df = from_records(
        [
            rec("base", "", 10.0, 1.00),
            rec("a", "x", 5.0, 0.99),  # cheaper, loses 1 %: frontier
            rec("b", "y", 6.0, 0.98),  # dominated by a
            rec("c", "z", 2.0, 0.90),  # cheapest, loses 10 %: frontier, infeasible at 1 %
            rec("d", "w", 12.0, 1.00),  # dominated by base
        ]
    )
    front = pareto_frontier(df, budget_f1_pct=1.0)
    pts = front.points.set_index("variant")
    assert sorted(pts.index[pts["on_frontier"]]) == ["a", "base", "c"]
    assert front.oracle == "a"
    assert pareto_frontier(df, budget_f1_pct=0.5).oracle == "base"
