"""What a user's Trainer set-up hands to greensearch, and which knobs can reach it.

A knob lands where it belongs around a user's Trainer (``TrainingArguments`` fields, the
model ``model_init`` returns, the datasets through the tokenizer); one that cannot reach
what was handed over is left out of the search with its reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.knobs import KnobRegistry, default_registry

__all__ = ["SCORED_METRICS", "TRAINER_METRICS", "KnobFit", "TrainerTask", "fit_knobs", "study_of"]

#: Knobs that change the data through the tokenizer: they need a text column.
_TEXT_KNOBS = ("seq_len", "dedup", "fast_tokenizer", "dynamic_padding", "group_by_length")
#: Knobs that operate on the encoder's layer list.
_LAYER_KNOBS = ("layer_prune", "freeze", "lora")
#: The metrics a Trainer task is judged on.
TRAINER_METRICS = ("f1", "entity_f1", "exact_match", "accuracy")
#: Metrics that are the mean of the scores ``score_test`` gives each test example (a
#: generative task: the user decodes and compares, greensearch keeps the scores).
SCORED_METRICS = ("exact_match", "accuracy")
#: Knobs that never apply around a user's Trainer, and why.
_NEVER = {
    "quantization": "model_init builds the model: nf4 quantizes while loading a checkpoint, "
    "and int8 is an eval engine of the staged pipeline's saved model",
    "inference_engine": "your Trainer predicts the test split; the other engines start from "
    "the staged pipeline's saved model",
}


@dataclass(frozen=True, slots=True)
class TrainerTask:
    """What a Trainer script hands to :func:`search`.

    Attributes:
        model_init: Returns a fresh model (a classifier, or any model ``score_test``
            scores), once per run, seeded.
        args: The ``TrainingArguments`` of the baseline.
        train_dataset: Training split (``datasets.Dataset``).
        eval_dataset: Validation split, or ``None`` (no validation, no early stopping).
        test_dataset: The split every run is scored on, example by example.
        tokenizer: Tokenizes ``text_column``; ``None`` when the datasets are tokenized.
        text_column: Column of raw text (absent: the datasets are already tokenized).
        label_column: Column of integer class labels (token classification: a label id
            per token, -100 where a token is not scored).
        max_length: Token budget per example of the baseline.
        metric: ``f1`` (a sequence classifier), ``entity_f1`` (a token classifier whose
            ``config.id2label`` names BIO tags, judged as seqeval scores it), or
            ``exact_match``/``accuracy`` (any model, a generative one included, scored
            per test example by ``score_test``).
        score_test: ``score_test(model, test_dataset)`` -> one score in [0, 1] per
            example of ``test_dataset`` (the share of the test split the run predicts);
            read with ``exact_match``/``accuracy`` only.
    """

    model_init: Callable[[], Any]
    args: Any
    train_dataset: Any
    eval_dataset: Any
    test_dataset: Any
    tokenizer: Any
    text_column: str = "text"
    label_column: str = "label"
    max_length: int = 512
    metric: str = "f1"
    score_test: Callable[[Any, Any], Sequence[float]] | None = None

    @property
    def has_text(self) -> bool:
        """The datasets hold raw text greensearch tokenizes (else token ids)."""
        return self.text_column in self.train_dataset.column_names

    def check(self) -> None:
        """Refuse what cannot run, before any energy is spent.

        Raises:
            ConfigError: a missing split, a missing column, no tokenizer for raw text,
                ``args`` not a ``TrainingArguments``, ``model_init`` not callable.
        """
        from transformers import TrainingArguments

        if self.metric not in TRAINER_METRICS:
            raise ConfigError(
                f"metric={self.metric!r} is not judged around a Trainer; use "
                f"{' or '.join(TRAINER_METRICS)} (other tasks: greensearch optimize --script)"
            )
        if self.metric == "entity_f1" and self.has_text:
            raise ConfigError(
                "metric='entity_f1' needs tokenized datasets (input_ids and a label id per "
                f"token), not raw text in '{self.text_column}'; tokenize and align the labels"
            )
        if self.metric in SCORED_METRICS:
            if not callable(self.score_test):
                raise ConfigError(
                    f"metric={self.metric!r} is the mean of per-example scores: pass "
                    "score_test=f, f(model, test_dataset) returning one score in [0, 1] "
                    "per example"
                )
            if self.has_text:
                raise ConfigError(
                    f"metric={self.metric!r} trains on tokenized datasets (input_ids and "
                    f"labels), not raw text in '{self.text_column}'; tokenize them first"
                )
        elif self.score_test is not None:
            raise ConfigError(
                f"score_test is read with metric='exact_match' or 'accuracy', not "
                f"{self.metric!r}; drop it or name the metric it scores"
            )
        if not callable(self.model_init):
            raise ConfigError("model_init must be a function returning a fresh model")
        if not isinstance(self.args, TrainingArguments):
            raise ConfigError(f"args must be a TrainingArguments, got {type(self.args).__name__}")
        strategy = getattr(self.args.eval_strategy, "value", self.args.eval_strategy)
        if self.eval_dataset is None and strategy != "no":
            raise ConfigError(
                f"args.eval_strategy is '{strategy}' but no eval_dataset is given; pass one "
                "or set eval_strategy='no'"
            )
        splits = {"train_dataset": self.train_dataset, "test_dataset": self.test_dataset}
        if self.eval_dataset is not None:
            splits["eval_dataset"] = self.eval_dataset
        for name, split in splits.items():
            if split is None:
                raise ConfigError(
                    f"{name} is missing; every run is scored example by example on a "
                    "test_dataset the search never trains on"
                )
            columns = getattr(split, "column_names", None)
            if columns is None:
                raise ConfigError(f"{name} must be a datasets.Dataset, got {type(split).__name__}")
            if self.label_column not in columns:
                raise ConfigError(
                    f"{name} has no label column '{self.label_column}' (it has "
                    f"{', '.join(columns)}); pass label_column="
                )
            text = self.text_column in columns
            if text != self.has_text:
                raise ConfigError(f"{name} and train_dataset differ in '{self.text_column}'")
            if not text and "input_ids" not in columns:
                raise ConfigError(
                    f"{name} has neither a text column '{self.text_column}' nor input_ids; "
                    "pass text_column="
                )
        if self.has_text and self.tokenizer is None:
            raise ConfigError(
                f"the datasets hold raw text ('{self.text_column}'): pass tokenizer= to tokenize it"
            )
        if self.max_length < 1:
            raise ConfigError(f"max_length must be at least 1, got {self.max_length}")


@dataclass(frozen=True, slots=True)
class KnobFit:
    """The knobs that apply to a :class:`TrainerTask`.

    Attributes:
        registry: The applicable knobs (what the search samples from).
        left_out: Knob name -> why it cannot apply here.
    """

    registry: KnobRegistry
    left_out: dict[str, str]


def fit_knobs(task: TrainerTask, model: Any, registry: KnobRegistry | None = None) -> KnobFit:
    """Keep the knobs of ``registry`` that can apply to ``task`` and its ``model``."""
    registry = registry if registry is not None else default_registry()
    left_out = {name: why for name, why in _NEVER.items() if name in registry}
    if not task.has_text:
        for name in _TEXT_KNOBS:
            left_out[name] = (
                f"the datasets are already tokenized (no '{task.text_column}' column); "
                "hand over raw text and a tokenizer to search it"
            )
    if task.eval_dataset is None:
        left_out["early_stopping"] = "no eval_dataset to stop on"
    elif task.metric != "f1":
        left_out["early_stopping"] = (
            "it stops on a classifier's validation F1; this task's validation reports its loss only"
        )
    try:
        from greensearch.knobs._model_surgery import encoder_layers, layer_linear_names

        encoder_layers(model)
        linear = layer_linear_names(model)
    except (ValueError, AttributeError) as err:
        for name in _LAYER_KNOBS:
            left_out[name] = f"no encoder layer list in {type(model).__name__}: {err}"
    else:
        if task.metric in SCORED_METRICS:
            left_out["lora"] = (
                "greensearch's LoRA adapts a classifier and trains its head in full; a model "
                f"scored by {task.metric} has no such head"
            )
        elif not linear:
            left_out["lora"] = (
                f"no torch Linear in {type(model).__name__}'s layers for LoRA to adapt"
            )
    if not hasattr(model, "set_attn_implementation"):
        left_out["attention"] = f"{type(model).__name__} cannot switch its attention kernel"
    fit = KnobRegistry()
    for knob in registry:
        if knob.name not in left_out:
            fit.register(knob)
    return KnobFit(registry=fit, left_out={k: left_out[k] for k in sorted(left_out)})


def study_of(task: TrainerTask, *, name: str, model_config_dir: Path) -> StudyConfig:
    """The study a Trainer task stands for: the limits the knobs are checked against."""
    args = task.args
    return StudyConfig(
        name=name,
        model=str(model_config_dir),
        dataset="<datasets handed to greensearch.hf.search>",
        text_column=task.text_column,
        label_column=task.label_column,
        max_length=task.max_length,
        epochs=float(args.num_train_epochs),
        batch_size=int(args.per_device_train_batch_size),
        eval_batch_size=int(args.per_device_eval_batch_size),
        learning_rate=float(args.learning_rate),
        weight_decay=float(args.weight_decay),
        warmup_ratio=0.0,
        seed=int(args.seed),
        # tokenized datasets: no tokenizer to check ("embedded:" names none to load)
        tokenizer="" if task.tokenizer is not None else "embedded:none",
        source=f"hf:{name}",
    )
