"""What a bundle should measure if its knobs did not interact, and the verdict on the gap.

For a bundle of components measured alone with ΔEnergy ``d_c`` (percent of the baseline):

* additive null: expected Δ = Σ d_c;
* multiplicative null (independent fractional savings): expected Δ = (Π(1 + d_c/100) - 1)·100,
  the same model the checker predicts with (a product of energy ratios).

The verdict compares the *excess saving* (measured saving minus expected saving, percentage
points) with a noise band: above it synergistic, below minus it antagonistic, otherwise
independent (within noise). The band is built from σ, the relative noise of one run (the one
estimator in :mod:`greensearch.interactions._noise`), by :func:`interaction_band_pp`:
``2σ·sqrt(Σ 1/n)`` over the bundle's row and its components' rows (``n`` runs each), i.e.
``2σ·sqrt(1 + k)`` for a bundle of ``k`` measured components when every row is one run.

Why that band: the excess compares one measurement of the bundle with ``k`` independent
measurements of its parts, so (errors being independent, each σ/√n) its std is
``σ·sqrt(Σ 1/n)``; two of those keep a bundle that really is independent out of "synergistic"
or "antagonistic" about 19 times in 20, and we would rather call a bundle independent than
sell noise as synergy. At ``k = 1`` it is the checker's prune margin (``2·√2·σ``, two runs
compared), so both sides of the model draw the line between noise and effect alike.

Two simplifications, stated so a reader can dispute them: σ is relative to each run's own
energy but the band is taken in points of the *baseline* (exact near ratio 1, wider than
needed for cheap bundles: conservative); and the shared baseline's own error, which enters
the excess ``k - 1`` times, is not counted. A search repeats its baseline, which shrinks
that term; on the paper's single-run table counting it would widen a 3-knob band by √2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "BundleJudgement",
    "InteractionVerdict",
    "expected_additive_pct",
    "expected_multiplicative_pct",
    "interaction_band_pp",
    "interaction_verdict",
    "judge_bundle",
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


def interaction_band_pp(noise_rel: float, runs: Sequence[float]) -> float:
    """The noise band in percentage points: ``2σ·sqrt(Σ 1/n)·100`` (see the module docstring).

    Args:
        noise_rel: σ, the relative energy noise of one run (``0.01`` is 1 %).
        runs: runs behind each measurement compared: the bundle's, then each measured
            component's (all ``1`` for single-run tables: ``2σ·sqrt(1 + k)``).
    """
    return 2.0 * noise_rel * math.sqrt(sum(1.0 / n for n in runs)) * 100.0


@dataclass(frozen=True, slots=True)
class BundleJudgement:
    """A measured bundle against the multiplicative null, with the band that judged it.

    Attributes:
        measured_energy_ratio: bundle energy / baseline energy, as measured.
        expected_energy_ratio: product of the components' ratios measured alone.
        excess_saving_pp: measured saving minus expected saving, points of the baseline.
        band_pp: :func:`interaction_band_pp` of this bundle.
        verdict: :func:`interaction_verdict` of the excess against the band.
    """

    measured_energy_ratio: float
    expected_energy_ratio: float
    excess_saving_pp: float
    band_pp: float
    verdict: InteractionVerdict


def judge_bundle(
    measured_energy_ratio: float,
    expected_energy_ratio: float,
    *,
    noise_rel: float,
    runs: Sequence[float],
) -> BundleJudgement:
    """Judge one bundle: the one rule ``check`` and ``synergy`` both apply.

    Args:
        measured_energy_ratio: the bundle's measured ratio to the baseline.
        expected_energy_ratio: the multiplicative null's ratio.
        noise_rel: σ of one run.
        runs: as in :func:`interaction_band_pp`.
    """
    excess = (expected_energy_ratio - measured_energy_ratio) * 100.0
    band = interaction_band_pp(noise_rel, runs)
    return BundleJudgement(
        measured_energy_ratio,
        expected_energy_ratio,
        excess,
        band,
        interaction_verdict(excess, band),
    )
