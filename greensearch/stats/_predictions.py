"""Test-set predictions in a compact, JSON-safe form that travels with the run record.

Why inline: a run record is appended to a results file and stored in Optuna trial
attributes; predictions kept in the record cannot be separated from the run they belong
to. A 1,000-example binary split costs about 4 kB (classes and labels one byte each,
the positive-class score two), base64-encoded. Entity-F1 and mean-of-score runs
(:mod:`greensearch.stats._metric`) keep their per-example counts or scores the same way.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from greensearch.stats._metric import task_metric

__all__ = ["RunPredictions", "split_identity"]

#: Bumped when the encoding below changes (v2 adds ``metric`` and ``values``; F1 runs
#: still write v1, so readers that know only v1 read them).
ENCODING = "b64-v1"
ENCODING_V2 = "b64-v2"


def split_identity(texts: Sequence[str], labels: Sequence[int]) -> str:
    """A short digest of a test split (its texts in order and their labels).

    Two runs are compared example by example only when their splits' identities match.
    """
    digest = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        digest.update(str(text).encode("utf-8", "surrogatepass"))
        digest.update(b"\x1f")
        digest.update(str(int(label)).encode())
        digest.update(b"\x1e")
    return f"sha256:{digest.hexdigest()[:16]}"


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(array).tobytes()).decode("ascii")


def _decode(text: str, dtype: str, n: int) -> np.ndarray:
    array = np.frombuffer(base64.b64decode(text), dtype=np.dtype(dtype))
    if array.shape != (n,):
        raise ValueError(f"kept predictions hold {array.size} values, the record says {n}")
    return array


def _decode_values(text: str, dtype: str, n: int) -> np.ndarray:
    kind = np.float64 if np.dtype(dtype).kind == "f" else np.int64
    return _decode(text, dtype, n).astype(kind)


def _class_dtype(*arrays: np.ndarray) -> str:
    top = max((int(a.max()) for a in arrays if a.size), default=0)
    return "uint8" if top < 256 else "uint16" if top < 65536 else "int32"


@dataclass(frozen=True, slots=True)
class RunPredictions:
    """One run's predictions on its test split, per example.

    What the arrays hold depends on ``metric`` (see :mod:`greensearch.stats._metric`):
    a classifier's true and predicted classes; for entity F1 the gold and predicted
    entities per example and, in ``values``, the exact matches among them; for a mean
    metric the score per example in ``values`` (``labels`` and ``classes`` all zero).

    Attributes:
        split_id: :func:`split_identity` of the test split.
        labels: True class per example (entity F1: gold entities per example).
        classes: Predicted class per example (entity F1: predicted entities).
        scores: Positive-class probability per example (binary tasks), else ``None``.
        seed: Training seed of the run (``None`` where the record predates seeds).
        metric: ID of the task metric (``f1``, ``entity_f1``, ``exact_match``...).
        values: Entity F1: exact matches per example; a mean metric: the score per
            example; ``None`` for F1.
    """

    split_id: str
    labels: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None = None
    seed: int | None = None
    metric: str = "f1"
    values: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.labels.shape != self.classes.shape or self.labels.ndim != 1:
            raise ValueError(
                f"labels and predictions differ in shape: {self.labels.shape} vs "
                f"{self.classes.shape}"
            )
        if self.scores is not None and self.scores.shape != self.labels.shape:
            raise ValueError("scores and labels differ in shape")
        kind = task_metric(self.metric).kind
        if (self.values is None) != (kind == "f1"):
            raise ValueError(f"metric {self.metric!r} needs per-example values iff not F1")
        if self.values is not None and self.values.shape != self.labels.shape:
            raise ValueError("per-example values and labels differ in shape")
        if kind == "entity_f1" and self.values is not None:
            tp = self.values
            if np.any(tp < 0) or np.any(tp > self.labels) or np.any(tp > self.classes):
                raise ValueError("exact entity matches must lie in [0, min(gold, predicted)]")
        if kind == "mean" and self.values is not None:
            if not np.all((self.values >= 0) & (self.values <= 1)):
                raise ValueError(f"{self.metric} scores must lie in [0, 1]")

    def entity_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per example: true positives, false positives, false negatives (entity F1)."""
        if self.values is None or task_metric(self.metric).kind != "entity_f1":
            raise ValueError(f"metric {self.metric!r} keeps no entity counts")
        tp = self.values
        return tp, self.classes - tp, self.labels - tp

    @classmethod
    def from_entity_counts(
        cls, *, split_id: str, counts: Sequence[Sequence[int]], seed: int | None = None
    ) -> RunPredictions:
        """Build an entity-F1 run from ``(tp, fp, fn)`` per example.

        Raises:
            ValueError: a count that is negative or not a triple.
        """
        array = np.asarray(counts, dtype=np.int64)
        array = array.reshape(0, 3) if array.size == 0 else array.reshape(len(counts), -1)
        if array.shape[1] != 3 or np.any(array < 0):
            raise ValueError("entity counts must be non-negative (tp, fp, fn) triples")
        tp, fp, fn = array.T
        return cls(
            split_id=split_id,
            labels=tp + fn,
            classes=tp + fp,
            seed=seed,
            metric="entity_f1",
            values=tp,
        )

    @classmethod
    def from_scores(
        cls, *, split_id: str, scores: Sequence[float], metric: str, seed: int | None = None
    ) -> RunPredictions:
        """Build a mean-metric run (``exact_match``, ``accuracy``) from per-example scores.

        Raises:
            ValueError: ``metric`` is not a mean metric, or a score outside [0, 1].
        """
        if task_metric(metric).kind != "mean":
            raise ValueError(f"metric {metric!r} is not a mean of per-example scores")
        zeros = np.zeros(len(scores), dtype=np.int64)
        values = np.asarray(scores, dtype=np.float64)
        return cls(
            split_id=split_id, labels=zeros, classes=zeros, seed=seed, metric=metric, values=values
        )

    @property
    def n(self) -> int:
        """Number of test examples."""
        return int(self.labels.shape[0])

    @classmethod
    def from_lists(
        cls,
        *,
        split_id: str,
        labels: Sequence[int],
        classes: Sequence[int],
        scores: Sequence[float] | None = None,
        seed: int | None = None,
    ) -> RunPredictions:
        """Build from plain lists (as the eval stage has them)."""
        return cls(
            split_id=split_id,
            labels=np.asarray(labels, dtype=np.int64),
            classes=np.asarray(classes, dtype=np.int64),
            scores=None if scores is None else np.asarray(scores, dtype=np.float64),
            seed=seed,
        )

    def to_record(self) -> dict[str, Any]:
        """The record form: base64 arrays plus what is needed to decode them."""
        dtype = _class_dtype(self.labels, self.classes)
        extra: dict[str, Any] = {}
        if self.values is not None:
            mean = task_metric(self.metric).kind == "mean"
            values_dtype = "<f4" if mean else dtype
            extra = {
                "encoding": ENCODING_V2,
                "metric": self.metric,
                "values_dtype": values_dtype,
                "values": _encode(self.values.astype(values_dtype)),
            }
        return {
            "encoding": ENCODING,
            "split": self.split_id,
            "n": self.n,
            "class_dtype": dtype,
            "labels": _encode(self.labels.astype(dtype)),
            "classes": _encode(self.classes.astype(dtype)),
            "scores": None if self.scores is None else _encode(self.scores.astype("<f2")),
            **extra,
        }

    @classmethod
    def from_record(cls, block: Mapping[str, Any], *, seed: int | None = None) -> RunPredictions:
        """Decode :meth:`to_record`'s form.

        Raises:
            ValueError: an unknown encoding or arrays that do not match their length.
        """
        if block.get("encoding") not in (ENCODING, ENCODING_V2):
            raise ValueError(f"unknown predictions encoding {block.get('encoding')!r}")
        n, dtype = int(block["n"]), str(block["class_dtype"])
        scores, values = block.get("scores"), block.get("values")
        return cls(
            split_id=str(block["split"]),
            labels=_decode(block["labels"], dtype, n).astype(np.int64),
            classes=_decode(block["classes"], dtype, n).astype(np.int64),
            scores=None if scores is None else _decode(scores, "<f2", n).astype(np.float64),
            seed=seed,
            metric=str(block.get("metric", "f1")),
            values=None if values is None else _decode_values(values, block["values_dtype"], n),
        )

    @classmethod
    def from_run_record(cls, record: Mapping[str, Any]) -> RunPredictions | None:
        """The predictions a run record keeps, or ``None`` for records that keep none."""
        block = record.get("predictions")
        if not block:
            return None
        return cls.from_record(block, seed=record.get("seed"))
