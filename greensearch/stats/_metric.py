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

A metric's ``label`` is what the output says where it says F1 for a classifier. How a
run is scored under resampled examples: :mod:`greensearch.stats._metric_values`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["METRICS", "MetricKind", "TaskMetric", "task_metric"]

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
