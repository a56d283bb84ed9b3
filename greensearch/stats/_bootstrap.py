"""Paired bootstrap of F1 over test examples, with the seed part added as a scaled t.

F1 stands for the task's metric throughout (entity F1, exact match: see
:mod:`greensearch.stats._metric`); the names keep the classifier's word.

Why this shape: F1 varies with which examples the test split holds and with the training
seed. Each resample draws one multiset of test examples shared by both arms (runs held
fixed), so a difference is judged example by example (paired). F1 is not a mean of
per-example values, so the statistic is recomputed from resampled confusion counts; the
counts of all resamples come from one matrix product, which keeps 10,000 resamples of a
1,000-example split well under a second. The seed part is not bootstrapped: with a few
seeds a bootstrap understates it (see :mod:`greensearch.stats._seeds`); each resample
adds a draw of a scaled Student t instead, so the intervals keep their level with 2 or 3
seeds (checked by simulation in ``tests/stats/test_coverage.py``).

Intervals are percentile intervals of the resampled statistic. ΔF1 is relative, in
percent of the baseline's F1, as the budget is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greensearch.stats._metric import task_metric
from greensearch.stats._metric_values import metric_matrix
from greensearch.stats._predictions import RunPredictions
from greensearch.stats._seeds import SeedDesign, SeedPart, paired_by_seed, seed_part

__all__ = [
    "DEFAULT_RESAMPLES",
    "DeltaF1",
    "F1Interval",
    "delta_f1",
    "f1_interval",
    "example_matrices",
    "f1_matrix",
    "full_f1",
]

DEFAULT_RESAMPLES = 10_000

#: Resamples per chunk times examples: bounds the count matrix at about 32 MB.
_CHUNK_CELLS = 8_000_000


@dataclass(frozen=True, slots=True)
class F1Interval:
    """F1 of one variant over its seeded repeats, with a 95 % interval.

    Attributes:
        f1: Mean F1 over the runs (the full test split each).
        ci95: Percentile interval over resampled examples plus the seed part.
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
        p_within_budget: Bootstrap share: the share of resamples with ΔF1 >= -budget.
            Not the probability that the candidate is feasible.
        budget_pct: The accepted loss (non-negative percent).
        confidence: Confidence of the one-sided bounds.
        n_seeds_baseline: Baseline runs behind it.
        n_seeds_candidate: Candidate runs behind it.
        n_examples: Test examples, shared by both arms.
        n_resamples: Bootstrap resamples.
        seed_design: How the seed part was formed (``paired rounds``, ``unpaired``,
            ``borrowed`` or ``none``; see :mod:`greensearch.stats._seeds`).
        seed_df: Degrees of freedom of the seed part.
        p_value: One-sided p-value of "the loss exceeds the budget": the share of
            resamples below -budget (what a multiple-testing rule over finalists reads).
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
    seed_design: SeedDesign = "unpaired"
    seed_df: float = float("inf")
    p_value: float = 0.5

    @property
    def bootstrap_share(self) -> float:
        """:attr:`p_within_budget` under the name that says what it is."""
        return self.p_within_budget


def f1_matrix(runs: Sequence[RunPredictions], weights: np.ndarray) -> np.ndarray:
    """The task metric of every run under every example weighting: ``(resamples, runs)``.

    ``weights`` has shape ``(resamples, examples)`` (how often each example is drawn; all
    ones is the full split). Classifiers score F1 as the pipeline's metrics (binary:
    positive-class F1, else macro F1 over the classes seen; a class with no true,
    predicted or correct example scores 0, as sklearn's ``zero_division=0``); other tasks
    their own metric (see :mod:`greensearch.stats._metric`).
    """
    return metric_matrix(runs, weights)


def _example_weights(rng: np.random.Generator, resamples: int, n: int) -> np.ndarray:
    """How often each example is drawn in each resample (rows sum to ``n``)."""
    draws = rng.integers(0, n, size=(resamples, n))
    flat = draws + (np.arange(resamples) * n)[:, None]
    counts = np.bincount(flat.ravel(), minlength=resamples * n)
    return counts.reshape(resamples, n).astype(np.float32)


def _check_split(*arms: Sequence[RunPredictions]) -> int:
    runs = [run for arm in arms for run in arm]
    if any(not arm for arm in arms):
        raise ValueError("every arm of a comparison needs at least one run with predictions")
    splits = {run.split_id for run in runs}
    if len(splits) != 1:
        raise ValueError(f"runs were scored on different test splits: {sorted(splits)}")
    metrics = {run.metric for run in runs}
    if len(metrics) != 1:
        raise ValueError(f"runs were scored with different metrics: {sorted(metrics)}")
    first = runs[0]
    if any(not np.array_equal(run.labels, first.labels) for run in runs[1:]):
        raise ValueError("runs with the same split identity hold different labels")
    return first.n


