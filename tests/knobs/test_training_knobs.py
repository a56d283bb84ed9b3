"""Training knobs change exactly the TrainingArguments (or batch size) they declare."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, KnobUnavailableError
from greensearch.knobs import RunPlan, default_registry
from tests.conftest import positive_f1
from tests.knobs._plans import changed

STUDY = StudyConfig(name="unit", batch_size=16, source="<unit>")


def plan(bundle: dict[str, str], *, check_available: bool = True) -> RunPlan:
    """The plan of ``bundle``; ``check_available=False`` plans knobs this machine lacks."""
    registry = default_registry()
    p = RunPlan(study=STUDY)
    for item in registry.resolve(bundle, study=STUDY, check_available=check_available):
        item.knob.apply(p, item.value)
    return p


def training_arguments(p: RunPlan, tmp_path: Path) -> Any:
    """Real TrainingArguments with the stage's baseline values, so key typos fail here."""
    from transformers import TrainingArguments

    args = {
        "output_dir": str(tmp_path),
        "use_cpu": True,
        "eval_strategy": "epoch",
        "save_strategy": "no",
        "report_to": "none",
        "optim": "adamw_torch",
        "lr_scheduler_type": "linear",
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
        "per_device_train_batch_size": p.study.batch_size,
    }
    return TrainingArguments(**{**args, **p.training_args})


def plain(value: Any) -> Any:
    """TrainingArguments turns some strings into enums; compare their values."""
    return getattr(value, "value", value)


EARLY = {
    "training_args.eval_strategy",
    "training_args.eval_steps",
    "training_args.save_strategy",
    "training_args.save_steps",
    "training_args.save_total_limit",
    "training_args.load_best_model_at_end",
    "training_args.metric_for_best_model",
    "training_args.greater_is_better",
    "callbacks+1",
}


@pytest.mark.parametrize(
    ("bundle", "expected"),
    ids=str,
    argvalues=[
        ({"batch_size": "32"}, {"study.batch_size"}),
        ({"grad_accumulation": "2"}, {"training_args.gradient_accumulation_steps"}),
        (
            {"grad_accumulation": "4:keep_effective"},
            {"training_args.gradient_accumulation_steps", "study.batch_size"},
        ),
        ({"lr_schedule": "cosine"}, {"training_args.lr_scheduler_type"}),
        ({"early_stopping": "2"}, EARLY),
        ({"optimizer": "adafactor"}, {"training_args.optim"}),
        ({"optimizer": "adamw_torch_fused"}, {"training_args.optim"}),
        ({"pin_memory": "on"}, {"training_args.dataloader_pin_memory"}),
        ({"dataloader_workers": "4"}, {"training_args.dataloader_num_workers"}),
    ],
)
def test_knob_changes_only_what_it_declares(bundle: dict[str, str], expected: set[str]) -> None:
    p = plan(bundle, check_available=False)
    assert changed(plan({}), p) == expected
    assert len(p.notes) == 1 and p.notes[0].startswith(next(iter(bundle)))


@pytest.mark.parametrize(
    ("bundle", "attr", "value"),
    ids=str,
    argvalues=[
        ({"batch_size": "32"}, "per_device_train_batch_size", 32),
        ({"grad_accumulation": "2"}, "gradient_accumulation_steps", 2),
        ({"lr_schedule": "cosine"}, "lr_scheduler_type", "cosine"),
        ({"lr_schedule": "constant_with_warmup"}, "lr_scheduler_type", "constant_with_warmup"),
        ({"optimizer": "adamw_torch_fused"}, "optim", "adamw_torch_fused"),
        ({"optimizer": "adafactor"}, "optim", "adafactor"),
        ({"optimizer": "sgd"}, "optim", "sgd"),
        ({"dataloader_workers": "4"}, "dataloader_num_workers", 4),
        ({"early_stopping": "3:0.05"}, "eval_steps", 0.05),
    ],
)
def test_training_arguments_take_the_value(
    bundle: dict[str, str], attr: str, value: Any, tmp_path: Path
) -> None:
    args = training_arguments(plan(bundle, check_available=False), tmp_path)
    assert plain(getattr(args, attr)) == value
    baseline = training_arguments(plan({}), tmp_path)
    assert plain(getattr(baseline, attr)) != value


def test_loader_knobs_change_only_their_loader_setting(tmp_path: Path) -> None:
    pinned = plan({"pin_memory": "on"}, check_available=False)
    assert pinned.training_args == {"dataloader_pin_memory": True}
    workers = plan({"dataloader_workers": "4"})
    assert workers.training_args == {"dataloader_num_workers": 4}
    args = training_arguments(workers, tmp_path)
    assert (args.dataloader_pin_memory, args.dataloader_num_workers) == (False, 4)
    assert (args.fp16, args.bf16) == (False, False)  # unlike the paper's V10: no FP16


def test_pinning_means_nothing_on_cpu(tmp_path: Path) -> None:
    """Why pin_memory needs CUDA: on a CPU run transformers drops the setting itself."""
    args = training_arguments(plan({"pin_memory": "on"}, check_available=False), tmp_path)
    assert args.dataloader_pin_memory is False


