"""The interaction model: do knobs compound, and what would a bundle measure if they did?

Pure Python and numpy, no Optuna and no pandas, so the search (which adapts its trials into
observations) and the analysis (which views the same model as tables) share one home for
it: observations and the paper's table reader, the static resource check, the learned
model with its pair terms and prune rule, noise from repeats or from runs that should agree,
and the additive and multiplicative null models with their verdict.
"""

from __future__ import annotations

from greensearch.interactions._model import (
    Interaction,
    OrthogonalityChecker,
    Prediction,
    Verdict,
)
from greensearch.interactions._noise import (
    SIDE_INSENSITIVE_KNOBS,
    NoiseEstimate,
    equivalent_pairs,
    estimate_table_noise,
    noise_from_pairs,
    noise_from_repeated_rows,
    noise_from_repeats,
)
from greensearch.interactions._nulls import (
    BundleJudgement,
    InteractionVerdict,
    expected_additive_pct,
    expected_multiplicative_pct,
    interaction_band_pp,
    interaction_verdict,
    judge_bundle,
)
from greensearch.interactions._observations import MeasuredRow, observe_rows, read_paper_table
from greensearch.interactions._static import (
    Footprint,
    Overlap,
    StaticCheck,
    is_allowed,
    static_check,
)

__all__ = [
    "SIDE_INSENSITIVE_KNOBS",
    "BundleJudgement",
    "Footprint",
    "Interaction",
    "InteractionVerdict",
    "MeasuredRow",
    "NoiseEstimate",
    "OrthogonalityChecker",
    "Overlap",
    "Prediction",
    "StaticCheck",
    "Verdict",
    "equivalent_pairs",
    "estimate_table_noise",
    "expected_additive_pct",
    "expected_multiplicative_pct",
    "interaction_band_pp",
    "interaction_verdict",
    "is_allowed",
    "judge_bundle",
    "noise_from_pairs",
    "noise_from_repeated_rows",
    "noise_from_repeats",
    "observe_rows",
    "read_paper_table",
    "static_check",
]
