"""The run plan: every setting a knob may change, filled in before any stage runs.

Knobs never copy the pipeline. Each knob's ``apply`` edits one :class:`RunPlan` (plain
fields, or hooks that run at the right stage), and the pipeline reads the plan. A bundle
is therefore data, and two knobs compose by editing different fields or adding hooks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from greensearch.config import StudyConfig

__all__ = ["RunPlan", "DataHook", "ModelHook", "EvalEngine"]

#: Runs after the ``data`` stage loaded the splits; returns the changed splits.
DataHook = Callable[[Any], Any]
#: Runs in the ``load`` stage after the model is built; returns the (possibly wrapped) model.
ModelHook = Callable[[Any, "RunPlan"], Any]
EvalEngine = Literal["torch", "onnx", "int8", "vllm"]


@dataclass
class RunPlan:
    """What one run will do; the baseline plan is the study with no knob applied.

    Attributes:
        study: The task, after knobs that change study values (``seq_len``, ``batch_size``).
        data_hooks: Applied in order to the loaded ``DatasetDict`` (dedup, sampling).
        fast_tokenizer: Tokenize in batches with the Rust tokenizer (baseline: one call per
            example, the slow path most scripts take).
        padding: ``max_length`` pads every example to the budget (baseline); ``longest``
            pads each batch to its longest member (dynamic padding).
        model_kwargs: Extra keyword arguments for building the model (attention kernel,
            dtype, quantization config).
        model_hooks: Applied in order after the model is built (prune, LoRA, freezing).
        training_args: Overrides merged into ``transformers.TrainingArguments``.
        callbacks: Factories of ``TrainerCallback`` objects (early stopping).
        eval_engine: Engine for the ``eval`` stage.
        run_contexts: Context-manager factories entered around the whole run (power limit);
            their ``__exit__`` restores the machine even when a stage crashes.
        max_steps_fraction: Train on this fraction of the planned steps (multi-fidelity).
        eval_fraction: Predict this share of the test split (at least
            ``greensearch.pipeline.MIN_EVAL_EXAMPLES``): a short search run's F1 resolves
            only large losses, and predicting every test example would cost it as much
            as its training. The eval window is scaled back to the whole split.
        validate: Run the study's validation passes during training. A short search run
            leaves them out unless a knob's own training arguments ask for them (early
            stopping): nothing in a short run reads them, and the search estimates the
            window from the runs that measured it (``greensearch.search._shared_windows``).
        train_seed: Seeds model init, data order, dropout and sampling knobs; ``None``
            means the study's seed. The splits always use the study's seed, so repeats
            with different training seeds are scored on the same test examples.
        notes: One line per knob saying what it changed, kept in the run record.
    """

    study: StudyConfig
    data_hooks: list[DataHook] = field(default_factory=list)
    fast_tokenizer: bool = False
    padding: Literal["max_length", "longest"] = "max_length"
    model_kwargs: dict[str, Any] = field(default_factory=lambda: {"attn_implementation": "eager"})
    model_hooks: list[ModelHook] = field(default_factory=list)
    training_args: dict[str, Any] = field(default_factory=dict)
    callbacks: list[Callable[[], Any]] = field(default_factory=list)
    eval_engine: EvalEngine = "torch"
    run_contexts: list[Callable[[], contextlib.AbstractContextManager[Any]]] = field(
        default_factory=list
    )
    max_steps_fraction: float = 1.0
    eval_fraction: float = 1.0
    validate: bool = True
    train_seed: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int:
        """The training seed this run uses."""
        return self.study.seed if self.train_seed is None else self.train_seed

    def note(self, text: str) -> None:
        """Record what a knob changed, for the run record and ``--json`` output."""
        self.notes.append(text)
