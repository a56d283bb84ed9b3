"""``greensearch.hf.search(metric="exact_match", score_test=...)``: a generative model's
Trainer (the example's small GPT-2 that learns to add), judged on exact match per test
problem, offline."""

from __future__ import annotations

import functools
import json

import pytest
from optuna.storages import InMemoryStorage
from transformers import TrainingArguments

import greensearch.hf
from greensearch.exceptions import ConfigError
from greensearch.search import SearchResult
from greensearch.stats import RunPredictions
from tests.integrations.examples import load_example


def _example():
    return load_example("hf_generative.py")


def test_the_generative_example_is_searched_and_judged_on_exact_match(
    tmp_path, clock_meter, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the example's output_dir lands here
    # the example as a user runs it; only the meter and the finals' size are the test's
    search = functools.partial(
        greensearch.hf.search,
        meter=clock_meter,
        repeats=2,
        max_rounds=2,
        baseline_repeats=1,
        # the point-estimate rule: with one baseline run every short run is uncertain and
        # would go on only where the clock meter read it cheaper than the baseline (a slow
        # minute leaves no finals: tests/integrations/test_hf.py failed so once in CI)
        confidence=0.5,
        near_misses=0,
        results_path=str(tmp_path / "runs.jsonl"),
    )
    monkeypatch.setattr(greensearch.hf, "search", search)
    argv = ["--search", "--epochs", "4"]  # 4 GPT-2 layers: pruning 2 saves energy
    argv += ["--budget-f1", "-50", "--include", "layer_prune", "--n-trials", "2"]
    argv += ["--fidelity", "0.5", "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    result = _example().main(argv)
    printed = capsys.readouterr().out.splitlines()

    assert isinstance(result, SearchResult)
    assert result.metric == "exact_match" and result.metric_label == "exact match"
    assert printed == greensearch.format_result(result).splitlines()
    assert printed[0].endswith("exact match budget -50%")
    assert result.left_out_knobs["early_stopping"].startswith("it stops on a classifier's")
    assert result.left_out_knobs["lora"].startswith("greensearch's LoRA adapts a classifier")
    assert "data_fraction" not in result.left_out_knobs  # it samples rows without a class
    # every run kept one score per test problem it decoded, and its metric is their mean
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {r["fidelity"] for r in records} == {0.5, 1.0}
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "exact_match"
        assert set(kept.values.tolist()) <= {0.0, 1.0}
        assert kept.n == 300  # a short run too: at least 500 examples, the whole split
        assert r["metrics"]["f1"] == pytest.approx(float(kept.values.mean()))
    assert result.baseline is not None and result.baseline.row["f1"] > 0.2  # it learned
    if result.oracle is not None:
        assert result.oracle.row["f1_verdict"] == "feasible"


@pytest.fixture(scope="module")
def problems():
    """The example's offline splits, small: (train, val, test, model_init, score_test)."""
    return _example().load_offline(rows=64, layers=1)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"score_test": None}, "pass score_test=f, f\\(model, test_dataset\\)"),
        ({"metric": "f1"}, "score_test is read with metric='exact_match' or 'accuracy'"),
    ],
)
def test_a_scored_metric_needs_its_scorer_before_any_run(problems, tmp_path, changes, message):
    train, val, test, _, score_test = problems
    built = []
    kwargs = dict(
        model_init=lambda: built.append(1),
        args=TrainingArguments(output_dir=str(tmp_path), report_to="none"),
        train_dataset=train,
        test_dataset=test,
        label_column="labels",
        metric="exact_match",
        score_test=score_test,
        storage=InMemoryStorage(),
    )
    with pytest.raises(ConfigError, match=message):
        greensearch.hf.search(**{**kwargs, **changes})
    assert built == []
    texts = train.add_column("text", ["07+35="] * len(train))
    with pytest.raises(ConfigError, match="trains on tokenized datasets"):
        greensearch.hf.search(
            **{
                **kwargs,
                "train_dataset": texts,
                "test_dataset": test.add_column("text", ["x"] * 64),
            }
        )
