"""Simulated runs with known example-level and seed-level noise, to check intervals.

Why: an interval's promise (95 % coverage, a 5 % false-"feasible" rate) is a property
over many studies, which only a simulation with a known truth can check in seconds.

The model, for a binary task with balanced labels: example i has its own chance
``p_i`` of being classified right (spread ``difficulty_sd`` around ``accuracy``), shared
by every run, so the test split's draw moves every run alike (the example level). A
run shifts all its chances by ``shift + seed effect``, the seed effect normal with SD
``seed_sd`` (the seed level), and each example is then right or wrong independently
(the run-to-run disagreement). With symmetric errors a run's expected F1 equals its
mean chance, so a candidate with ``shift = -d`` loses ``d / accuracy`` of the F1, in
relative terms. ``round_correlation`` correlates the seed effects of the arms within a
round (runs paired by seed share some of their luck).

The other task metrics reuse the same chances: for exact match an example scores 1 when
it is right; for entity F1 example i holds 0 to 3 gold entities, each found exactly when
right, and a missed one is predicted with wrong boundaries half the time (a false
positive besides the false negative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from greensearch.stats._predictions import RunPredictions

__all__ = ["NoiseModel", "simulate_arms"]


@dataclass(frozen=True, slots=True)
class NoiseModel:
    """The noise of simulated runs.

    Attributes:
        n_examples: Test examples per split.
        accuracy: Mean chance of a right answer (the expected F1).
        difficulty_sd: SD of the per-example chance around ``accuracy``.
        seed_sd: SD of a run's seed effect, in F1 units (0.02 is two F1 points).
        round_correlation: Correlation of the arms' seed effects within a round.
    """

    n_examples: int = 400
    accuracy: float = 0.85
    difficulty_sd: float = 0.1
    seed_sd: float = 0.0
    round_correlation: float = 0.0

    @property
    def example_se(self) -> float:
        """SE of one run's F1 from drawing the test split, ``sqrt(a (1 - a) / n)``."""
        return float(np.sqrt(self.accuracy * (1 - self.accuracy) / self.n_examples))


def simulate_arms(
    rng: np.random.Generator,
    model: NoiseModel,
    *,
    runs: Sequence[int],
    shifts: Sequence[float],
    first_seed: int = 42,
    metric: str = "f1",
) -> list[list[RunPredictions]]:
    """One test split and, per arm, its runs: arm a has ``runs[a]`` runs, shifted ``shifts[a]``.

    Run r of every arm has seed ``first_seed + r`` (round r), so arms of equal size are
    paired by seed as the finals pair them. ``metric``: ``f1``, ``entity_f1`` or
    ``exact_match``.
    """
    n = model.n_examples
    labels = (np.arange(n) % 2).astype(np.int64)
    chance = np.clip(model.accuracy + model.difficulty_sd * rng.standard_normal(n), 0.0, 1.0)
    gold = rng.integers(0, 4, size=n) if metric == "entity_f1" else labels  # labels: unused
    rounds = max(runs)
    common = rng.standard_normal(rounds)
    rho = model.round_correlation
    arms = []
    for size, shift in zip(runs, shifts, strict=True):
        own = rng.standard_normal(size)
        effect = model.seed_sd * (np.sqrt(rho) * common[:size] + np.sqrt(1 - rho) * own)
        p = chance[None, :] + shift + effect[:, None]
        right = rng.random((size, n)) < p
        classes = np.where(right, labels[None, :], 1 - labels[None, :])
        if metric == "entity_f1":
            tp = rng.binomial(gold[None, :], np.clip(p, 0.0, 1.0))
            fp = rng.binomial(gold[None, :] - tp, 0.5)
            counts = np.stack([tp, fp, gold[None, :] - tp], axis=2)
            arm = [
                RunPredictions.from_entity_counts(
                    split_id="sim", counts=counts[r].tolist(), seed=first_seed + r
                )
                for r in range(size)
            ]
        elif metric == "exact_match":
            arm = [
                RunPredictions.from_scores(
                    split_id="sim",
                    scores=right[r].astype(float).tolist(),
                    metric=metric,
                    seed=first_seed + r,
                )
                for r in range(size)
            ]
        else:
            arm = [
                RunPredictions(
                    split_id="sim", labels=labels, classes=classes[r], seed=first_seed + r
                )
                for r in range(size)
            ]
        arms.append(arm)
    return arms
