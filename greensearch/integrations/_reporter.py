"""The script side of ``greensearch optimize --script``: read the trial, report the run.

A script run by the search gets its trial through environment variables (names below)
and hands back what it predicted through :func:`report_run`, which writes one JSON file
where the search reads it: a classifier's predictions, entity counts per sentence, or a
score per example. Nothing here imports torch: a script may use any framework.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.stats import RunPredictions, split_identity

__all__ = [
    "BUNDLE_ENV",
    "FIDELITY_ENV",
    "REPORT_ENV",
    "REPORT_SCHEMA",
    "SEED_ENV",
    "ScriptTrial",
    "report_fields",
    "report_predictions",
    "report_run",
    "script_trial",
]

#: JSON object knob name -> raw value (``{"seq_len": "128", "precision": "bf16"}``);
#: ``{}`` is the baseline. Raw values use the bundle grammar of ``greensearch knobs``.
BUNDLE_ENV = "GREENSEARCH_BUNDLE"
#: Training seed of this run (an integer).
SEED_ENV = "GREENSEARCH_SEED"
#: Fraction of the planned training steps to run, in (0, 1].
FIDELITY_ENV = "GREENSEARCH_FIDELITY"
#: Path of the JSON file :func:`report_run` writes.
REPORT_ENV = "GREENSEARCH_REPORT"
#: Version of the report file's layout.
REPORT_SCHEMA = 1


@dataclass(frozen=True, slots=True)
class ScriptTrial:
    """What the search asks of one run of a script.

    Attributes:
        knobs: Knob name -> raw value; empty for the baseline.
        seed: Training seed.
        fidelity: Fraction of the planned training steps to run.
        report_path: Where :func:`report_run` writes.
    """

    knobs: dict[str, str]
    seed: int
    fidelity: float
    report_path: Path | None


def script_trial(environ: dict[str, str] | None = None) -> ScriptTrial:
    """This process's trial, or the baseline at full fidelity when not run by a search.

    Raises:
        ConfigError: a variable is set but malformed.
    """
    env = os.environ if environ is None else environ
    try:
        knobs = json.loads(env.get(BUNDLE_ENV, "{}"))
        seed = int(env.get(SEED_ENV, "42"))
        fidelity = float(env.get(FIDELITY_ENV, "1"))
    except ValueError as err:
        raise ConfigError(f"bad greensearch trial environment: {err}") from err
    if not isinstance(knobs, dict):
        raise ConfigError(f"{BUNDLE_ENV} must hold a JSON object, got {knobs!r}")
    report = env.get(REPORT_ENV)
    return ScriptTrial(
        knobs={str(k): str(v) for k, v in knobs.items()},
        seed=seed,
        fidelity=fidelity,
        report_path=Path(report) if report else None,
    )


def report_run(
    *,
    predictions: Sequence[int] | None = None,
    labels: Sequence[int] | None = None,
    scores: Sequence[float] | None = None,
    entity_counts: Sequence[Sequence[int]] | None = None,
    example_scores: Sequence[float] | None = None,
    metric: str | None = None,
    example_ids: Sequence[str] | None = None,
    train_steps: int | None = None,
    planned_steps: int | None = None,
    train_seconds: float | None = None,
    path: str | Path | None = None,
) -> Path | None:
    """Hand the test-set predictions of this run back to the search, per example.

    Give one of three forms; the search judges the run on its metric:

    - ``predictions`` and ``labels`` (a classifier): F1, as ``greensearch optimize``.
    - ``entity_counts``: ``(tp, fp, fn)`` per sentence, from
      :func:`greensearch.entity_counts`: entity F1, as seqeval computes it.
    - ``example_scores`` with ``metric="exact_match"`` or ``"accuracy"``: the mean of a
      score in [0, 1] per example.

    Args:
        predictions: Predicted class per test example.
        labels: True class per test example, in the same order.
        scores: Positive-class probability per example (binary tasks), optional.
        entity_counts: Exact-span true positives, false positives and false negatives
            per test sentence.
        example_scores: Score per test example, in [0, 1].
        metric: The metric ID; needed with ``example_scores``, else implied.
        example_ids: A stable identity per test example (its text, or an id), so two
            runs are paired only on the same test split; default: its position.
        train_steps: Optimizer steps this run made.
        planned_steps: Steps a full-fidelity run makes.
        train_seconds: Wall seconds of the training loop. A short search run's energy is
            extrapolated through it: the loop scaled to ``planned_steps``, the rest of the
            process (imports, loading, predicting) kept once. Without it a short run's
            energy is taken as measured: the search still compares runs of one fidelity,
            but its energy figures and extrapolation error read the short runs as they are.
        path: Where to write (default: ``$GREENSEARCH_REPORT``).

    Returns:
        The file written, or ``None`` outside a search (no path given or in the env).

    Raises:
        ConfigError: not exactly one form, values of different lengths or none, a count
            or score out of range, or a metric that does not fit the form.
    """
    data: dict[str, Any] = {
        "schema_version": REPORT_SCHEMA,
        **report_fields(
            predictions=predictions,
            labels=labels,
            scores=scores,
            entity_counts=entity_counts,
            example_scores=example_scores,
            metric=metric,
        ),
        "example_ids": None if example_ids is None else [str(e) for e in example_ids],
        "train_steps": train_steps,
        "planned_steps": planned_steps,
        "train_seconds": _seconds(train_seconds),
    }
    n = len(data["labels"] or data["entity_counts"] or data["example_scores"] or ())
    if example_ids is not None and len(example_ids) != n:
        raise ConfigError(f"report_run got {len(example_ids)} example_ids for {n} examples")
    target = Path(path) if path is not None else script_trial().report_path
    if target is None:
        return None
    target.write_text(json.dumps(data), encoding="utf-8")
    return target


def _seconds(value: float | None) -> float | None:
    """``train_seconds`` checked: a finite number of seconds, not negative."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"report_run(train_seconds=...) must be a number, got {value!r}"
        ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ConfigError(f"report_run(train_seconds=...) must be >= 0 seconds, got {value!r}")
    return seconds


