"""Classification metrics that cannot flatter a model that learned nothing.

The paper reported weighted F1, under which predicting "not vulnerable" for everything
scores 0.954 on BigVul. We report the positive-class F1 (binary) or macro F1 (multi-class)
as *the* F1, keep weighted F1 for comparison only, and flag degenerate predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from greensearch.stats import RunPredictions

__all__ = ["Metrics", "compute_metrics", "kept_metrics", "DEGENERATE_SHARE"]

#: A model predicting one class for at least this share of the test set is degenerate.
DEGENERATE_SHARE = 0.99


@dataclass(frozen=True, slots=True)
class Metrics:
    """Test-set quality of one run.

    Attributes:
        f1: Positive-class F1 for binary labels, macro F1 otherwise: the number we optimize.
        f1_weighted: Support-weighted F1, as the paper reported (comparison only).
        accuracy: Share of correct predictions.
        degenerate: True when one class takes >= 99% of the predictions.
        majority_share: Share of the most-predicted class.
        n: Number of test examples.
    """

    f1: float
    f1_weighted: float
    accuracy: float
    degenerate: bool
    majority_share: float
    n: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def compute_metrics(labels: Sequence[int], predictions: Sequence[int]) -> Metrics:
    """Score predictions against labels.

    Raises:
        ValueError: if the two sequences differ in length or are empty.
    """
    from sklearn.metrics import accuracy_score, f1_score

    if len(labels) != len(predictions) or not labels:
        raise ValueError(
            f"need equal, non-empty label/prediction lists ({len(labels)} vs {len(predictions)})"
        )
    classes = sorted(set(labels) | set(predictions))
    binary = set(labels) <= {0, 1} and set(predictions) <= {0, 1}
    if binary:
        f1 = float(f1_score(labels, predictions, pos_label=1, average="binary", zero_division=0))
    else:
        f1 = float(f1_score(labels, predictions, average="macro", labels=classes, zero_division=0))
    counts = [list(predictions).count(c) for c in classes]
    majority = max(counts) / len(predictions)
    return Metrics(
        f1=f1,
        f1_weighted=float(f1_score(labels, predictions, average="weighted", zero_division=0)),
        accuracy=float(accuracy_score(labels, predictions)),
        degenerate=majority >= DEGENERATE_SHARE,
        majority_share=majority,
        n=len(labels),
    )


def kept_metrics(run: RunPredictions) -> Metrics:
    """Metrics of a run's kept predictions, whatever its task.

    A classifier's are :func:`compute_metrics`'. Another task's metric (entity F1, exact
    match) stands in for F1 and, as the records always hold them, for the weighted F1
    and the accuracy. An entity tagger that predicts no entity in 99 % of the sentences
    is degenerate, as a classifier that predicts one class.
    """
    from greensearch.stats import metric_value, task_metric

    if task_metric(run.metric).kind == "f1":
        return compute_metrics(run.labels.tolist(), run.classes.tolist())
    value = metric_value(run)
    if task_metric(run.metric).kind == "entity_f1":
        majority = float((run.classes == 0).mean())
    else:
        _, counts = np.unique(np.asarray(run.values), return_counts=True)
        majority = float(counts.max() / run.n)
    return Metrics(
        f1=value,
        f1_weighted=value,
        accuracy=value,
        degenerate=task_metric(run.metric).kind == "entity_f1" and majority >= DEGENERATE_SHARE,
        majority_share=majority,
        n=run.n,
    )
