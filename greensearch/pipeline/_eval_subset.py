"""Which test examples a short search run predicts.

A short run's F1 resolves only large losses (its seed-to-seed spread is many times the
F1 budget), yet predicting the whole test split costs it as much as its training: on the
embedded study at fidelity 0.25 the eval window was about half of a short run. A short
run therefore predicts the same share of the test split as the share of training it
runs, never fewer than :data:`MIN_EVAL_EXAMPLES`, and its eval window is scaled back to
the whole split (``greensearch.search._extrapolate``). Every run of a study at one
fidelity predicts the same examples (chosen by the study's split seed), so short runs
still pair example by example with the short baseline runs; full runs predict them all.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MIN_EVAL_EXAMPLES", "SHORT_RUN_EVAL", "eval_count", "eval_indices"]

#: Fewest test examples a short run predicts: enough for the F1 of a short run to be
#: dominated by its seed spread, not by which examples were drawn.
MIN_EVAL_EXAMPLES = 500

#: The rule in words, stored with a study: short runs of two rules cannot be compared
#: (the eval window is extrapolated per timed batch since ``_clocks``).
SHORT_RUN_EVAL = (
    f"the fidelity's share of the test split, at least {MIN_EVAL_EXAMPLES} examples, "
    "extrapolated per timed batch"
)


def eval_count(n_test: int, fraction: float) -> int:
    """How many test examples a run at ``fraction`` predicts (``n_test``: all of them)."""
    if not 0 < fraction:
        raise ValueError(f"eval fraction must be positive, got {fraction}")
    return min(max(math.ceil(n_test * fraction), MIN_EVAL_EXAMPLES), n_test)


def eval_indices(n_test: int, fraction: float, seed: int) -> list[int] | None:
    """Sorted test indices a run predicts, or ``None`` for the whole split.

    Args:
        n_test: Examples in the test split.
        fraction: Share to predict (the run's fidelity); 1 or more: all.
        seed: The study's split seed, so every run at one fidelity draws the same examples.
    """
    n = eval_count(n_test, fraction)
    if n >= n_test:
        return None
    picked = np.random.default_rng(seed).permutation(n_test)[:n]
    return sorted(int(i) for i in picked)
