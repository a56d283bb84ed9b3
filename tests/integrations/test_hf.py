"""``greensearch.hf.search``: a user's Trainer set-up under the real search."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from optuna.storages import InMemoryStorage
from sklearn.metrics import f1_score
from transformers import TrainingArguments

import greensearch.hf
from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.integrations import TrainerRunner, TrainerTask, fit_knobs
from greensearch.knobs import default_registry
from greensearch.stats import RunPredictions
from tests.conftest import TINY_ARCH
from tests.integrations.examples import load_example

ROWS = 160


def _example():
    return load_example("hf_trainer.py")


@pytest.fixture(scope="module")
def offline():
    """The example's offline data and model, small: (train, val, test, tokenizer, init)."""
    return _example().load_offline(rows=ROWS, arch=TINY_ARCH)


def _args(tmp_path: Path, **changes) -> TrainingArguments:
    fields = dict(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=1,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
    )
    return TrainingArguments(**{**fields, **changes})


def _task(offline, tmp_path, **changes) -> TrainerTask:
    train, val, test, tokenizer, init = offline
    fields = dict(
        model_init=init,
        args=_args(tmp_path),
        train_dataset=train,
        eval_dataset=val,
        test_dataset=test,
        tokenizer=tokenizer,
        max_length=64,
    )
    return TrainerTask(**{**fields, **changes})


def test_search_around_a_trainer_judges_every_trial_on_its_predictions(
    offline, clock_meter, tmp_path
):
    train, val, test, tokenizer, init = offline
    result = greensearch.hf.search(
        model_init=init,
        args=_args(tmp_path),
        train_dataset=train,
        eval_dataset=val,
        test_dataset=test,
        tokenizer=tokenizer,
        max_length=64,
        # wide enough that the single layer_prune=2:top (F1 0.52 against the baseline
        # seeds' 0.52 and 0.20, its lower 80 % bound -60 %) is feasible on its short run,
        # so the finals always run: which other singles look cheaper than the baseline
        # follows the clock meter, and with none feasible and none cheaper there are no
        # finals to judge (failed 1 fresh-clone CI run in 3 at -50 %)
        budget_f1=-75,
        meter=clock_meter,
        storage=InMemoryStorage(),
        include=("lr_schedule", "layer_prune", "data_fraction"),
        n_trials=6,  # the baseline, 3 singles and 2 more: every trial is a Trainer run
        fidelity=0.5,
        repeats=2,
        max_rounds=2,  # fixed rounds: the looks beyond them are tested on replays
        baseline_repeats=2,  # one baseline run leaves no seed spread to judge a trial against
        near_misses=1,
        confidence=0.8,  # 2 seeds per arm leave the seed part 1 degree of freedom
        results_path=str(tmp_path / "runs.jsonl"),
    )
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    # every stage greensearch runs has its window; the whole run is their sum
    for r in records:
        assert set(r["stages"]) == {"data", "tokenize", "load", "train", "validate", "eval"}
        assert r["energy_kwh"] == pytest.approx(sum(s["energy_kwh"] for s in r["stages"].values()))
    # the baseline's F1 is sklearn's positive-class F1 of its kept predictions, per seed
    finals = [r for r in records if r["knobs"] == "" and r["fidelity"] == 1.0]
    assert sorted(r["seed"] for r in finals) == [42, 43]
    for r in finals:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and len(kept.labels) == len(test)
        assert r["metrics"]["f1"] == pytest.approx(f1_score(kept.labels, kept.classes))
    assert result.baseline is not None
    assert result.baseline.row["f1"] == pytest.approx(
        sum(r["metrics"]["f1"] for r in finals) / len(finals)
    )
    # each finalist's ΔF1 is against the baseline's F1, its verdict from its own bounds
    base_f1 = result.baseline.row["f1"]
    for final in result.finalists:
        row = final.row
        assert row["delta_f1_pct"] == pytest.approx(100 * (row["f1"] - base_f1) / base_f1)
    # the oracle, where 2 seeds per arm confirm one: a finalist bundle (not the baseline)
    # feasible on its own and confirmed by Holm's rule over the finalists, which the result
    # names; where none is confirmed, no finalist is infeasible-and-named either
    feasible = {f.knobs for f in result.finalists if f.knobs and f.row["f1_verdict"] == "feasible"}
    assert result.oracle_rule is not None and "Holm" in result.oracle_rule
    if result.oracle is not None:
        assert result.oracle.knobs in feasible
    elif result.not_confirmed is not None:
        assert result.not_confirmed.row["f1_verdict"] != "infeasible"
    assert result.budget_f1_pct == -75.0
    # what the Trainer path cannot reach is in the result with its reason
    assert set(result.left_out_knobs) == {"inference_engine", "quantization"}


def test_knobs_land_in_the_arguments_the_model_and_the_data(offline, clock_meter, tmp_path):
    task = _task(offline, tmp_path)
    study = StudyConfig(name="t", seed=42, max_length=64, batch_size=16)
    bundle = {"batch_size": "8", "layer_prune": "2:top", "lr_schedule": "cosine"}
    record = TrainerRunner(task).run_once(
        study, bundle, default_registry(), meter=clock_meter, fidelity=0.5, seed=42
    )
    planned = math.ceil(ROWS / 8)  # batch 8 instead of the arguments' 16
    assert record["planned_steps"] == planned
    assert record["train_steps"] == math.ceil(planned * 0.5)
    assert any("removed 2 top layers of 4" in n for n in record["notes"])
    assert record["knobs"] == "batch_size=8,layer_prune=2:top,lr_schedule=cosine"
    # the user's own arguments are copied, never changed
    assert task.args.per_device_train_batch_size == 16
    assert task.args.lr_scheduler_type == "linear"


