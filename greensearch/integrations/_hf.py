"""Search around a user's own ``transformers.Trainer`` set-up.

The user hands over what a Trainer script already has (``model_init``, a
``TrainingArguments``, the datasets, the tokenizer); each run rebuilds the model with
``model_init``, copies the arguments with the knobs' changes, and runs data, tokenize,
load, train (with validation windows) and eval under their own energy windows. Knobs
land where they belong: ``TrainingArguments`` fields, the model ``model_init`` returns
(greensearch's model surgery), the datasets (through the tokenizer). A knob that cannot
apply to what was handed over is left out of the search with its reason.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.integrations._hf_task import SCORED_METRICS, TrainerTask, fit_knobs, study_of
from greensearch.knobs import Bundle, KnobRegistry, default_registry
from greensearch.pipeline import repeat_runs, run_stages, scratch_folder, staged_record

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from greensearch.energy import Meter
    from greensearch.pipeline._stages import RunState
    from greensearch.search import SearchResult, SearchSettings

__all__ = ["TrainerRunner", "search"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainerRunner:
    """Callable like :func:`greensearch.pipeline.run_variant`, training a user's set-up.

    Attributes:
        task: What the user handed over.
        show_progress: Show the Trainer's progress bar on stderr.
    """

    task: TrainerTask
    show_progress: bool = False
    _warmed: list[bool] = dataclasses.field(default_factory=list, repr=False)

    @property
    def measures_windows(self) -> bool:
        """Its windows are metered, and a window a knob leaves alone does the baseline's
        work (``search._shared_windows``): not where ``score_test`` decodes, since how
        long a generated answer runs follows the trained weights."""
        return self.task.score_test is None

    def __call__(
        self,
        study: StudyConfig,
        bundle: Bundle,
        *,
        repeats: int = 1,
        meter: Any,
        fidelity: float = 1.0,
        results_path: str | Path | None = None,
        variant: str | None = None,
        registry: KnobRegistry | None = None,
        first_repeat: int = 0,
        **_: Any,
    ) -> dict[str, Any]:
        """Train ``repeats`` times with ``bundle``; the summary of the run records."""
        reg = registry if registry is not None else default_registry()
        if not self._warmed:
            self.warm_up(study, reg)

        def one(_: int, seed: int) -> dict[str, Any]:
            return self.run_once(study, bundle, reg, meter=meter, fidelity=fidelity, seed=seed)

        return repeat_runs(
            one,
            seed=study.seed,
            repeats=repeats,
            first_repeat=first_repeat,
            variant=variant,
            results_path=results_path,
        )

    def warm_up(self, study: StudyConfig, registry: KnobRegistry) -> None:
        """One short, unmetered baseline run before the first measured one.

        The first run of a process pays one-off costs (imports, kernel and allocator
        warm-up) that would otherwise land on the baseline and flatter every knob.
        """
        from greensearch.energy import UnmeteredMeter

        logger.info("warm-up run (not measured, not recorded)")
        self.run_once(study, {}, registry, meter=UnmeteredMeter(), fidelity=0.01, seed=study.seed)
        self._warmed.append(True)

    def run_once(
        self,
        study: StudyConfig,
        bundle: Bundle,
        registry: KnobRegistry,
        *,
        meter: Any,
        fidelity: float,
        seed: int,
    ) -> dict[str, Any]:
        """One metered run; its record, shaped like the staged pipeline's.

        Raises:
            StageFailedError: a stage crashed; ``.stage`` names it.
        """
        from greensearch.pipeline._stages import RunState, stage_eval

        plan = registry.plan(study, bundle)
        plan.max_steps_fraction = plan.eval_fraction = fidelity
        plan.train_seed = seed
        with scratch_folder() as out:  # removed however the run ends, as the pipeline's
            state = RunState(plan=plan, output_dir=out, show_progress=self.show_progress)
            stages: list[tuple[str, Callable[[], None]]] = [
                ("data", lambda: self._data(state)),
                ("tokenize", lambda: self._tokenize(state)),
                ("load", lambda: self._load(state, "attention" in bundle)),
                ("train", lambda: self._train(state)),
                ("eval", lambda: self._eval(state, stage_eval)),
            ]
            metered = run_stages(
                meter,
                stages,
                contexts=plan.run_contexts,
                on_windows=lambda w: setattr(state, "switch_window", w.switch),
            )
        return staged_record(study, registry.canonical(bundle), state, metered, fidelity=fidelity)

    def _data(self, state: RunState) -> None:
        from datasets import DatasetDict

        t = self.task
        parts = {"train": t.train_dataset, "test": t.test_dataset}
        if t.eval_dataset is not None:
            parts["validation"] = t.eval_dataset
        splits = DatasetDict({name: _standard(split, t) for name, split in parts.items()})
        for hook in state.plan.data_hooks:
            splits = hook(splits)
        if len(splits["train"]) == 0:
            raise ConfigError("the data knobs left no training example; relax them")
        state.splits = splits

    def _tokenize(self, state: RunState) -> None:
        from greensearch.pipeline._stages import _library_bars, _tokenize

        plan, tokenizer = state.plan, self.task.tokenizer
        state.tokenizer = tokenizer
        if not self.task.has_text:
            state.tokenized = state.splits
            return
        pad = "max_length" if plan.padding == "max_length" else False
        max_length = plan.study.max_length

        def encode(batch: dict[str, Any]) -> Any:
            return tokenizer(batch["text"], truncation=True, max_length=max_length, padding=pad)

        with _library_bars(state.show_progress):
            state.tokenized = _tokenize(state, encode)

    def _load(self, state: RunState, set_attention: bool) -> None:
        from transformers import set_seed

        set_seed(state.plan.seed)
        model = self.task.model_init()
        if set_attention:
            model.set_attn_implementation(state.plan.model_kwargs["attn_implementation"])
        for hook in state.plan.model_hooks:
            model = hook(model, state.plan)
        state.model = model

    def _train(self, state: RunState) -> None:
        from greensearch.pipeline._stages import train_with_args

        plan, user = state.plan, self.task.args
        args = {
            "output_dir": str(state.output_dir / "trainer"),
            "per_device_train_batch_size": plan.study.batch_size,
            "num_train_epochs": user.num_train_epochs,
            "max_steps": user.max_steps,
            "seed": plan.seed,
            "data_seed": plan.seed,
            "report_to": "none",
            "disable_tqdm": not state.show_progress,
            "push_to_hub": False,
        }

        def copy(**changes: Any) -> Any:
            return dataclasses.replace(user, **changes)

        # every task but a classifier's has a label per token (tags, or the tokens to predict)
        train_with_args(state, args, copy, token_labels=self.task.metric != "f1")

    def _eval(self, state: RunState, stage_eval: Callable[[RunState], None]) -> None:
        """Score the test split: a classifier as the pipeline does, a token classifier by
        the entities its BIO tags spell out, any other model by the user's per-example
        scores."""
        if self.task.metric in SCORED_METRICS:
            self._eval_scored(state)
            return
        if self.task.metric != "entity_f1":
            stage_eval(state)
            return
        from greensearch.pipeline import kept_metrics
        from greensearch.pipeline._stages import eval_split
        from greensearch.stats import RunPredictions, entity_counts, split_identity

        test, _ = eval_split(state)
        out = state.trainer.predict(test)
        names = state.model.config.id2label
        gold, predicted = [], []
        for logits, labels in zip(out.predictions.argmax(-1), out.label_ids, strict=True):
            scored = labels != -100
            gold.append([names[int(i)] for i in labels[scored]])
            predicted.append([names[int(i)] for i in logits[scored]])
        counts = entity_counts(gold, predicted)
        ids = [str(list(x)) for x in test["input_ids"]]
        state.predictions = RunPredictions.from_entity_counts(
            split_id=split_identity(ids, [tp + fn for tp, _, fn in counts]),
            counts=counts,
            seed=state.plan.seed,
        )
        state.metrics = kept_metrics(state.predictions)

    def _eval_scored(self, state: RunState) -> None:
        """The mean of ``score_test``'s per-example scores, each kept for the paired tests.

        Raises:
            ValueError: ``score_test`` gave a score outside [0, 1] or not one per example
                (the run fails with that reason; the study goes on).
        """
        from greensearch.pipeline import kept_metrics
        from greensearch.pipeline._stages import eval_split
        from greensearch.stats import RunPredictions, split_identity

        assert self.task.score_test is not None  # checked before any run
        test, _ = eval_split(state)
        state.model.eval()
        scores = [float(v) for v in self.task.score_test(state.model, test)]
        if len(scores) != len(test):
            raise ValueError(
                f"score_test gave {len(scores)} scores for {len(test)} test examples; "
                "one per example, in order"
            )
        ids = [str(list(x)) for x in test["input_ids"]]
        state.predictions = RunPredictions.from_scores(
            split_id=split_identity(ids, [0] * len(ids)),
            scores=scores,
            metric=self.task.metric,
            seed=state.plan.seed,
        )
        state.metrics = kept_metrics(state.predictions)


def _standard(split: Any, task: TrainerTask) -> Any:
    """``split`` with the column names the knobs and the eval stage read."""
    renames = {task.label_column: "label" if task.metric == "f1" else "labels"}
    if task.has_text:
        renames[task.text_column] = "text"
    return split.rename_columns({k: v for k, v in renames.items() if k != v})


def search(
    *,
    model_init: Callable[[], Any],
    args: Any,
    train_dataset: Any,
    test_dataset: Any,
    eval_dataset: Any = None,
    tokenizer: Any = None,
    text_column: str = "text",
    label_column: str = "label",
    max_length: int = 512,
    metric: str = "f1",
    score_test: Callable[[Any, Any], Sequence[float]] | None = None,
    budget_f1: float = -1.0,
    name: str = "trainer",
    settings: SearchSettings | None = None,
    meter: Meter | None = None,
    storage: BaseStorage | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    **setting_changes: Any,
) -> SearchResult:
    """Search the energy knobs of a user's Trainer set-up within an F1 budget.

    Storage, resume, seeds, statistics, finals and the result are those of
    ``greensearch optimize`` (the same search runs); the study is stored under
    ``name`` (default ``sqlite:///studies/<name>-f1-<budget>.db``).

    Args:
        model_init: Returns a fresh model (a sequence or token classifier, or any model
            ``score_test`` scores); called once per run after seeding.
        args: Your ``TrainingArguments`` (the baseline); knobs change copies of it.
        train_dataset: Training split.
        test_dataset: The held-out split every run is scored on.
        eval_dataset: Validation split (optional; early stopping needs it).
        tokenizer: Tokenizer for ``text_column`` (``None`` for tokenized datasets).
        text_column: Column of raw text.
        label_column: Column of integer labels.
        max_length: Token budget per example of the baseline (``seq_len`` trims it).
        metric: ``f1`` for a sequence classifier; ``entity_f1`` for a token classifier
            (tokenized datasets, a label id per token, BIO names in ``config.id2label``);
            ``exact_match`` or ``accuracy`` for any other model, a generative one
            included (tokenized datasets with ``labels``; ``score_test`` scores them).
        score_test: With ``exact_match``/``accuracy``: ``score_test(model,
            test_dataset)`` returns one score in [0, 1] per example of ``test_dataset``
            (for a language model: decode each prompt greedily, 1.0 where the answer is
            right). Each score is kept, so ΔMetric gets the paired intervals F1 gets.
        budget_f1: Accepted change of the metric in percent: ``-1`` loses at most 1 %.
        name: The study's name (storage and results).
        settings: Search settings (``budget_f1`` and ``setting_changes`` apply on top).
        meter: A meter object instead of opening ``settings.meter``.
        storage: An Optuna storage object instead of ``settings.storage``.
        progress: Called as ``progress(phase, done, total)`` after each trial.
        **setting_changes: Any :class:`~greensearch.search.SearchSettings` field
            (``n_trials``, ``fidelity``, ``repeats``, ``storage``, ``include``...).

    Returns:
        The typed search result (oracle, finalists, Pareto front).

    Raises:
        ConfigError: bad input (a missing split or column, no tokenizer for text, a
            model_init that fails, a bad setting), before any energy is spent.
    """
    from greensearch.integrations._common import search_with_runner
    from greensearch.search import SearchSettings

    task = TrainerTask(
        model_init=model_init,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        test_dataset=test_dataset,
        tokenizer=tokenizer,
        text_column=text_column,
        label_column=label_column,
        max_length=max_length,
        metric=metric,
        score_test=score_test,
    )
    task.check()
    try:
        probe = model_init()  # not metered: the layer count and what the knobs can reach
    except Exception as err:  # noqa: BLE001 - any failure of the user's code is bad input
        raise ConfigError(f"model_init() failed: {type(err).__name__}: {err}") from err
    if metric == "entity_f1":
        _check_bio(probe)
    config_dir = Path(args.output_dir) / "greensearch-model-config"
    probe.config.save_pretrained(str(config_dir))  # what the knobs' checks read
    if tokenizer is not None:
        tokenizer.save_pretrained(str(config_dir))
    base = settings if settings is not None else SearchSettings()
    fit = fit_knobs(task, probe, registry=None)
    del probe
    for knob, why in fit.left_out.items():
        logger.warning("left out of the search: %s (%s)", knob, why)
    study = study_of(task, name=name, model_config_dir=config_dir)
    chosen = base.replace(study=study, budget_f1_pct=budget_f1, **setting_changes)
    return search_with_runner(
        chosen,
        TrainerRunner(task),
        registry=fit.registry,
        meter=meter,
        storage=storage,
        progress=progress,
        left_out=fit.left_out,
    )


def _check_bio(model: Any) -> None:
    """Refuse a token classifier whose label names are not BIO tags, before any run.

    Raises:
        ConfigError: a label name entity F1 cannot read.
    """
    from greensearch.stats import entity_spans

    names = list(getattr(model.config, "id2label", {}).values())
    try:
        entity_spans(names)
    except ValueError as err:
        raise ConfigError(
            f"metric='entity_f1' reads the model's config.id2label as BIO tags: {err} "
            f"(labels: {', '.join(map(str, names))})"
        ) from None
