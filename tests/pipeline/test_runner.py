"""The staged runner: every stage in its own window, validation apart from training."""

from __future__ import annotations

import json
import math

import pytest

from greensearch.pipeline import ALL_WINDOWS, STAGES, run_once, run_variant
from greensearch.pipeline._metrics import compute_metrics
from greensearch.results import read_records


@pytest.fixture(scope="module")
def baseline_record(tiny_csv, tmp_path_factory):
    """One real baseline run of the tiny study under the 10 W clock meter."""
    from greensearch.config import StudyConfig
    from tests.conftest import TINY_ARCH, ClockMeter

    study = StudyConfig(
        name="tiny",
        dataset=str(tiny_csv),
        max_length=64,
        batch_size=16,
        eval_batch_size=64,
        model_config=dict(TINY_ARCH),
        source="<tiny>",
    )
    meter = ClockMeter()
    record = run_once(study, {}, meter=meter, output_dir=tmp_path_factory.mktemp("run"))
    return record, meter


def test_each_stage_is_metered_in_its_own_windows(baseline_record):
    record, meter = baseline_record
    assert list(record["stages"]) == list(ALL_WINDOWS)
    opened = [m.key.split("#")[0] for m in meter.closed]
    assert opened[:3] == ["data", "tokenize", "load"]
    assert opened[-2:] == ["save", "eval"]
    # validation pauses training: train, validate, train again
    assert opened[3:-2] == ["train", "validate", "train"]
    assert not meter.open


def test_stage_figures_add_up_to_the_total(baseline_record):
    record, meter = baseline_record
    total_s = sum(m.duration_s for m in meter.closed)
    assert record["duration_s"] == pytest.approx(total_s)
    assert sum(s["duration_s"] for s in record["stages"].values()) == pytest.approx(total_s)
    # the clock meter draws 10 W: energy is 10 J per second, in kWh
    assert record["energy_kwh"] == pytest.approx(10.0 * total_s / 3.6e6)
    assert record["net_energy_kwh"] == pytest.approx(9.0 * total_s / 3.6e6)
    validate = sum(m.duration_s for m in meter.closed if m.key.startswith("validate"))
    assert record["stages"]["validate"]["duration_s"] == pytest.approx(validate)
    assert validate > 0 and record["stages"]["train"]["duration_s"] > validate