def test_mixed_precision_runs_around_a_trainer_on_a_machine_without_a_gpu(
    offline, clock_meter, tmp_path
):
    """``precision=bf16`` on the CPU: transformers refuses it unless the arguments say the
    run is on the CPU (a live search's bf16 trial failed so); the user's own are kept."""
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU takes mixed precision without use_cpu")
    task = _task(offline, tmp_path)
    study = StudyConfig(name="t", seed=42, max_length=64, batch_size=16)
    record = TrainerRunner(task).run_once(
        study, {"precision": "bf16"}, default_registry(), meter=clock_meter, fidelity=0.5, seed=42
    )
    assert record["knobs"] == "precision=bf16"
    assert any("precision: mixed bf16" in n for n in record["notes"])
    assert task.args.use_cpu is False and task.args.bf16 is False


def test_a_short_run_around_a_trainer_predicts_its_share_of_the_test_split(
    offline, clock_meter, tmp_path, monkeypatch
):
    """As in the pipeline: fidelity 0.5 predicts half the test split (the floor lowered
    for this small one), and the record says how many of how many were predicted."""
    from greensearch.pipeline import _eval_subset

    monkeypatch.setattr(_eval_subset, "MIN_EVAL_EXAMPLES", 4)
    study = StudyConfig(name="t", seed=42, max_length=64, batch_size=16)
    record = TrainerRunner(_task(offline, tmp_path)).run_once(
        study, {}, default_registry(), meter=clock_meter, fidelity=0.5, seed=42
    )
    n_test = len(offline[2])
    assert record["test_examples"] == n_test
    assert record["eval_examples"] == math.ceil(n_test / 2)
    assert RunPredictions.from_record(record["predictions"]).n == math.ceil(n_test / 2)


def test_knobs_that_cannot_apply_are_left_out_with_the_reason(offline, tmp_path):
    train, val, test, tokenizer, init = offline
    model = init()
    fit = fit_knobs(_task(offline, tmp_path), model)
    assert set(fit.left_out) == {"inference_engine", "quantization"}
    assert "seq_len" in fit.registry and "quantization" not in fit.registry

    def encode(batch):
        return tokenizer(batch["text"], truncation=True, max_length=64)

    tokenized = [s.map(encode, batched=True, remove_columns=["text"]) for s in (train, test)]
    fit = fit_knobs(
        _task(offline, tmp_path, train_dataset=tokenized[0], test_dataset=tokenized[1],
              eval_dataset=None, tokenizer=None),
        model,
    )  # fmt: skip
    assert set(fit.left_out) == {
        "inference_engine",
        "quantization",
        "early_stopping",
        "seq_len",
        "dedup",
        "fast_tokenizer",
        "dynamic_padding",
        "group_by_length",
    }
    assert "already tokenized" in fit.left_out["seq_len"]
    assert fit.left_out["early_stopping"] == "no eval_dataset to stop on"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"test_dataset": None}, "test_dataset is missing"),
        ({"tokenizer": None}, "pass tokenizer="),
        ({"label_column": "vul"}, "no label column 'vul'"),
        ({"args": {"output_dir": "x"}}, "args must be a TrainingArguments"),
        ({"model_init": "bert"}, "model_init must be a function"),
        ({"eval_dataset": None}, "no eval_dataset is given"),
    ],
)
def test_bad_input_is_a_config_error_before_any_model_is_built(offline, tmp_path, changes, message):
    train, val, test, tokenizer, _ = offline
    built = []
    kwargs = dict(
        model_init=lambda: built.append(1),
        args=_args(tmp_path),
        train_dataset=train,
        eval_dataset=val,
        test_dataset=test,
        tokenizer=tokenizer,
        storage=InMemoryStorage(),
    )
    with pytest.raises(ConfigError, match=message):
        greensearch.hf.search(**{**kwargs, **changes})
    assert built == []


def test_a_failing_model_init_is_a_config_error(offline, tmp_path):
    train, val, test, tokenizer, _ = offline

    def broken():
        raise OSError("no such model 'bert-tiny-typo'")

    with pytest.raises(ConfigError, match="model_init\\(\\) failed: OSError: no such model"):
        greensearch.hf.search(
            model_init=broken,
            args=_args(tmp_path),
            train_dataset=train,
            eval_dataset=val,
            test_dataset=test,
            tokenizer=tokenizer,
            storage=InMemoryStorage(),
        )


def test_tokenized_datasets_run_without_a_tokenizer(offline, clock_meter, tmp_path):
    train, val, test, tokenizer, _ = offline

    def encode(batch):
        return tokenizer(batch["text"], truncation=True, max_length=32, padding="max_length")

    train_t, test_t = (s.map(encode, batched=True, remove_columns=["text"]) for s in (train, test))
    task = _task(
        offline, tmp_path, train_dataset=train_t, test_dataset=test_t, eval_dataset=None,
        tokenizer=None, args=_args(tmp_path, eval_strategy="no"),
    )  # fmt: skip
    task.check()
    record = TrainerRunner(task).run_once(
        StudyConfig(seed=42, batch_size=16), {}, default_registry(), meter=clock_meter,
        fidelity=1.0, seed=42,
    )  # fmt: skip
    kept = RunPredictions.from_run_record(record)
    assert kept is not None and list(kept.labels) == list(test["label"])
    assert record["train_steps"] == math.ceil(ROWS / 16)
    assert set(record["stages"]) == {"data", "tokenize", "load", "train", "validate", "eval"}
