"""The examples under the real search, offline, at a tiny size: oracle and verdict asserted."""

from __future__ import annotations

import functools
import json

import optuna
import pytest
from sklearn.metrics import f1_score

import greensearch.hf
from greensearch.config import StudyConfig
from greensearch.integrations import script_search
from greensearch.schema import StudyAttr
from greensearch.search import ResultRow, SearchResult, SearchSettings
from greensearch.stats import RunPredictions
from tests.integrations.examples import EXAMPLES, load_example


def _assert_oracle_rule(result: SearchResult) -> None:
    """ΔF1 is against the baseline's F1; an oracle is a finalist feasible on its own (Holm
    over the finalists is the stricter test), and the output says which rule named it."""
    assert result.baseline is not None
    base_f1 = result.baseline.row["f1"]
    for final in result.finalists:
        row = final.row
        assert row["delta_f1_pct"] == pytest.approx(100 * (row["f1"] - base_f1) / base_f1)
    if result.oracle is not None:
        assert result.oracle.knobs in {f.knobs for f in result.finalists if f.knobs}
        assert result.oracle.row["f1_verdict"] == "feasible"
        assert result.oracle_rule is not None
        # feasible means the lower ΔF1 bound is within the budget, so the estimate is too
        assert result.oracle.row["delta_f1_pct"] >= result.budget_f1_pct


def test_the_script_example_is_searched_and_judged_on_its_predictions(tmp_path, clock_meter):
    settings = SearchSettings(
        study=StudyConfig(source="<test>"),
        budget_f1_pct=-50.0,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        include=("seq_len",),  # one knob: each run is a process of its own
        n_trials=2,
        fidelity=0.5,
        repeats=2,  # one seed at full fidelity is never a verdict
        max_rounds=2,  # fixed rounds: the looks beyond them are tested on replays
        baseline_repeats=1,  # a second seed of this tiny model learns nothing at fidelity 0.5
        finalists=1,  # each run is a process of its own (seconds of imports): one finalist
        near_misses=0,
        confidence=0.5,  # the point-estimate rule: one baseline run has no seed spread
        idle_seconds=0.0,
        results_path=str(tmp_path / "runs.jsonl"),
    )
    result = script_search(
        settings,
        EXAMPLES / "script_train.py",
        args=("--rows", "160", "--tiny"),
        timeout_s=600,
        meter=clock_meter,
    )
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    # the baseline, each declared knob alone (first search value), then the finals
    assert [r["knobs"] for r in records[:2]] == ["", "seq_len=128"]
    assert result.study_name == "script_train-f1-50"
    assert result.budget_f1_pct == -50.0
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and len(kept.labels) == 160
        assert r["metrics"]["f1"] == pytest.approx(f1_score(kept.labels, kept.classes))
        assert set(r["stages"]) == {"script"}
        assert r["train_steps"] == (5 if r["fidelity"] == 0.5 else 10)  # 160 rows / 16
    _assert_oracle_rule(result)


def _hf_example():
    return load_example("hf_trainer.py")


def test_the_trainer_example_searches_and_prints_its_oracle_and_verdict(
    tmp_path, clock_meter, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the example's output_dir and results file land here
    # the example as a user runs it; only the meter (deterministic) and the finals' size
    # are the test's own
    search = functools.partial(
        greensearch.hf.search,
        meter=clock_meter,
        repeats=2,
        max_rounds=2,  # fixed rounds: the looks beyond them are tested on replays
        baseline_repeats=1,  # a second seed of this tiny model learns nothing at fidelity 0.5
        # the point-estimate rule: one baseline run has no seed spread, so every short run
        # would be uncertain and go on only where the clock meter read it cheaper than the
        # baseline (a slow minute then leaves no finals at all: it failed the same set-up in
        # tests/integrations/test_hf.py once in CI); by its point estimate a single that
        # keeps half the baseline's F1 is a finalist whatever the clock reads
        confidence=0.5,
        near_misses=0,
        results_path=str(tmp_path / "runs.jsonl"),
    )
    monkeypatch.setattr(greensearch.hf, "search", search)
    argv = ["--search", "--tiny", "--rows", "160", "--budget-f1", "-50"]
    argv += ["--include", "lr_schedule,layer_prune", "--n-trials", "4", "--fidelity", "0.5"]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}"]
    result = _hf_example().main(argv)
    printed = capsys.readouterr().out.splitlines()

    assert isinstance(result, SearchResult)
    assert result.study_name == "trainer-f1-50"
    assert result.budget_f1_pct == -50.0
    # the baseline's F1 is the mean of its full-fidelity runs' F1, each sklearn's F1 of
    # its kept predictions
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    base_runs = [r for r in records if r["knobs"] == "" and r["fidelity"] == 1.0]
    assert sorted(r["seed"] for r in base_runs) == [42, 43]
    for r in base_runs:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None
        assert r["metrics"]["f1"] == pytest.approx(f1_score(kept.labels, kept.classes))
    assert isinstance(result.baseline, ResultRow)
    assert result.baseline.row["f1"] == pytest.approx(
        sum(r["metrics"]["f1"] for r in base_runs) / len(base_runs)
    )
    _assert_oracle_rule(result)
    # what the Trainer path cannot reach is stored in the study and printed with its reason
    stored = optuna.load_study(
        study_name=result.study_name, storage=f"sqlite:///{tmp_path / 's.db'}"
    )
    assert stored.user_attrs[StudyAttr.LEFT_OUT_KNOBS] == result.left_out_knobs
    assert set(result.left_out_knobs) == {"quantization", "inference_engine"}
    assert result.left_out_knobs["quantization"].startswith("model_init builds the model")
    # the example prints the result as `greensearch optimize` does, reasons included
    assert printed == greensearch.format_result(result).splitlines()
    for knob, why in result.left_out_knobs.items():
        assert f"left out of the search: {knob} ({why})" in printed
    assert any(line.startswith("search cost: ") for line in printed)
    assert any(line.startswith("meter: ") for line in printed)
    assert any(line.startswith("measured on: ") for line in printed)
    oracle = result.oracle
    if oracle is None:
        assert printed[1].startswith("no bundle is confirmed within the F1 budget")
    else:
        assert oracle.row["f1_verdict"] == "feasible"
        assert printed[1] == f"oracle: {oracle.knobs}"
        assert f"ΔF1 {oracle.row['delta_f1_pct']:+.1f}% (95% CI" in printed[3]
