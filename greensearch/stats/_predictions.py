"""Test-set predictions in a compact, JSON-safe form that travels with the run record.

Why inline: a run record is appended to a results file and stored in Optuna trial
attributes; predictions kept in the record cannot be separated from the run they belong
to. A 1,000-example binary split costs about 4 kB (classes and labels one byte each,
the positive-class score two), base64-encoded.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["RunPredictions", "split_identity"]

#: Bumped when the encoding below changes.
ENCODING = "b64-v1"


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


def _class_dtype(*arrays: np.ndarray) -> str:
    top = max((int(a.max()) for a in arrays if a.size), default=0)
    return "uint8" if top < 256 else "uint16" if top < 65536 else "int32"


@dataclass(frozen=True, slots=True)
class RunPredictions:
    """One run's predictions on its test split.

    Attributes:
        split_id: :func:`split_identity` of the test split.
        labels: True class per example.
        classes: Predicted class per example.
        scores: Positive-class probability per example (binary tasks), else ``None``.
        seed: Training seed of the run (``None`` where the record predates seeds).
    """

    split_id: str
    labels: np.ndarray
    classes: np.ndarray
    scores: np.ndarray | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.labels.shape != self.classes.shape or self.labels.ndim != 1:
            raise ValueError(
                f"labels and predictions differ in shape: {self.labels.shape} vs "
                f"{self.classes.shape}"
            )
        if self.scores is not None and self.scores.shape != self.labels.shape:
            raise ValueError("scores and labels differ in shape")

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
        return {
            "encoding": ENCODING,
            "split": self.split_id,
            "n": self.n,
            "class_dtype": dtype,
            "labels": _encode(self.labels.astype(dtype)),
            "classes": _encode(self.classes.astype(dtype)),
            "scores": None if self.scores is None else _encode(self.scores.astype("<f2")),
        }

    @classmethod
    def from_record(cls, block: Mapping[str, Any], *, seed: int | None = None) -> RunPredictions:
        """Decode :meth:`to_record`'s form.

        Raises:
            ValueError: an unknown encoding or arrays that do not match their length.
        """
        if block.get("encoding") != ENCODING:
            raise ValueError(f"unknown predictions encoding {block.get('encoding')!r}")
        n, dtype = int(block["n"]), str(block["class_dtype"])
        scores = block.get("scores")
        return cls(
            split_id=str(block["split"]),
            labels=_decode(block["labels"], dtype, n).astype(np.int64),
            classes=_decode(block["classes"], dtype, n).astype(np.int64),
            scores=None if scores is None else _decode(scores, "<f2", n).astype(np.float64),
            seed=seed,
        )

    @classmethod
    def from_run_record(cls, record: Mapping[str, Any]) -> RunPredictions | None:
        """The predictions a run record keeps, or ``None`` for records that keep none."""
        block = record.get("predictions")
        if not block:
            return None
        return cls.from_record(block, seed=record.get("seed"))
