"""A run's task metric under resampled test examples (the metrics: :mod:`._metric`).

Each kind is computed from per-example indicators or counts weighted by how often a
resample draws each example, so every resample's metric is one matrix product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from greensearch.stats._metric import task_metric

if TYPE_CHECKING:
    from greensearch.stats._predictions import RunPredictions

__all__ = ["metric_matrix", "metric_value"]


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
