"""The seed part of an F1 comparison: how much ΔF1 moves with the training seeds.

Why a t-distribution and not a bootstrap over seeds: with the 2 to 5 seeds greensearch
runs, resampling seeds shrinks their variance by (n-1)/n and gives normal-like
quantiles where Student's t with n-1 degrees of freedom applies, so a 95 % interval
covered about 83 % when seeds dominate. Here the seed part is a scaled t draw: its scale
is the standard error of the mean difference from the runs' F1 on the full split, its
degrees of freedom those that scale rests on. It is added to the bootstrap over test
examples (runs held fixed), which carries the example part.

Four designs:

- ``paired rounds``: both arms ran the same seeds (round r: seed s+r in each arm). The
  per-round differences are the unit; their standard deviation over n rounds gives the
  scale, with n-1 degrees of freedom (rounds are resampled jointly, in effect).
- ``unpaired``: each arm's own spread, Welch's standard error and degrees of freedom.
- ``borrowed``: one arm has a single run (a search trial against its baseline's seeds):
  it borrows the other arm's spread, with that arm's n-1 degrees of freedom.
- ``none``: no arm has two runs; only the test examples are resampled, and a verdict on
  it is "uncertain" at best (see :func:`greensearch.stats.judge`).

The run-to-run disagreement on single examples is counted in both parts (it moves each
run's F1 and shows in the example bootstrap), which errs on the wide side by at most
the example part's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["SeedDesign", "SeedPart", "seed_part"]

SeedDesign = Literal["paired rounds", "unpaired", "borrowed", "none"]


@dataclass(frozen=True, slots=True)
class SeedPart:
    """Standard error of a mean F1 difference from seeds, and its degrees of freedom.

    Attributes:
        se: Standard error, in the units of the F1s given (0 where no spread is known).
        df: Degrees of freedom of ``se`` (``inf`` where ``se`` is 0).
        design: How the arms' runs were combined.
    """

    se: float
    df: float
    design: SeedDesign

    def draws(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of the seed part (scaled Student t)."""
        if self.se == 0.0:
            return np.zeros(size)
        return self.se * rng.standard_t(self.df, size=size)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of the seed part."""
        from scipy import stats

        return 0.0 if self.se == 0.0 else float(self.se * stats.t.ppf(q, self.df))


def paired_by_seed(baseline_seeds: list[int | None], candidate_seeds: list[int | None]) -> bool:
    """Whether run i of each arm shares one seed, for every i, with two runs or more."""
    return (
        len(baseline_seeds) == len(candidate_seeds) >= 2
        and None not in baseline_seeds
        and baseline_seeds == candidate_seeds
        and len(set(baseline_seeds)) == len(baseline_seeds)
    )


def seed_part(baseline: np.ndarray, candidate: np.ndarray, *, paired: bool) -> SeedPart:
    """The seed part of ``mean(candidate) - mean(baseline)`` (full-split F1 per run).

    Args:
        baseline: F1 of each baseline run.
        candidate: F1 of each candidate run (aligned with ``baseline`` when ``paired``).
        paired: Whether run i of each arm ran in one round with one seed.
    """
    nb, nc = baseline.size, candidate.size
    if paired:
        diffs = candidate - baseline
        return SeedPart(float(np.std(diffs, ddof=1) / np.sqrt(nb)), nb - 1.0, "paired rounds")
    if nb < 2 and nc < 2:
        return SeedPart(0.0, float("inf"), "none")
    if nb < 2 or nc < 2:
        donor = baseline if nb >= 2 else candidate
        var = float(np.var(donor, ddof=1))
        se = np.sqrt(var * (1.0 / nb + 1.0 / nc))
        return SeedPart(float(se), donor.size - 1.0, "borrowed")
    vb, vc = float(np.var(baseline, ddof=1)) / nb, float(np.var(candidate, ddof=1)) / nc
    total = vb + vc
    if total == 0.0:
        return SeedPart(0.0, float("inf"), "unpaired")
    df = total**2 / (vb**2 / (nb - 1) + vc**2 / (nc - 1))
    return SeedPart(float(np.sqrt(total)), float(df), "unpaired")
