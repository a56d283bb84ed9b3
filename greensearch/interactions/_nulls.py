"""What a bundle should measure if its knobs did not interact, and the verdict on the gap.

For a bundle of components measured alone with ΔEnergy ``d_c`` (percent of the baseline):

* additive null: expected Δ = Σ d_c;
* multiplicative null (independent fractional savings): expected Δ = (Π(1 + d_c/100) - 1)·100,
  the same model the checker predicts with (a product of energy ratios).

The verdict compares the *excess saving* (measured saving minus expected saving, percentage
points) with a noise band: above it synergistic, below minus it antagonistic, otherwise
independent (within noise).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

__all__ = [
    "InteractionVerdict",
    "expected_additive_pct",
    "expected_multiplicative_pct",
    "interaction_verdict",
]

InteractionVerdict = Literal["synergistic", "antagonistic", "independent", "not_judgeable"]


def expected_additive_pct(deltas_pct: Iterable[float]) -> float:
    """Expected Δ (percent) under the additive null: the sum of the components' Δ."""
    return sum(deltas_pct)


def expected_multiplicative_pct(deltas_pct: Iterable[float]) -> float:
    """Expected Δ (percent) under the multiplicative null: the product of the ratios, less 1."""
    return (math.prod(1.0 + d / 100.0 for d in deltas_pct) - 1.0) * 100.0


def interaction_verdict(excess_saving_pp: float, band_pp: float) -> InteractionVerdict:
    """``synergistic`` above the band, ``antagonistic`` below minus it, else ``independent``;
    ``not_judgeable`` for a NaN excess (no expectation)."""
    if math.isnan(excess_saving_pp):
        return "not_judgeable"
    if excess_saving_pp > band_pp:
        return "synergistic"
    if excess_saving_pp < -band_pp:
        return "antagonistic"
    return "independent"
