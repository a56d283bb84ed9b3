"""``examples/script_train.py`` under the real search, offline, at a tiny size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sklearn.metrics import f1_score

from greensearch.config import StudyConfig
from greensearch.integrations import script_search
from greensearch.search import SearchSettings
from greensearch.stats import RunPredictions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_the_script_example_is_searched_and_judged_on_its_predictions(tmp_path, clock_meter):
    settings = SearchSettings(
        study=StudyConfig(source="<test>"),
        budget_f1_pct=50.0,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        include=("seq_len", "dynamic_padding"),
        n_trials=3,
        fidelity=0.5,
        repeats=1,
        baseline_repeats=1,
        near_misses=0,
        idle_seconds=0.0,
        results_path=str(tmp_path / "runs.jsonl"),
    )
    result = script_search(
        settings,
        EXAMPLES / "script_train.py",
        args=("--rows", "160", "--tiny"),
        timeout_s=600,
        meter=clock_meter,
    ).to_dict()
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    # the baseline, each declared knob alone (first search value), then the finals
    assert [r["knobs"] for r in records[:3]] == ["", "seq_len=128", "dynamic_padding"]
    assert result["study_name"] == "script_train-f1-50"
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and len(kept.labels) == 160
        assert r["metrics"]["f1"] == pytest.approx(f1_score(kept.labels, kept.classes))
        assert set(r["stages"]) == {"script"}
        assert r["train_steps"] == (5 if r["fidelity"] == 0.5 else 10)  # 160 rows / 16
    base_f1 = result["baseline"]["f1"]
    for row in result["finalists"]:
        assert row["delta_f1_pct"] == pytest.approx(100 * (row["f1"] - base_f1) / base_f1)
    # the oracle rule: the cheapest finalist bundle (not the baseline) judged feasible
    feasible = [f for f in result["finalists"] if f["knobs"] and f["f1_verdict"] == "feasible"]
    if feasible:
        cheapest = min(feasible, key=lambda f: f["energy_kwh"])
        assert result["oracle"]["knobs"] == cheapest["knobs"]
    else:
        assert result["oracle"] is None
