"""The task metrics a run's kept predictions are scored with, per example.

Why per example: ΔMetric is judged on the same test examples (paired), so every metric
here is a function of per-example counts that a bootstrap resample reweights. Three kinds:

- ``f1``: classification F1 from a true and a predicted class per example (positive-class
  F1 for binary labels, else macro F1), as the staged pipeline scores it.
- ``entity_f1``: entity-level F1 as seqeval computes it: per example (a sentence) the gold
  entities, the predicted ones and the exact matches; the corpus F1 is
  ``2 ΣTP / (2 ΣTP + ΣFP + ΣFN)``, so a resample of sentences resamples entities in
  their sentences.
- ``mean``: the mean of a per-example score in [0, 1] (exact match 0/1, accuracy).

A metric's ``label`` is what the output says where it says F1 for a classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from greensearch.stats._predictions import RunPredictions

__all__ = [
    "METRICS",
    "MetricKind",
    "TaskMetric",
    "metric_matrix",
    "metric_value",
    "task_metric",
]

MetricKind = Literal["f1", "entity_f1", "mean"]


@dataclass(frozen=True, slots=True)
class TaskMetric:
    """A metric a run can be judged on.

    Attributes:
        id: Stable ID, stored with the kept predictions (``exact_match``).
        kind: How it is computed from per-example values.
        label: Its name in the output (``exact match``), where a classifier's says F1.
    """

    id: str
    kind: MetricKind
    label: str


F1 = TaskMetric("f1", "f1", "F1")
ENTITY_F1 = TaskMetric("entity_f1", "entity_f1", "entity F1")
EXACT_MATCH = TaskMetric("exact_match", "mean", "exact match")
ACCURACY = TaskMetric("accuracy", "mean", "accuracy")

#: Every metric by ID.
METRICS: dict[str, TaskMetric] = {m.id: m for m in (F1, ENTITY_F1, EXACT_MATCH, ACCURACY)}


def task_metric(metric_id: str) -> TaskMetric:
    """The metric named ``metric_id``.

    Raises:
        ValueError: an unknown ID (the message lists the known ones).
    """
    try:
        return METRICS[metric_id]
    except KeyError:
        known = ", ".join(METRICS)
        raise ValueError(f"unknown metric {metric_id!r}; use one of {known}") from None


def _f1_of(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 from counts; 0 where nothing was true, predicted or correct (sklearn's
    ``zero_division=0``, seqeval's too)."""
    denominator = 2 * tp + fp + fn
    return np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)


def _class_f1(run: RunPredictions, weights: np.ndarray) -> np.ndarray:
    labels, classes = run.labels, run.classes
    present = np.union1d(labels, classes)
    binary = bool(np.all(np.isin(present, (0, 1))))
    targets = np.array([1]) if binary else present
    tp = (classes[None, :] == targets[:, None]) & (labels[None, :] == targets[:, None])
    fp = (classes[None, :] == targets[:, None]) & (labels[None, :] != targets[:, None])
    fn = (classes[None, :] != targets[:, None]) & (labels[None, :] == targets[:, None])
    indicators = np.concatenate([tp, fp, fn]).astype(weights.dtype)
    counts = weights @ indicators.T  # (resamples, 3 x classes)
    k = targets.size
    f1 = _f1_of(counts[:, :k], counts[:, k : 2 * k], counts[:, 2 * k :])
    return np.asarray(f1.mean(axis=1))


def _entity_f1(run: RunPredictions, weights: np.ndarray) -> np.ndarray:
    tp, fp, fn = run.entity_counts()
    counts = weights @ np.stack([tp, fp, fn], axis=1).astype(weights.dtype)
    return _f1_of(counts[:, 0], counts[:, 1], counts[:, 2])


def _mean(run: RunPredictions, weights: np.ndarray) -> np.ndarray:
    assert run.values is not None  # checked by RunPredictions
    return np.asarray((weights @ run.values.astype(weights.dtype)) / weights.sum(axis=1))


def metric_matrix(runs: Sequence[RunPredictions], weights: np.ndarray) -> np.ndarray:
    """The metric of every run under every example weighting: shape ``(resamples, runs)``.

    ``weights`` has shape ``(resamples, examples)`` (how often each example is drawn; all
    ones is the full split).

    Raises:
        ValueError: runs scored with different metrics.
    """
    kinds = {run.metric for run in runs}
    if len(kinds) > 1:
        raise ValueError(f"runs were scored with different metrics: {sorted(kinds)}")
    compute = {"f1": _class_f1, "entity_f1": _entity_f1, "mean": _mean}
    cols = [compute[task_metric(run.metric).kind](run, weights) for run in runs]
    return np.stack(cols, axis=1)


def metric_value(run: RunPredictions) -> float:
    """The metric of one run on its full test split."""
    return float(metric_matrix([run], np.ones((1, run.n)))[0, 0])
