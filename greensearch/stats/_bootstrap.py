"""Paired, hierarchical bootstrap of F1 over seeds and test examples.

Why this shape: F1 varies with the training seed and with which examples the test split
holds. Each resample draws seeds with replacement (per arm, from that arm's seeded
repeats), then one multiset of test examples shared by both arms, so a difference is
judged example by example (paired) and the seed-to-seed spread enters the interval.
F1 is not a mean of per-example values, so the statistic is recomputed from resampled
confusion counts; the counts of all resamples come from one matrix product, which keeps
10,000 resamples of a 1,000-example split well under a second.

Intervals are percentile intervals of the resampled statistic. ΔF1 is relative, in
percent of the baseline's F1, as the budget is.

A search trial trains once (one seed) while its baseline trains several times. Resampling
examples alone would leave the single run's own seed-to-seed spread out of the interval,
as if one draw were the truth. So an arm with one run borrows the other arm's spread: each
resample adds ``(F1 of seed i - F1 of seed j) / sqrt(2)`` of two distinct runs of the other
arm (the spread of one seed's F1, assuming a knob does not change it much).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greensearch.stats._predictions import RunPredictions

__all__ = [
    "DEFAULT_RESAMPLES",
    "DeltaF1",
    "F1Interval",
    "delta_f1",
    "f1_interval",
    "f1_matrix",
    "f1_resolution",
]

DEFAULT_RESAMPLES = 10_000

#: Resamples per chunk times examples: bounds the count matrix at about 32 MB.
_CHUNK_CELLS = 8_000_000


@dataclass(frozen=True, slots=True)
class F1Interval:
    """F1 of one variant over its seeded repeats, with a 95 % interval.

    Attributes:
        f1: Mean F1 over the runs (the full test split each).
        ci95: Percentile interval over resampled seeds and examples.
        n_seeds: Runs behind it (distinct training seeds where the runs were seeded).
        n_examples: Test examples per run.
        n_resamples: Bootstrap resamples.
    """

    f1: float
    ci95: tuple[float, float]
    n_seeds: int
    n_examples: int
    n_resamples: int


@dataclass(frozen=True, slots=True)
class DeltaF1:
    """A candidate's F1 change against the baseline, in percent of the baseline's F1.

    Attributes:
        mean_pct: Point estimate: mean F1 of the candidate's runs against the baseline's.
        ci95_pct: Two-sided 95 % percentile interval.
        lower_pct: One-sided lower bound at ``confidence``.
        upper_pct: One-sided upper bound at ``confidence``.
        p_within_budget: Share of resamples with ΔF1 >= -budget.
        budget_pct: The accepted loss (non-negative percent).
        confidence: Confidence of the one-sided bounds.
        n_seeds_baseline: Baseline runs behind it.
        n_seeds_candidate: Candidate runs behind it.
        n_examples: Test examples, shared by both arms.
        n_resamples: Bootstrap resamples.
    """

    mean_pct: float
    ci95_pct: tuple[float, float]
    lower_pct: float
    upper_pct: float
    p_within_budget: float
    budget_pct: float
    confidence: float
    n_seeds_baseline: int
    n_seeds_candidate: int
    n_examples: int
    n_resamples: int


def f1_matrix(runs: Sequence[RunPredictions], weights: np.ndarray) -> np.ndarray:
    """F1 of every run under every example weighting: shape ``(resamples, runs)``.

    ``weights`` has shape ``(resamples, examples)`` (how often each example is drawn; all
    ones is the full split). Binary labels give the positive-class F1, others macro F1
    over the classes seen in that run's labels or predictions, as the pipeline's metrics.
    A class with no true, predicted or correct example scores 0, as sklearn's
    ``zero_division=0``.
    """
    cols = []
    for run in runs:
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
        tp_c, fp_c, fn_c = counts[:, :k], counts[:, k : 2 * k], counts[:, 2 * k :]
        denominator = 2 * tp_c + fp_c + fn_c
        f1 = np.divide(2 * tp_c, denominator, out=np.zeros_like(tp_c), where=denominator > 0)
        cols.append(f1.mean(axis=1))
    return np.stack(cols, axis=1)


def _example_weights(rng: np.random.Generator, resamples: int, n: int) -> np.ndarray:
    """How often each example is drawn in each resample (rows sum to ``n``)."""
    draws = rng.integers(0, n, size=(resamples, n))
    flat = draws + (np.arange(resamples) * n)[:, None]
    counts = np.bincount(flat.ravel(), minlength=resamples * n)
    return counts.reshape(resamples, n).astype(np.float32)


def _seed_means(rng: np.random.Generator, f1: np.ndarray) -> np.ndarray:
    """Mean F1 of a with-replacement draw of the arm's runs, per resample."""
    resamples, seeds = f1.shape
    if seeds == 1:
        return f1[:, 0]
    pick = rng.integers(0, seeds, size=(resamples, seeds))
    return np.take_along_axis(f1, pick, axis=1).mean(axis=1)


