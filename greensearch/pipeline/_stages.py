"""The six stages of one fine-tuning run, each a function of the shared run state.

``data → tokenize → load → train → save → eval``, as in the paper, so per-stage energy
is comparable with its Table I. Validation during training is measured in its own
``validate`` windows (see :class:`_MeteredTrainer`) rather than hidden inside ``train``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.knobs import RunPlan
from greensearch.pipeline._clocks import BatchClock, step_clock
from greensearch.pipeline._eval_subset import eval_indices
from greensearch.pipeline._metrics import Metrics, compute_metrics
from greensearch.schema import STAGES
from greensearch.stats import RunPredictions, split_identity

__all__ = [
    "RunState",
    "STAGES",
    "stage_data",
    "stage_tokenize",
    "stage_load",
    "stage_train",
    "stage_save",
    "stage_eval",
    "eval_split",
    "train_with_args",
]


@dataclass
class RunState:
    """What the stages hand to each other during one run."""

    plan: RunPlan
    output_dir: Path
    show_progress: bool = True
    #: Called as ``pause("train")`` / ``resume("train")`` around validation passes.
    switch_window: Callable[[str, str], None] | None = None
    splits: Any = None
    tokenizer: Any = None
    tokenized: Any = None
    num_labels: int = 0
    model: Any = None
    trainer: Any = None
    train_steps: int = 0
    planned_steps: int = 0
    model_dir: Path | None = None
    metrics: Metrics | None = None
    predictions: RunPredictions | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def stage_data(state: RunState) -> None:
    """Load train/validation/test splits and apply the data knobs (dedup, sampling)."""
    from greensearch.data import load_splits

    study = state.plan.study
    splits = load_splits(
        study.dataset,
        text_column=study.text_column,
        label_column=study.label_column,
        seed=study.seed,
    )
    for hook in state.plan.data_hooks:
        splits = hook(splits)
    if len(splits["train"]) == 0:
        raise ConfigError("the data knobs left no training example; relax them")
    labels = set(splits["train"]["label"]) | set(splits["test"]["label"])
    state.num_labels = max(2, max(labels) + 1)
    state.splits = splits


def stage_tokenize(state: RunState) -> None:
    """Tokenize every split to ``max_length`` (one call per example unless fast_tokenizer)."""
    from greensearch.pipeline._model import load_tokenizer

    plan = state.plan
    tokenizer = load_tokenizer(plan.study)
    pad = "max_length" if plan.padding == "max_length" else False
    max_length = plan.study.max_length

    def encode(batch: dict[str, Any]) -> Any:
        return tokenizer(batch["text"], truncation=True, max_length=max_length, padding=pad)

    state.tokenizer = tokenizer
    with _library_bars(state.show_progress):
        state.tokenized = _tokenize(state, encode)


@contextlib.contextmanager
def _library_bars(show: bool) -> Iterator[None]:
    """Silence the progress bars of datasets and transformers unless progress is wanted."""
    import datasets
    from transformers.utils import logging as hf_logging

    if show:
        yield
        return
    data_on, hf_on = datasets.is_progress_bar_enabled(), hf_logging.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if data_on:
            datasets.enable_progress_bars()
        if hf_on:
            hf_logging.enable_progress_bar()


def _tokenize(state: RunState, encode: Callable[[dict[str, Any]], Any]) -> Any:
    plan = state.plan
    return state.splits.map(
        encode,
        batched=plan.fast_tokenizer,
        batch_size=1000,
        remove_columns=["text"],
        load_from_cache_file=False,
        keep_in_memory=True,
        desc="tokenize",
    )


def stage_load(state: RunState) -> None:
    """Build (or load) the model and apply the model knobs."""
    from transformers import set_seed

    from greensearch.pipeline._model import build_model

    set_seed(state.plan.seed)
    state.model = build_model(state.plan.study, state.plan, state.tokenizer, state.num_labels)


def stage_train(state: RunState) -> None:
    """Fine-tune with the HF Trainer; validation passes are metered separately."""
    from transformers import TrainingArguments

    plan, study = state.plan, state.plan.study
    args: dict[str, Any] = {
        "output_dir": str(state.output_dir / "trainer"),
        "num_train_epochs": study.epochs,
        "per_device_train_batch_size": study.batch_size,
        "per_device_eval_batch_size": study.eval_batch_size,
        "learning_rate": study.learning_rate,
        "weight_decay": study.weight_decay,
        "warmup_steps": 0,
        "lr_scheduler_type": "linear",
        # Pinned: transformers 5 defaults to the fused kernel, which is the optimizer knob.
        "optim": "adamw_torch",
        "seed": plan.seed,
        "data_seed": plan.seed,
        "eval_strategy": "epoch",
        "save_strategy": "no",
        "logging_strategy": "no",
        "report_to": "none",
        "disable_tqdm": not state.show_progress,
        "use_cpu": not _cuda(),
        "dataloader_num_workers": 0,
        "dataloader_pin_memory": False,
    }
    train_with_args(state, args, TrainingArguments, warmup_ratio=study.warmup_ratio)


def _skips_validation(state: RunState, steps: int, steps_per_epoch: int) -> bool:
    """Whether this run leaves out the validation passes it would otherwise make.

    Only where the plan says so, no knob's own arguments set a validation strategy
    (early stopping validates to decide when to stop: its passes are its mechanism), and
    the run's one pass would come after its last step: a pass between epochs draws from
    the random state that later dropout masks draw from, so leaving it out would train
    another model than the run that validated.
    """
    return (
        not state.plan.validate
        and "eval_strategy" not in state.plan.training_args
        and "validation" in state.tokenized
        and steps <= steps_per_epoch
    )


def train_with_args(
    state: RunState,
    args: dict[str, Any],
    arguments: Callable[..., Any],
    *,
    warmup_ratio: float | None = None,
    token_labels: bool = False,
) -> None:
    """Train ``state.model`` on the tokenized splits with ``arguments(**args)``, metered.

    The plan's training arguments, callbacks and fidelity are applied here, so the staged
    pipeline and a user's own ``TrainingArguments`` (``arguments`` then copies them with
    ``dataclasses.replace``) get the knobs the same way.

    Args:
        state: The run; ``tokenized`` holds ``train`` (and ``validation`` when validating).
        args: Arguments before the knobs; needs ``per_device_train_batch_size`` and
            ``num_train_epochs``.
        arguments: Builds the ``TrainingArguments`` from keyword arguments.
        warmup_ratio: Sets ``warmup_steps`` to this share of the planned steps (``None``:
            ``args`` decide).
        token_labels: The splits hold a label per token (token classification): they are
            padded as such, and validation reports its loss only (its F1 is a classifier's).
    """
    from transformers import (
        DataCollatorForTokenClassification,
        DataCollatorWithPadding,
        TrainingArguments,
    )

    plan = state.plan
    args = _current_names({**args, **plan.training_args}, TrainingArguments)
    if not _cuda() and (args.get("bf16") or args.get("fp16")):
        # transformers refuses mixed precision without a GPU unless the arguments say the
        # run is on the CPU; a user's own arguments around a Trainer do not say so
        args["use_cpu"] = True
    steps_per_epoch = math.ceil(
        len(state.tokenized["train"])
        / args["per_device_train_batch_size"]
        / args.get("gradient_accumulation_steps", 1)
    )
    planned = max(1, math.ceil(steps_per_epoch * args["num_train_epochs"]))
    if args.get("max_steps", -1) > 0:  # a user's own step budget is the full run
        planned = int(args["max_steps"])
    state.planned_steps = planned
    if warmup_ratio is not None:
        args["warmup_steps"] = int(round(warmup_ratio * planned))
    if plan.max_steps_fraction < 1.0:
        args["max_steps"] = max(1, math.ceil(planned * plan.max_steps_fraction))
    steps = args["max_steps"] if args.get("max_steps", -1) > 0 else planned
    if _skips_validation(state, steps, steps_per_epoch):
        args["eval_strategy"] = "no"
        state.extra["skipped_windows"] = ["validate"]
    trainer_cls = _metered_trainer_class()
    validation = state.tokenized["validation"] if "validation" in state.tokenized else None
    trainer = trainer_cls(
        model=state.model,
        args=arguments(**args),
        train_dataset=state.tokenized["train"],
        eval_dataset=validation,
        data_collator=(
            None
            if not state.tokenizer
            else DataCollatorForTokenClassification(state.tokenizer)
            if token_labels
            else DataCollatorWithPadding(state.tokenizer)
        ),
        callbacks=[factory() for factory in plan.callbacks],
        compute_metrics=None if token_labels else _validation_metrics,
    )
    trainer.switch_window = state.switch_window
    _quiet_logs(trainer, state.show_progress)
    clock = step_clock()
    trainer.add_callback(clock)
    trainer.validated = clock.exclude
    with _library_bars(state.show_progress):  # checkpoint saves (early_stopping) draw bars
        output = trainer.train()
    state.extra["step_clock"] = clock.summary()
    state.trainer = trainer
    state.train_steps = int(output.global_step)
    state.extra["train_loss"] = float(output.training_loss)


def stage_save(state: RunState) -> None:
    """Write the fine-tuned model and tokenizer so they reload without greensearch."""
    target = state.output_dir / "model"
    with _library_bars(state.show_progress):
        state.trainer.save_model(str(target))
        state.tokenizer.save_pretrained(str(target))
    state.model_dir = target


def stage_eval(state: RunState) -> None:
    """Predict the test split with the plan's engine, score it and keep the predictions.

    The predictions are kept (class per example, positive-class score for binary tasks)
    so that any two runs of a study can later be compared example by example. A short
    run predicts a share of the split (``plan.eval_fraction``, see ``_eval_subset``).
    """
    from greensearch.pipeline._engines import predict_proba

    test, raw = eval_split(state)
    clock = state.extra["eval_clock"] = BatchClock()  # engines tick it per batch
    with _library_bars(state.show_progress):  # engines reload the saved model
        proba = predict_proba(state, test)
    state.extra["eval_clock_summary"] = clock.summary()
    labels = [int(label) for label in test["label"]]
    classes = [int(i) for i in proba.argmax(-1)]
    # a split handed over already tokenized is identified by its token ids
    texts = raw["text"] if "text" in raw.column_names else [str(x) for x in raw["input_ids"]]
    state.metrics = compute_metrics(labels, classes)
    state.predictions = RunPredictions.from_lists(
        split_id=split_identity(texts, labels),
        labels=labels,
        classes=classes,
        scores=[float(p) for p in proba[:, 1]] if proba.shape[-1] == 2 else None,
        seed=state.plan.seed,
    )


def eval_split(state: RunState) -> tuple[Any, Any]:
    """The tokenized and raw test examples this run predicts, their counts recorded.

    A short run predicts ``plan.eval_fraction`` of the split (``_eval_subset``); the
    record keeps ``eval_examples`` and ``test_examples`` so its eval window scales back.
    """
    test, raw = state.tokenized["test"], state.splits["test"]
    picked = eval_indices(len(test), state.plan.eval_fraction, state.plan.study.seed)
    state.extra["test_examples"] = len(test)
    if picked is not None:
        test, raw = test.select(picked), raw.select(picked)
    state.extra["eval_examples"] = len(test)
    return test, raw


def _quiet_logs(trainer: Any, show_progress: bool) -> None:
    """Keep stdout for results: drop the Trainer's metric printing, bar on stderr only."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)
    if show_progress:
        trainer.add_callback(_stderr_progress())


#: Knob vocabulary -> the name transformers 5 gives the same TrainingArguments field (the
#: old names still work there, with a FutureWarning on every run).
_RENAMED = {
    "gradient_checkpointing": "activation_checkpointing",
    "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs",
}


def _current_names(args: dict[str, Any], arguments_cls: type) -> dict[str, Any]:
    """``args`` under this transformers' field names (renamed only where the new one exists)."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(arguments_cls)}
    return {
        (_RENAMED[k] if k in _RENAMED and _RENAMED[k] in fields else k): v for k, v in args.items()
    }


def _stderr_progress() -> Any:
    import sys

    from tqdm import tqdm
    from transformers import TrainerCallback

    class _StderrProgress(TrainerCallback):
        """A training-steps bar on stderr (the Trainer's own prints metric dicts to stdout)."""

        bar: Any = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self.bar = tqdm(
                total=state.max_steps, desc="train", unit="step", file=sys.stderr, leave=False
            )

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.update(state.global_step - self.bar.n)

        def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

    return _StderrProgress()


def _validation_metrics(eval_pred: Any) -> dict[str, float]:
    logits, labels = eval_pred
    preds = logits.argmax(-1).tolist()
    m = compute_metrics(labels.tolist(), preds)
    return {"f1": m.f1, "accuracy": m.accuracy}


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _metered_trainer_class() -> type:
    """A Trainer whose ``evaluate`` closes the train window and opens a validate window."""
    from transformers import Trainer

    class _MeteredTrainer(Trainer):
        switch_window: Callable[[str, str], None] | None = None
        #: Told how long each validation pass took (the step clock leaves it out).
        validated: Callable[[float], None] | None = None

        def evaluate(self, *args: Any, **kwargs: Any) -> Any:
            import time

            start = time.perf_counter()
            try:
                if self.switch_window is None:
                    return super().evaluate(*args, **kwargs)
                self.switch_window("train", "validate")
                try:
                    return super().evaluate(*args, **kwargs)
                finally:
                    self.switch_window("validate", "train")
            finally:
                if self.validated is not None:
                    self.validated(time.perf_counter() - start)

    return _MeteredTrainer