def test_record_has_metrics_meter_and_machine(baseline_record):
    import torch

    from greensearch.machine import describe_machine, read_cpu_facts

    record, _ = baseline_record
    assert set(record["metrics"]) >= {"f1", "f1_weighted", "accuracy", "degenerate"}
    assert record["meter"]["name"] == "fake" and record["meter"]["method"] == "estimated"
    machine = record["machine"]
    assert machine["cpu_model"] == read_cpu_facts().model
    assert machine["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert machine["cpu_threads_used"] == torch.get_num_threads()
    assert machine["fingerprint"] == describe_machine().fingerprint
    assert "device" not in record
    assert record["train_steps"] == record["planned_steps"] == 15  # 240 train rows / 16
    assert record["knobs"] == "" and record["fidelity"] == 1.0


def test_saved_model_reloads_and_predicts(baseline_record):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    record, _ = baseline_record
    model = AutoModelForSequenceClassification.from_pretrained(record["model_dir"])
    tok = AutoTokenizer.from_pretrained(record["model_dir"])
    logits = model(**tok(["int main(void) { return 0; }"], return_tensors="pt")).logits
    assert tuple(logits.shape) == (1, 2)


def test_fidelity_trains_a_fraction_of_the_steps(tiny_study, clock_meter):
    record = run_once(tiny_study, {}, meter=clock_meter, fidelity=0.4)
    assert record["planned_steps"] == 15 and record["train_steps"] == 6
    assert record["fidelity"] == 0.4
    clock = record["step_clock"]  # every optimizer step timed, for per-step extrapolation
    assert clock["n"] == 6 and 0 < clock["total_s"] <= record["stages"]["train"]["duration_s"]


def test_a_short_run_predicts_the_same_share_of_the_test_split(
    tiny_study, clock_meter, monkeypatch
):
    """Short runs predict fidelity x the test split (the floor lowered for this tiny one),
    the same examples whatever the training seed, so they still pair with each other."""
    from greensearch.pipeline import _eval_subset
    from greensearch.stats import RunPredictions

    monkeypatch.setattr(_eval_subset, "MIN_EVAL_EXAMPLES", 4)
    full = run_once(tiny_study, {}, meter=clock_meter, fidelity=1.0, keep_model=False)
    n_test = full["test_examples"]
    assert full["eval_examples"] == n_test and n_test >= 10
    short = [
        run_once(tiny_study, {}, meter=clock_meter, fidelity=0.4, keep_model=False, seed=s)
        for s in (1, 2)
    ]
    want = math.ceil(0.4 * n_test)
    kept = [RunPredictions.from_record(r["predictions"]) for r in short]
    assert [r["eval_examples"] for r in short] == [want, want]
    assert [len(k.labels) for k in kept] == [want, want]
    assert kept[0].split_id == kept[1].split_id
    assert kept[0].split_id != RunPredictions.from_record(full["predictions"]).split_id


def test_repeats_append_each_run_and_summarize(tiny_study, clock_meter, tmp_path):
    results = tmp_path / "results.jsonl"
    summary = run_variant(
        tiny_study,
        {"seq_len": "32"},
        repeats=2,
        meter=clock_meter,
        results_path=results,
        fidelity=0.2,
    )
    lines = list(read_records(results))
    assert [r["repeat"] for r in lines] == [1, 2]
    assert all(r["knobs"] == "seq_len=32" and r["schema_version"] == 1 for r in lines)
    energies = [r["energy_kwh"] for r in lines]
    assert summary["energy_kwh"] == pytest.approx(sum(energies) / 2)
    stats = summary["stats"]["energy_kwh"]
    # two runs: std = |a - b| / sqrt 2, half-width = t(1 dof) x std / sqrt 2 = 12.706 |a - b| / 2
    spread = abs(energies[0] - energies[1])
    assert stats["n"] == 2 and stats["std"] == pytest.approx(spread / math.sqrt(2))
    assert stats["ci95_high"] - stats["mean"] == pytest.approx(12.7062 * spread / 2, rel=1e-4)
    assert stats["mean"] - stats["ci95_low"] == pytest.approx(12.7062 * spread / 2, rel=1e-4)
    assert summary["repeats"] == 2


def test_a_torn_last_line_does_not_lose_earlier_records(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps({"a": 1}) + "\n" + '{"a": 2, "trunc')
    assert [r["a"] for r in read_records(path)] == [1]


@pytest.mark.parametrize(
    ("preds", "degenerate"), [([0] * 99 + [1], True), ([0] * 98 + [1] * 2, False)]
)
def test_degenerate_flag_at_99_percent_one_class(preds, degenerate):
    labels = [0] * 90 + [1] * 10
    assert compute_metrics(labels, preds).degenerate is degenerate


def test_all_negative_predictions_score_like_the_paper_but_f1_zero():
    labels = [0] * 95 + [1] * 5
    m = compute_metrics(labels, [0] * 100)
    assert m.f1 == 0.0 and m.degenerate
    assert m.f1_weighted == pytest.approx(0.95 * 2 * 0.95 / 1.95)  # weighted F1 flatters it
    assert m.accuracy == pytest.approx(0.95)


def test_positive_class_f1_worked_out_by_hand():
    # tp=2, fp=1, fn=2 -> precision 2/3, recall 1/2, F1 = 2*(2/3*1/2)/(2/3+1/2) = 4/7
    labels = [1, 1, 1, 1, 0, 0]
    preds = [1, 1, 0, 0, 1, 0]
    assert compute_metrics(labels, preds).f1 == pytest.approx(4 / 7)


def test_stages_constant_matches_the_paper():
    assert STAGES == ("data", "tokenize", "load", "train", "save", "eval")


def test_checkpointing_args_take_this_transformers_names() -> None:
    """transformers 5 renamed gradient_* to activation_* (old names warn on every run)."""
    from dataclasses import dataclass, field

    from greensearch.pipeline._stages import _current_names

    @dataclass
    class New:
        gradient_checkpointing: bool = False
        activation_checkpointing: bool = False
        activation_checkpointing_kwargs: dict = field(default_factory=dict)

    @dataclass
    class Old:
        gradient_checkpointing: bool = False

    args = {"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"x": 1}, "seed": 1}
    assert _current_names(args, New) == {
        "activation_checkpointing": True,
        "activation_checkpointing_kwargs": {"x": 1},
        "seed": 1,
    }
    assert _current_names(args, Old) == args


def test_checkpoint_saves_inside_training_draw_no_bars(tiny_study, clock_meter, capfd):
    """early_stopping saves a checkpoint per validation; no library bar may reach stderr."""
    record = run_once(tiny_study, {"early_stopping": "2:0.5"}, meter=clock_meter)
    assert record["train_steps"] > 0
    err = capfd.readouterr().err
    assert "Writing model shards" not in err and "it/s]" not in err


def test_record_keeps_its_predictions_on_the_test_split(baseline_record):
    from greensearch.stats import RunPredictions

    record, _ = baseline_record
    kept = RunPredictions.from_run_record(record)
    assert kept is not None and kept.seed == record["seed"] == 42
    assert record["split_seed"] == 42
    assert kept.n == record["metrics"]["n"]
    # The kept predictions reproduce the record's F1 exactly, and scores agree with classes.
    assert compute_metrics(kept.labels.tolist(), kept.classes.tolist()).f1 == pytest.approx(
        record["metrics"]["f1"]
    )
    assert kept.scores is not None
    assert ((kept.scores >= 0.5) == (kept.classes == 1)).mean() > 0.99  # float16 rounding


def test_seeded_repeats_train_differently_on_one_split(tiny_study, clock_meter):
    from greensearch.stats import RunPredictions

    summary = run_variant(tiny_study, {}, repeats=2, meter=clock_meter, fidelity=0.4)
    first, second = summary["runs"]
    assert [first["seed"], second["seed"]] == [42, 43] == summary["seeds"]
    assert summary["seed_mode"] == "seeded" and summary["metrics"]["n_seeds"] == 2
    a, b = (RunPredictions.from_run_record(r) for r in (first, second))
    assert a is not None and b is not None
    assert a.split_id == b.split_id  # the split keeps the study's seed
    assert first["train_loss"] != second["train_loss"]  # training did not
    low, high = summary["metrics"]["f1_ci95"]
    assert low < summary["metrics"]["f1"] < high


def test_same_seed_repeats_train_identically(tiny_study, clock_meter):
    summary = run_variant(
        tiny_study, {}, repeats=2, meter=clock_meter, fidelity=0.4, same_seed=True
    )
    first, second = summary["runs"]
    assert first["seed"] == second["seed"] == 42 and summary["seed_mode"] == "same"
    assert first["train_loss"] == second["train_loss"]
    assert first["predictions"]["classes"] == second["predictions"]["classes"]
    assert summary["metrics"]["n_seeds"] == 1


def test_t_critical_is_students_t():
    from greensearch.pipeline._summary import describe, t_critical

    assert t_critical(1) == pytest.approx(12.7062, abs=1e-4)
    assert t_critical(40) == pytest.approx(2.0211, abs=1e-4)
    # mean 2, std 1, n 3: half-width t(2) * 1 / sqrt(3)
    d = describe([1.0, 2.0, 3.0])
    assert d["std"] == pytest.approx(1.0)
    assert d["ci95_high"] - 2.0 == pytest.approx(4.302653 / 3**0.5, rel=1e-6)


@pytest.mark.parametrize(("epochs", "skips"), [(1.0, True), (2.0, False)])
def test_a_run_leaves_out_only_validation_that_nothing_after_it_depends_on(
    tiny_study, epochs, skips
):
    """With dropout on, a run that leaves out its one validation pass (after its last
    step) trains and predicts exactly as the run that made it; a pass between epochs
    draws from the random state later dropout masks draw from, so that one is kept."""
    import dataclasses

    from tests.conftest import ClockMeter

    dropout = {"attention_dropout": 0.1, "mlp_dropout": 0.1, "embedding_dropout": 0.1}
    study = dataclasses.replace(
        tiny_study, epochs=epochs, model_config={**tiny_study.model_config, **dropout}
    )
    runs = {
        validate: run_once(
            study, {}, meter=ClockMeter(), fidelity=0.6, keep_model=False, validate=validate
        )
        for validate in (True, False)
    }
    assert "validate" in runs[True]["stages"] and runs[True]["skipped_windows"] == []
    assert ("validate" not in runs[False]["stages"]) is skips
    assert runs[False]["skipped_windows"] == (["validate"] if skips else [])
    assert runs[False]["train_loss"] == runs[True]["train_loss"]
    assert runs[False]["predictions"] == runs[True]["predictions"]
    # dropout is on: another seed trains another model (so "exactly" means something)
    other = run_once(study, {}, meter=ClockMeter(), fidelity=0.6, keep_model=False, seed=7)
    assert other["train_loss"] != runs[True]["train_loss"]


def test_early_stopping_keeps_the_validation_it_stops_by(tiny_study, clock_meter):
    record = run_once(
        tiny_study,
        {"early_stopping": "2:0.5"},
        meter=clock_meter,
        keep_model=False,
        validate=False,
    )
    assert "validate" in record["stages"] and record["skipped_windows"] == []


@pytest.mark.parametrize("bundle", [{}, {"quantization": "int8"}])
def test_the_eval_stage_times_each_predicted_batch(tiny_study, clock_meter, bundle):
    import dataclasses

    study = dataclasses.replace(tiny_study, eval_batch_size=8)
    record = run_once(study, bundle, meter=clock_meter, fidelity=0.4, keep_model=False)
    clock, examples = record["eval_clock"], record["eval_examples"]
    assert clock["batch_size"] == 8
    assert clock["n"] == math.ceil(examples / 8) >= 3
    assert 0 < clock["steady_s"] and clock["total_s"] <= record["stages"]["eval"]["duration_s"]