def full_f1(runs: Sequence[RunPredictions]) -> np.ndarray:
    """F1 of each run on its full test split."""
    return f1_matrix(runs, np.ones((1, runs[0].n)))[0]


def example_matrices(
    arms: Sequence[Sequence[RunPredictions]], n_resamples: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """Per arm, F1 of each run under resampled examples shared by all arms and runs."""
    n = _check_split(*arms)
    chunk = max(1, _CHUNK_CELLS // n)
    out: list[list[np.ndarray]] = [[] for _ in arms]
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        weights = _example_weights(rng, size, n)
        for i, arm in enumerate(arms):
            out[i].append(f1_matrix(arm, weights))
        done += size
    return [np.concatenate(parts) for parts in out]


def _interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)


def f1_interval(
    runs: Sequence[RunPredictions], *, n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> F1Interval:
    """Mean F1 of ``runs`` with a 95 % interval over resampled examples and seeds.

    With one run the interval holds the test-split sampling only; say so where it is shown.
    """
    rng = np.random.default_rng(seed)
    (matrix,) = example_matrices([runs], n_resamples, rng)
    f1 = full_f1(runs)
    spread = float(np.std(f1, ddof=1) / np.sqrt(f1.size)) if f1.size >= 2 else 0.0
    part = SeedPart(spread, f1.size - 1.0, "unpaired") if spread > 0 else _NO_SPREAD
    means = matrix.mean(axis=1) + part.draws(rng, n_resamples)
    return F1Interval(
        f1=float(f1.mean()),
        ci95=_interval(means),
        n_seeds=len(runs),
        n_examples=runs[0].n,
        n_resamples=n_resamples,
    )


_NO_SPREAD = SeedPart(0.0, float("inf"), "none")


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
    paired: bool | None = None,
) -> DeltaF1:
    """ΔF1 of ``candidate`` against ``baseline``: point, intervals and the bootstrap share.

    Args:
        baseline: The baseline's runs (seeded repeats), all on one test split.
        candidate: The candidate's runs, on the same split.
        budget_pct: The accepted F1 loss, a non-negative percentage (1.0 for ``-1%``).
        confidence: Confidence of the one-sided bounds the verdict uses; 0.5 makes both
            bounds the point estimate (the point-estimate rule).
        n_resamples: Bootstrap resamples.
        seed: Seed of the resampling (the result is reproducible).
        paired: Whether run i of both arms ran in one round (same seed, same stretch of
            machine time). ``None``: paired when both arms list the same distinct seeds
            in the same order. Pass the runs of one round at one index.

    Raises:
        ValueError: an arm without runs, runs on different splits, a baseline F1 of zero,
            a confidence outside [0.5, 1), or ``paired`` with arms of different sizes.
    """
    if not 0.5 <= confidence < 1:
        raise ValueError(f"confidence must be in [0.5, 1), got {confidence}")
    rng = np.random.default_rng(seed)
    base_m, cand_m = example_matrices([baseline, candidate], n_resamples, rng)
    base_runs, cand_runs = full_f1(baseline), full_f1(candidate)
    base_f1, cand_f1 = float(base_runs.mean()), float(cand_runs.mean())
    if base_f1 <= 0:
        label = task_metric(baseline[0].metric).label
        raise ValueError(f"the baseline's {label} is 0: a relative Δ{label} is undefined")
    if paired is None:
        paired = paired_by_seed([r.seed for r in baseline], [r.seed for r in candidate])
    elif paired and len(baseline) != len(candidate):
        raise ValueError(f"paired arms need as many runs: {len(baseline)} vs {len(candidate)}")
    part = seed_part(base_runs, cand_runs, paired=paired)
    seeds = 100.0 * part.draws(rng, n_resamples) / base_f1
    deltas = _relative_pct(cand_m.mean(axis=1), base_m.mean(axis=1))
    deltas = deltas + seeds[: deltas.size]
    point = 100.0 * (cand_f1 - base_f1) / base_f1
    if confidence == 0.5:
        lower = upper = point
    else:
        lower, upper = (float(q) for q in np.quantile(deltas, [1 - confidence, confidence]))
    share = float(np.mean(deltas >= -budget_pct))
    return DeltaF1(
        mean_pct=point,
        ci95_pct=_interval(deltas),
        lower_pct=lower,
        upper_pct=upper,
        p_within_budget=share,
        budget_pct=budget_pct,
        confidence=confidence,
        n_seeds_baseline=len(baseline),
        n_seeds_candidate=len(candidate),
        n_examples=baseline[0].n,
        n_resamples=int(deltas.size),
        seed_design=part.design,
        seed_df=part.df,
        p_value=1.0 - share,
    )
