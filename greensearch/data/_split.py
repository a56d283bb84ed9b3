"""Deterministic stratified splitting, shared by the generator and the loaders."""

from __future__ import annotations

import random
from collections.abc import Hashable, Sequence

__all__ = ["stratified_indices"]


def stratified_indices(
    labels: Sequence[Hashable], fractions: Sequence[float], *, seed: int
) -> list[list[int]]:
    """Split row indices into ``len(fractions)`` parts, keeping each label's share.

    Every part gets at least one row of a label that has at least as many rows as there are
    parts, so a small but two-class file still yields two-class splits. The first part
    absorbs rounding. Indices come back sorted, so the split keeps the file's row order.

    Args:
        labels: one hashable label per row.
        fractions: share of each part; they should sum to 1.
        seed: seeds the per-label shuffle; same seed, same split.

    Returns:
        One sorted list of row indices per part.
    """
    by_label: dict[Hashable, list[int]] = {}
    for i, lab in enumerate(labels):
        by_label.setdefault(lab, []).append(i)
    rng = random.Random(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    for lab in sorted(by_label, key=repr):
        idx = by_label[lab]
        rng.shuffle(idx)
        n = len(idx)
        floor = 1 if n >= len(fractions) else 0
        counts = [max(floor, round(f * n)) for f in fractions[1:]]
        while sum(counts) > n:  # tiny classes: shrink the largest tail part
            counts[counts.index(max(counts))] -= 1
        counts.insert(0, n - sum(counts))
        start = 0
        for part, cnt in zip(parts, counts, strict=True):
            part.extend(idx[start : start + cnt])
            start += cnt
    return [sorted(p) for p in parts]
