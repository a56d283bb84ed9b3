"""Feed the orthogonality checker from a study's stored trials.

Workers share a study, so the checker is rebuilt from storage before each decision:
every measured trial at the search fidelity is one observation (energy relative to the
baseline, ΔF1), and the noise is the relative spread of the repeated baseline runs.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING

from greensearch.interactions._model import OrthogonalityChecker
from greensearch.knobs import KnobRegistry, parse_bundle
from greensearch.record import attrs_of, measured
from greensearch.schema import TrialAttr

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial

__all__ = ["checker_from_study", "checker_from_trials", "baseline_noise", "FALLBACK_NOISE_REL"]

#: Relative energy noise assumed while the baseline has fewer than two runs.
FALLBACK_NOISE_REL = 0.05


def baseline_noise(runs: list[float]) -> float:
    """Relative standard deviation of repeated baseline energies (fallback if < 2 runs)."""
    if len(runs) < 2:
        return FALLBACK_NOISE_REL
    return statistics.stdev(runs) / statistics.fmean(runs)


def checker_from_study(
    registry: KnobRegistry, study: Study, fidelity: float
) -> OrthogonalityChecker:
    """A checker that knows every measurement stored at ``fidelity``."""
    return checker_from_trials(registry, study.get_trials(deepcopy=False), fidelity)


def checker_from_trials(
    registry: KnobRegistry, trials: Sequence[FrozenTrial], fidelity: float
) -> OrthogonalityChecker:
    """The same from trials already read (a caller that needs them too reads storage once)."""
    trials = measured(trials, fidelity)
    base = next((t for t in trials if attrs_of(t).get(TrialAttr.KNOBS) == ""), None)
    noise = baseline_noise(attrs_of(base).get("energy_kwh_runs", []) if base else [])
    checker = OrthogonalityChecker(registry, noise_rel=noise)
    if base is None:
        return checker
    for t in trials:
        knobs = attrs_of(t).get(TrialAttr.KNOBS)
        if not knobs or attrs_of(t).get("degenerate"):
            continue
        checker.observe(
            parse_bundle(knobs),
            energy_ratio=t.values[0] / base.values[0],
            delta_f1_pct=attrs_of(t).get("delta_f1_pct", 0.0),
        )
    return checker
