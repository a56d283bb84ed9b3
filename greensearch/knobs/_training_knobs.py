"""Training-phase knobs: batching, schedule, optimizer, stopping and the data loader.

Every knob here edits ``plan.training_args`` (merged last into ``TrainingArguments``) or
the study's batch size, so what a knob changed is visible in the plan before any run.
"""

from __future__ import annotations

from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Requirement, Value

__all__ = ["KNOBS", "OPTIMIZERS", "SCHEDULES"]

#: Optimizers (``TrainingArguments.optim``) and what each needs beyond the CPU baseline.
#: The baseline is plain ``adamw_torch`` (the pipeline pins it: transformers 5 would
#: otherwise default to the fused kernel and this knob's first value would do nothing).
OPTIMIZERS: dict[str, tuple[Requirement, ...]] = {
    "adamw_torch_fused": (),
    "adafactor": (),
    "sgd": (),
    "adamw_8bit": (Requirement("package", "bitsandbytes"), Requirement("cuda")),
}
#: Learning-rate schedules other than the baseline's ``linear``.
SCHEDULES: tuple[str, ...] = (
    "cosine",
    "constant",
    "constant_with_warmup",
    "cosine_with_restarts",
    "polynomial",
    "inverse_sqrt",
)


def _apply_batch_size(plan: RunPlan, value: Value) -> None:
    plan.study = plan.study.replace(batch_size=value["n"])
    plan.note(f"batch_size: per-device train batch {value['n']}")


def _apply_grad_accumulation(plan: RunPlan, value: Value) -> None:
    steps, mode = value["steps"], value["mode"]
    plan.training_args["gradient_accumulation_steps"] = steps
    if mode == "keep_effective":
        batch = plan.study.batch_size
        if batch % steps:
            raise ConfigError(
                f"knob 'grad_accumulation': keep_effective needs batch_size ({batch}) divisible "
                f"by steps ({steps}); pick steps dividing {batch}"
            )
        plan.study = plan.study.replace(batch_size=batch // steps)
        plan.note(
            f"grad_accumulation: {steps} micro-batches of {batch // steps} "
            f"(effective batch {batch} kept)"
        )
    else:
        plan.note(
            f"grad_accumulation: {steps} steps, per-device batch kept "
            f"(effective batch x{steps}, optimizer steps /{steps})"
        )


def _apply_lr_schedule(plan: RunPlan, value: Value) -> None:
    plan.training_args["lr_scheduler_type"] = value["kind"]
    plan.note(f"lr_schedule: {value['kind']} (baseline linear)")


def _apply_early_stopping(plan: RunPlan, value: Value) -> None:
    patience, every = value["patience"], value["every"]
    plan.training_args.update(
        {
            "eval_strategy": "steps",
            "eval_steps": every,
            "save_strategy": "steps",
            "save_steps": every,
            "save_total_limit": 2,
            "load_best_model_at_end": True,
            "metric_for_best_model": "f1",
            "greater_is_better": True,
        }
    )
    plan.callbacks.append(lambda: _early_stopping_callback(patience))
    plan.note(
        f"early_stopping: validate every {every:g} of training, stop after {patience} "
        "evaluations without a better f1, keep the best checkpoint"
    )


def _early_stopping_callback(patience: int) -> Any:
    from transformers import EarlyStoppingCallback

    return EarlyStoppingCallback(early_stopping_patience=patience)


def _apply_optimizer(plan: RunPlan, value: Value) -> None:
    plan.training_args["optim"] = value["name"]
    plan.note(f"optimizer: {value['name']} (baseline adamw_torch)")


def _apply_pin_memory(plan: RunPlan, value: Value) -> None:
    plan.training_args["dataloader_pin_memory"] = True
    plan.note("pin_memory: page-locked host batches for faster host-to-GPU copies")


def _apply_dataloader_workers(plan: RunPlan, value: Value) -> None:
    plan.training_args["dataloader_num_workers"] = value["n"]
    plan.note(f"dataloader_workers: {value['n']} loader processes (baseline: main process)")


KNOBS: tuple[Knob, ...] = (
    Knob(
        name="batch_size",
        phase="training",
        targets=("compute",),
        costs=("memory",),
        description="per-device train batch N: fewer, fuller steps for more activation memory",
        params=(Param("n", int, 32, low=1, high=4096),),
        search_values=("32", "64"),
        apply=_apply_batch_size,
        windows=("train",),  # validation and test predictions keep the study's eval batch
    ),
    Knob(
        name="grad_accumulation",
        phase="training",
        targets=("memory",),
        costs=("compute",),
        description="accumulate N micro-batches per optimizer step; 'same_batch' (paper V25) "
        "keeps the per-device batch (effective batch xN), 'keep_effective' "
        "divides it by N (less memory, more, smaller steps)",
        params=(
            Param("steps", int, 2, low=2, high=64),
            Param("mode", str, "same_batch", choices=("same_batch", "keep_effective")),
        ),
        search_values=("2", "4", "2:keep_effective"),
        apply=_apply_grad_accumulation,
        windows=("train",),
    ),
    Knob(
        name="lr_schedule",
        phase="training",
        targets=("compute",),
        description="learning-rate schedule instead of linear decay; saves energy only by "
        "reaching the F1 in fewer steps (with early_stopping or fewer epochs)",
        params=(Param("kind", str, "cosine", choices=SCHEDULES),),
        search_values=("cosine", "constant"),
        apply=_apply_lr_schedule,
        windows=("train",),
    ),
    Knob(
        name="early_stopping",
        phase="training",
        targets=("compute",),
        costs=("io",),
        description="validate every FRACTION of training, stop after PATIENCE evaluations "
        "without better f1, reload the best checkpoint (validation is metered "
        "in its own window; checkpoints cost io)",
        params=(
            Param("patience", int, 2, low=1, high=50),
            Param("every", float, 0.1, low=0.01, high=0.5),
        ),
        search_values=("2", "3:0.05"),
        apply=_apply_early_stopping,
        windows=("train", "validate"),  # its checkpoints are saved inside training
    ),
    Knob(
        name="optimizer",
        phase="training",
        targets=("compute", "memory"),
        description="optimizer instead of adamw_torch: fused AdamW, Adafactor (factored "
        "state), SGD, 8-bit AdamW (bitsandbytes + CUDA)",
        params=(Param("name", str, "adamw_torch_fused", choices=tuple(OPTIMIZERS)),),
        search_values=("adamw_torch_fused", "adafactor"),
        value_needs={name: needs for name, needs in OPTIMIZERS.items() if needs},
        apply=_apply_optimizer,
        windows=("train",),
    ),
    Knob(
        name="pin_memory",
        phase="training",
        targets=("io",),
        description="pin data-loader memory for faster host-to-GPU copies (nothing else: "
        "unlike the paper's V10, no FP16 and no workers)",
        needs=(Requirement("cuda"),),
        apply=_apply_pin_memory,
        windows=("train", "validate", "eval"),  # the Trainer's loaders
        numerics=False,  # the same batches, copied sooner
    ),
    Knob(
        name="dataloader_workers",
        phase="training",
        targets=("io",),
        costs=("compute",),
        description="prepare batches in N loader processes (paper V10/V23: 4); each costs "
        "a CPU process",
        params=(Param("n", int, 4, low=1, high=64),),
        search_values=("2", "4"),
        apply=_apply_dataloader_workers,
        windows=("train", "validate", "eval"),  # the Trainer's loaders
        numerics=False,  # the sampler fixes the order
    ),
)
