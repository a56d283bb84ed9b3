"""Data-phase knobs: what is read, how much of it, and how it is tokenized and padded.

Data hooks receive the loaded ``DatasetDict`` (columns ``text`` and ``label``) and only
ever touch the ``train`` split: validation and test stay what the study defines, so F1
stays comparable with the baseline.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Sequence
from typing import Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Value

__all__ = ["KNOBS", "find_duplicates", "stratified_sample"]

#: Tokens per shingle for near-duplicate detection (code and prose alike).
SHINGLE_TOKENS = 5
#: MinHash signature length. It is cut into LSH bands of ``r`` rows, ``r`` chosen per
#: threshold (:func:`_rows_per_band`) so a pair at the threshold is missed with probability
#: below ``_MAX_MISS``; candidates are then confirmed by exact Jaccard, so LSH never adds a
#: false positive.
_PERMUTATIONS = 256
_MAX_MISS = 1e-6
#: Largest prime below 2**32: with 32-bit hashes, a*x stays below 2**64 (no overflow).
_PRIME = 4_294_967_291
_TOKEN = re.compile(r"\w+|[^\w\s]")
_SPACE = re.compile(r"\s+")


def _apply_fast_tokenizer(plan: RunPlan, value: Value) -> None:
    plan.fast_tokenizer = True
    plan.note("fast_tokenizer: batched calls (1000 examples) to the Rust tokenizer")


def _apply_seq_len(plan: RunPlan, value: Value) -> None:
    plan.study = plan.study.replace(max_length=value["tokens"])
    plan.note(f"seq_len: max_length {value['tokens']}")


def _validate_seq_len(study: StudyConfig, value: Value) -> None:
    """A trim must be shorter than the study's own budget, or it is no trim at all."""
    if value["tokens"] >= study.max_length:
        raise ConfigError(
            f"knob 'seq_len={value['tokens']}' does not trim: the study's "
            f"max_length is already {study.max_length}; choose fewer tokens"
        )


# --- dedup ---------------------------------------------------------------------------


def normalize(text: str) -> str:
    """Collapse whitespace runs to one space and strip: exact duplicates modulo layout."""
    return _SPACE.sub(" ", text).strip()


def _shingles(text: str) -> Any:
    """Sorted unique CRC32 hashes of ``SHINGLE_TOKENS``-token windows (process-independent)."""
    import numpy as np

    tokens = _TOKEN.findall(text)
    k = min(SHINGLE_TOKENS, len(tokens))
    hashes = (
        {zlib.crc32("\x1f".join(tokens[i : i + k]).encode()) for i in range(len(tokens) - k + 1)}
        if k
        else {0}
    )
    return np.array(sorted(hashes), dtype=np.uint64)