def test_grad_accumulation_modes() -> None:
    same = plan({"grad_accumulation": "2"})
    assert (same.study.batch_size, same.training_args["gradient_accumulation_steps"]) == (16, 2)
    keep = plan({"grad_accumulation": "4:keep_effective"})
    assert (keep.study.batch_size, keep.training_args["gradient_accumulation_steps"]) == (4, 4)
    both = plan({"batch_size": "32", "grad_accumulation": "4:keep_effective"})
    assert both.study.batch_size == 8  # batch_size applies first: 32 / 4
    with pytest.raises(ConfigError, match=r"grad_accumulation.*\(16\) divisible by steps \(3\)"):
        plan({"grad_accumulation": "3:keep_effective"})


def test_early_stopping_arguments_and_callback(tmp_path: Path) -> None:
    from transformers import EarlyStoppingCallback

    p = plan({"early_stopping": "3:0.05"})
    args = training_arguments(p, tmp_path)
    assert (args.eval_strategy, args.save_strategy) == ("steps", "steps")
    assert (args.eval_steps, args.save_steps) == (0.05, 0.05)
    assert args.load_best_model_at_end and args.metric_for_best_model == "f1"
    assert args.greater_is_better is True
    callback = p.callbacks[0]()
    assert isinstance(callback, EarlyStoppingCallback)
    assert callback.early_stopping_patience == 3


def test_adamw_8bit_needs_bitsandbytes_and_cuda() -> None:
    knob = default_registry().get("optimizer")
    reason = knob.unavailable_reason(knob.parse("adamw_8bit"))
    assert reason is not None and ("bitsandbytes" in reason or "CUDA" in reason)
    assert knob.unavailable_reason(knob.parse("adafactor")) is None
    with pytest.raises(KnobUnavailableError, match="optimizer=adamw_8bit"):
        default_registry().plan(STUDY, {"optimizer": "adamw_8bit"})


def test_pin_memory_is_unavailable_without_cuda() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "CUDA" in (default_registry().get("pin_memory").unavailable_reason() or "")
    with pytest.raises(KnobUnavailableError, match="pin_memory.*CUDA"):
        default_registry().plan(STUDY, {"pin_memory": "on"})


# --- end to end on the tiny study ------------------------------------------------------


def tiny_train_size(study: StudyConfig) -> int:
    from greensearch.data import load_splits

    return len(
        load_splits(
            study.dataset,
            text_column=study.text_column,
            label_column=study.label_column,
            seed=study.seed,
        )["train"]
    )


def optimizer_kind(optimizer: Any) -> tuple[str, bool]:
    """The optimizer's class and whether it runs the fused kernel."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps it
    return type(inner).__name__, bool(inner.defaults.get("fused"))


@pytest.mark.parametrize(
    ("bundle", "micro_batch", "accumulation", "optimizer"),
    ids=str,
    argvalues=[
        ({}, 16, 1, ("AdamW", False)),  # pinned: transformers 5 would default to fused
        ({"batch_size": "32"}, 32, 1, ("AdamW", False)),
        ({"grad_accumulation": "2"}, 16, 2, ("AdamW", False)),
        ({"grad_accumulation": "4:keep_effective"}, 4, 4, ("AdamW", False)),
        ({"lr_schedule": "cosine"}, 16, 1, ("AdamW", False)),
        ({"optimizer": "adamw_torch_fused"}, 16, 1, ("AdamW", True)),
        ({"optimizer": "adafactor"}, 16, 1, ("Adafactor", False)),
        ({"dataloader_workers": "2"}, 16, 1, ("AdamW", False)),
    ],
)
def test_training_knob_runs_end_to_end(
    bundle: dict[str, str],
    micro_batch: int,
    accumulation: int,
    optimizer: tuple[str, bool],
    tiny_study: StudyConfig,
    clock_meter: Any,
    trainers: list[Any],
) -> None:
    import math

    from greensearch.pipeline import run_once

    n_train = tiny_train_size(tiny_study)
    record = run_once(tiny_study, bundle, meter=clock_meter, fidelity=0.5, keep_model=False)
    assert record["knobs"] == default_registry().canonical(bundle)
    planned = math.ceil(n_train / micro_batch / accumulation)
    assert record["planned_steps"] == planned
    assert record["train_steps"] == math.ceil(planned * 0.5)
    assert math.isfinite(record["train_loss"])
    assert [optimizer_kind(t.optimizer) for t in trainers] == [optimizer]
    assert record["metrics"]["f1"] == pytest.approx(positive_f1(record))


def test_early_stopping_validates_every_fraction_end_to_end(
    tiny_study: StudyConfig, clock_meter: Any
) -> None:
    from greensearch.pipeline import run_once

    record = run_once(tiny_study, {"early_stopping": "1:0.25"}, meter=clock_meter, keep_model=False)
    validations = [m for m in clock_meter.closed if m.key.startswith("validate#")]
    # transformers turns a fractional eval_steps into ceil(fraction * max_steps)
    interval = -(-record["planned_steps"] // 4)
    assert len(validations) == record["train_steps"] // interval >= 2  # baseline: 1 per epoch
    assert record["stages"]["validate"]["duration_s"] > 0
    assert record["train_steps"] <= record["planned_steps"]