def _check_split(*arms: Sequence[RunPredictions]) -> int:
    runs = [run for arm in arms for run in arm]
    if any(not arm for arm in arms):
        raise ValueError("every arm of a comparison needs at least one run with predictions")
    splits = {run.split_id for run in runs}
    if len(splits) != 1:
        raise ValueError(f"runs were scored on different test splits: {sorted(splits)}")
    first = runs[0]
    if any(not np.array_equal(run.labels, first.labels) for run in runs[1:]):
        raise ValueError("runs with the same split identity hold different labels")
    return first.n


def _resample(
    arms: Sequence[Sequence[RunPredictions]], n_resamples: int, seed: int
) -> list[np.ndarray]:
    """Per arm, the resampled mean F1 (seeds, then examples shared across arms)."""
    n = _check_split(*arms)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // n)
    out: list[list[np.ndarray]] = [[] for _ in arms]
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        weights = _example_weights(rng, size, n)
        matrices = [f1_matrix(arm, weights) for arm in arms]
        for i, f1 in enumerate(matrices):
            means = _seed_means(rng, f1)
            donor = next((m for m in matrices if m.shape[1] >= 2), None)
            if f1.shape[1] == 1 and donor is not None:
                means = means + _borrowed_seed_noise(rng, donor)
            out[i].append(means)
        done += size
    return [np.concatenate(parts) for parts in out]


def _borrowed_seed_noise(rng: np.random.Generator, donor: np.ndarray) -> np.ndarray:
    """One seed's F1 spread, per resample, from two distinct runs of another arm."""
    resamples, seeds = donor.shape
    first = rng.integers(0, seeds, size=resamples)
    second = (first + rng.integers(1, seeds, size=resamples)) % seeds
    rows = np.arange(resamples)
    return (donor[rows, first] - donor[rows, second]) / np.sqrt(2.0)


def _full_f1(runs: Sequence[RunPredictions]) -> float:
    return float(f1_matrix(runs, np.ones((1, runs[0].n)))[0].mean())


def _interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def f1_interval(
    runs: Sequence[RunPredictions], *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> F1Interval:
    """Mean F1 of ``runs`` with a 95 % interval over resampled seeds and examples.

    With one run the interval holds the test-split sampling only; say so where it is shown.
    """
    (means,) = _resample([runs], n_resamples, seed)
    return F1Interval(
        f1=_full_f1(runs),
        ci95=_interval(means),
        n_seeds=len(runs),
        n_examples=runs[0].n,
        n_resamples=n_resamples,
    )


def _relative_pct(candidate: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = 100.0 * (candidate - baseline) / baseline
    return delta[np.isfinite(delta)]


def delta_f1(
    baseline: Sequence[RunPredictions],
    candidate: Sequence[RunPredictions],
    *,
    budget_pct: float,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> DeltaF1:
    """ΔF1 of ``candidate`` against ``baseline``: point, intervals and P(within budget).

    Args:
        baseline: The baseline's runs (seeded repeats), all on one test split.
        candidate: The candidate's runs, on the same split.
        budget_pct: The accepted F1 loss, a non-negative percentage (1.0 for ``-1%``).
        confidence: Confidence of the one-sided bounds the verdict uses; 0.5 makes both
            bounds the point estimate (the point-estimate rule).
        n_resamples: Bootstrap resamples.
        seed: Seed of the resampling (the result is reproducible).

    Raises:
        ValueError: an arm without runs, runs on different splits, a baseline F1 of zero,
            or a confidence outside [0.5, 1).
    """
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    base_f1, cand_f1 = _full_f1(baseline), _full_f1(candidate)
    if base_f1 <= 0:
        raise ValueError("the baseline's F1 is 0: a relative ΔF1 is undefined")
    base, cand = _resample([baseline, candidate], n_resamples, seed)
    deltas = _relative_pct(cand, base)
    point = 100.0 * (cand_f1 - base_f1) / base_f1
    if confidence == 0.5:
        lower = upper = point
    else:
        lower, upper = (float(q) for q in np.quantile(deltas, [1 - confidence, confidence]))
    return DeltaF1(
        mean_pct=point,
        ci95_pct=_interval(deltas),
        lower_pct=lower,
        upper_pct=upper,
        p_within_budget=float(np.mean(deltas >= -budget_pct)),
        budget_pct=budget_pct,
        confidence=confidence,
        n_seeds_baseline=len(baseline),
        n_seeds_candidate=len(candidate),
        n_examples=baseline[0].n,
        n_resamples=int(deltas.size),
    )


def f1_resolution(
    baseline: Sequence[RunPredictions],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> float | None:
    """The smallest F1 loss (percent) a comparison on this task can resolve.

    Both arms of a null comparison are drawn from the baseline's own seeded repeats, so
    any ΔF1 between them is noise: seed-to-seed spread plus test-split sampling. The
    resolution is how far the one-sided bound at ``confidence`` sits below zero. A budget
    below it cannot confirm even a bundle that truly loses nothing. ``None`` with fewer
    than two baseline runs: one seed says nothing about the seed-to-seed spread.
    """
    if len(baseline) < 2:
        return None
    first, second = _resample([baseline, baseline], n_resamples, seed)
    deltas = _relative_pct(second, first)
    return max(0.0, float(-np.quantile(deltas, 1 - confidence)))