def _jaccard(a: Any, b: Any) -> float:
    import numpy as np

    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def _rows_per_band(threshold: float) -> int:
    """Most rows per band (fewest spurious candidates) that still finds pairs at ``threshold``.

    A pair of Jaccard ``t`` shares a band of ``r`` rows with probability ``t**r``, so it is
    missed by all ``256 / r`` bands with probability ``(1 - t**r) ** (256 / r)``.
    """
    for rows in (8, 4, 2, 1):
        if (1 - threshold**rows) ** (_PERMUTATIONS // rows) < _MAX_MISS:
            return rows
    return 1


def find_duplicates(texts: Sequence[str], threshold: float) -> tuple[list[int], int, int]:
    """Greedy first-wins deduplication of ``texts``.

    A text is dropped when its normalised form equals an earlier kept text (exact), or when
    its token-shingle Jaccard with an earlier *kept* text is at least ``threshold`` (near).
    Near pairs are found with MinHash LSH and confirmed by exact Jaccard.

    Returns:
        ``(kept indices in order, exact duplicates removed, near duplicates removed)``.
    """
    import numpy as np

    rows = _rows_per_band(threshold)
    rng = np.random.default_rng(0)
    a = rng.integers(1, _PRIME, (_PERMUTATIONS, 1), dtype=np.uint64)
    b = rng.integers(0, _PRIME, (_PERMUTATIONS, 1), dtype=np.uint64)
    seen: set[str] = set()
    kept: list[int] = []
    kept_shingles: dict[int, Any] = {}
    buckets: dict[tuple[int, bytes], list[int]] = {}
    exact = near = 0
    for i, text in enumerate(texts):
        norm = normalize(text)
        if norm in seen:
            exact += 1
            continue
        sh = _shingles(norm)
        sig = ((a * sh[None, :] % _PRIME + b) % _PRIME).min(axis=1)
        keys = [
            (start, sig[start : start + rows].tobytes()) for start in range(0, _PERMUTATIONS, rows)
        ]
        candidates = {j for key in keys for j in buckets.get(key, ())}
        if any(_jaccard(sh, kept_shingles[j]) >= threshold for j in sorted(candidates)):
            near += 1
            continue
        seen.add(norm)
        kept.append(i)
        kept_shingles[i] = sh
        for key in keys:
            buckets.setdefault(key, []).append(i)
    return kept, exact, near


def _apply_dedup(plan: RunPlan, value: Value) -> None:
    threshold = value["threshold"]

    def dedup(splits: Any) -> Any:
        train = splits["train"]
        kept, exact, near = find_duplicates(train["text"], threshold)
        splits["train"] = train.select(kept)
        plan.note(
            f"dedup: removed {exact} exact and {near} near duplicates (Jaccard >= "
            f"{threshold:g}) from train; {len(kept)} of {len(train)} kept"
        )
        return splits

    plan.data_hooks.append(dedup)
    plan.note(
        f"dedup: train split only, exact (whitespace-normalised) and near (Jaccard >= "
        f"{threshold:g} on {SHINGLE_TOKENS}-token shingles)"
    )


# --- data_fraction -------------------------------------------------------------------


def stratified_sample(labels: Sequence[Any], fraction: float, *, seed: int) -> list[int]:
    """Indices of a seeded random ``fraction`` of each label's rows, in original order.

    Each label keeps ``round(fraction * n)`` rows, at least one, so a rare positive class
    survives and the label ratio stays the baseline's (up to rounding).
    """
    by_label: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    chosen: list[int] = []
    for label in sorted(by_label, key=repr):
        rows = by_label[label]
        chosen.extend(rng.sample(rows, max(1, round(fraction * len(rows)))))
    return sorted(chosen)


def _apply_data_fraction(plan: RunPlan, value: Value) -> None:
    fraction = value["fraction"]

    def sample(splits: Any) -> Any:
        # The training seed, read when the hook runs: each seeded repeat draws its own
        # sample, so the knob's F1 spread includes which examples it keeps.
        train = splits["train"]
        # a classifier's rows keep its label ratio; rows without one label (a label per
        # token, a generative task's target tokens) are sampled as one group
        one_label = "label" in train.column_names
        keep = stratified_sample(
            train["label"] if one_label else [0] * len(train), fraction, seed=plan.seed
        )
        splits["train"] = train.select(keep)
        plan.note(
            f"data_fraction: kept {len(keep)} of {len(train)} train examples (seed {plan.seed})"
        )
        return splits

    plan.data_hooks.append(sample)
    plan.note(
        f"data_fraction: train on a random {fraction:g} of train (stratified by label where "
        "each example has one)"
    )


# --- padding and batching ------------------------------------------------------------


def _apply_dynamic_padding(plan: RunPlan, value: Value) -> None:
    plan.padding = "longest"
    plan.note("dynamic_padding: pad each batch to its longest example, not to max_length")


def _apply_group_by_length(plan: RunPlan, value: Value) -> None:
    plan.training_args["train_sampling_strategy"] = "group_by_length"
    plan.padding = "longest"
    plan.note("group_by_length: length-grouped training batches (implies dynamic padding)")


KNOBS: tuple[Knob, ...] = (
    Knob(
        name="fast_tokenizer",
        phase="data",
        targets=("compute", "io"),
        description="tokenize in batches with the Rust (fast) tokenizer",
        apply=_apply_fast_tokenizer,
        windows=("tokenize",),  # the same token ids (the slow and the fast tokenizer agree)
        numerics=False,  # the same token ids
    ),
    Knob(
        name="seq_len",
        phase="data",
        targets=("compute", "memory"),
        description="trim inputs to N tokens (max_length)",
        params=(Param("tokens", int, 128, low=8, high=32768),),
        search_values=("128", "96"),
        apply=_apply_seq_len,
        validate=_validate_seq_len,
    ),
    Knob(
        name="dedup",
        phase="data",
        targets=("compute",),
        description="drop exact (whitespace-normalised) and near duplicates (shingle Jaccard "
        ">= threshold, MinHash LSH) from the train split only; first copy wins",
        params=(Param("threshold", float, 0.85, low=0.5, high=1.0),),
        search_values=("0.9", "0.8"),
        apply=_apply_dedup,
        windows=("data", "tokenize", "train"),  # the train split only
    ),
    Knob(
        name="data_fraction",
        phase="data",
        targets=("compute",),
        description="train on a seeded random fraction of the train split, stratified by "
        "label (uniform within each label; no example scoring)",
        params=(Param("fraction", float, 0.5, low=0.01, high=0.99),),
        search_values=("0.25", "0.5", "0.75"),
        apply=_apply_data_fraction,
        windows=("data", "tokenize", "train"),  # the train split only
    ),
    Knob(
        name="dynamic_padding",
        phase="data",
        targets=("compute", "memory"),
        description="pad each batch to its longest example instead of to max_length",
        apply=_apply_dynamic_padding,
        numerics=False,  # padding is masked out
    ),
    Knob(
        name="group_by_length",
        phase="data",
        targets=("compute", "memory"),
        description="batch train examples of similar length together; implies dynamic "
        "padding (with max_length padding all lengths are equal: a no-op)",
        apply=_apply_group_by_length,
    ),
)
