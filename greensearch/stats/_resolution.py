"""What a comparison of a given design can resolve: the resolution and the 80 % power.

Why per design: a search trial trains once against its baseline's n runs (1 vs n, at
search fidelity) while the finals run n rounds of each arm (n vs n). The one run's own
seed spread makes 1 vs n much coarser than n vs n, and a slack or a warning computed
for the wrong design is optimistic. Both are worked out from the baseline's runs alone,
as a null comparison of two arms that differ only by noise, with the same two parts
:func:`greensearch.stats.delta_f1` adds: the example part (run-to-run disagreement on
test examples, resampled) and the seed part (a scaled t on n-1 degrees of freedom).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from greensearch.stats._bootstrap import DEFAULT_RESAMPLES, example_matrices, full_f1
from greensearch.stats._predictions import RunPredictions
from greensearch.stats._seeds import SeedPart

__all__ = ["Design", "f1_power", "f1_resolution"]

#: ``n_vs_n``: n rounds of each arm (the finals); ``one_vs_n``: one run against n.
Design = Literal["n_vs_n", "one_vs_n"]

#: Power the smallest detectable loss is quoted at.
POWER = 0.8


def _null(
    baseline: Sequence[RunPredictions], design: Design, n_resamples: int, seed: int
) -> np.ndarray | None:
    """Draws of a null ΔF1 (percent) for ``design``: the spread of its estimate."""
    n = len(baseline)
    if n < 2:
        return None
    if design not in ("n_vs_n", "one_vs_n"):
        raise ValueError(f"unknown design {design!r}; use 'n_vs_n' or 'one_vs_n'")
    rng = np.random.default_rng(seed)
    (matrix,) = example_matrices([baseline], n_resamples, rng)
    f1 = full_f1(baseline)
    base = float(f1.mean())
    if base <= 0:
        raise ValueError("the baseline's F1 is 0: a relative ΔF1 is undefined")
    # Two distinct runs per resample: their difference, centred, is per-example disagreement.
    first = np.arange(n_resamples) % n
    second = (first + 1 + (np.arange(n_resamples) // n) % (n - 1)) % n
    rows = np.arange(n_resamples)
    pair = matrix[rows, first] - matrix[rows, second] - (f1[first] - f1[second])
    # A pair's difference holds the disagreement of 2 runs; the design's difference of
    # means holds that of 2/n runs (n vs n) or 1 + 1/n runs (1 vs n).
    share = 1.0 / n if design == "n_vs_n" else (1.0 + 1.0 / n) / 2.0
    examples = 100.0 * np.sqrt(share) * pair / base
    spread = float(np.std(f1, ddof=1))
    runs = 2.0 / n if design == "n_vs_n" else 1.0 + 1.0 / n
    part = SeedPart(100.0 * spread * np.sqrt(runs) / base, n - 1.0, "unpaired")
    return examples + part.draws(rng, n_resamples)


def f1_resolution(
    baseline: Sequence[RunPredictions],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    design: Design = "n_vs_n",
) -> float | None:
    """The smallest F1 loss (percent) a comparison of ``design`` on this task can resolve.

    It is how far the one-sided bound at ``confidence`` sits below a lossless bundle's
    ΔF1: a budget below it cannot confirm even a bundle that truly loses nothing, and at
    a budget equal to it such a bundle passes about half the time (see
    :func:`f1_power`). ``None`` with fewer than two baseline runs: one seed says nothing
    about the seed-to-seed spread.
    """
    null = _null(baseline, design, n_resamples, seed)
    if null is None:
        return None
    return max(0.0, float(-np.quantile(null, 1 - confidence)))


def f1_power(
    baseline: Sequence[RunPredictions],
    *,
    confidence: float = 0.95,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    design: Design = "n_vs_n",
) -> float | None:
    """The F1 margin (percent) a comparison of ``design`` resolves 80 % of the time.

    A lossless bundle is confirmed within a budget this large 80 % of the time, and a
    loss this much beyond the budget is flagged as infeasible 80 % of the time: the
    resolution plus the 80 % quantile of the estimate's own spread (the same draws).
    ``None`` with fewer than two baseline runs.
    """
    null = _null(baseline, design, n_resamples, seed)
    if null is None:
        return None
    resolution = max(0.0, float(-np.quantile(null, 1 - confidence)))
    return resolution + float(np.quantile(null, POWER))