def report_fields(
    *,
    predictions: Sequence[int] | None = None,
    labels: Sequence[int] | None = None,
    scores: Sequence[float] | None = None,
    entity_counts: Sequence[Sequence[int]] | None = None,
    example_scores: Sequence[float] | None = None,
    metric: str | None = None,
) -> dict[str, Any]:
    """The checked per-example fields of a report (what :func:`report_run` writes and
    :func:`report_predictions` reads).

    Raises:
        ConfigError: see :func:`report_run`.
    """
    forms = {
        "predictions/labels": predictions is not None or labels is not None,
        "entity_counts": entity_counts is not None,
        "example_scores": example_scores is not None,
    }
    given = [name for name, on in forms.items() if on]
    if len(given) != 1:
        raise ConfigError(
            "report_run takes one of predictions+labels, entity_counts or example_scores "
            f"(got {', '.join(given) or 'none'})"
        )
    try:
        if entity_counts is not None:
            run = RunPredictions.from_entity_counts(split_id="", counts=entity_counts)
            implied = run.metric
        elif example_scores is not None:
            if metric is None:
                raise ConfigError(
                    "report_run(example_scores=...) needs metric='exact_match' or 'accuracy'"
                )
            run = RunPredictions.from_scores(split_id="", scores=example_scores, metric=metric)
            implied = metric
        else:
            if predictions is None or labels is None or len(predictions) != len(labels):
                raise ConfigError(
                    "report_run needs equal predictions and labels "
                    f"({_len(predictions)} vs {_len(labels)})"
                )
            RunPredictions.from_lists(
                split_id="", labels=labels, classes=predictions, scores=scores
            )
            implied = "f1"
    except ValueError as err:
        raise ConfigError(f"report_run: {err}") from None
    if metric is not None and metric != implied:
        raise ConfigError(
            f"report_run(metric={metric!r}) does not fit {given[0]}, which is scored "
            f"as {implied!r}; drop metric= or report the other form"
        )
    per_example = next(v for v in (entity_counts, example_scores, labels, ()) if v is not None)
    if len(per_example) == 0:
        raise ConfigError(f"report_run got no test examples in {given[0]}")
    return {
        "metric": implied,
        "predictions": None if predictions is None else [int(p) for p in predictions],
        "labels": None if labels is None else [int(label) for label in labels],
        "scores": None if scores is None else [float(s) for s in scores],
        "entity_counts": (
            None if entity_counts is None else [[int(c) for c in t] for t in entity_counts]
        ),
        "example_scores": None if example_scores is None else [float(s) for s in example_scores],
    }


def _len(values: Sequence[Any] | None) -> str:
    return "none" if values is None else str(len(values))


def report_predictions(data: Mapping[str, Any], *, seed: int) -> RunPredictions:
    """The kept predictions of a report :func:`report_run` wrote.

    Raises:
        ConfigError: the report's per-example fields are missing or malformed.
    """
    fields = report_fields(
        predictions=data.get("predictions"),
        labels=data.get("labels"),
        scores=data.get("scores"),
        entity_counts=data.get("entity_counts"),
        example_scores=data.get("example_scores"),
        metric=data.get("metric"),
    )
    metric = fields["metric"]
    if fields["entity_counts"] is not None:
        counts = fields["entity_counts"]
        ids = data.get("example_ids") or [str(i) for i in range(len(counts))]
        gold = [tp + fn for tp, _, fn in counts]
        split = split_identity(ids, gold)
        return RunPredictions.from_entity_counts(split_id=split, counts=counts, seed=seed)
    if fields["example_scores"] is not None:
        values = fields["example_scores"]
        ids = data.get("example_ids") or [str(i) for i in range(len(values))]
        split = split_identity(ids, [0] * len(values))
        return RunPredictions.from_scores(split_id=split, scores=values, metric=metric, seed=seed)
    labels = fields["labels"]
    ids = data.get("example_ids") or [str(i) for i in range(len(labels))]
    return RunPredictions.from_lists(
        split_id=split_identity(ids, labels),
        labels=labels,
        classes=fields["predictions"],
        scores=fields["scores"],
        seed=seed,
    )
