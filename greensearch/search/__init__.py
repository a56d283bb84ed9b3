"""Search: the orthogonality checker that decides which knob combinations are worth measuring.

The Optuna study (``_study.py``) calls :meth:`OrthogonalityChecker.verdict` before each trial
and :meth:`OrthogonalityChecker.observe` after it.
"""

from __future__ import annotations

from greensearch.search._measurements import (
    MeasuredRow,
    NoiseEstimate,
    equivalent_pairs,
    estimate_table_noise,
    noise_from_pairs,
    noise_from_repeats,
    observe_rows,
    read_paper_table,
)
from greensearch.search._orthogonality import (
    Interaction,
    OrthogonalityChecker,
    Prediction,
    Verdict,
)
from greensearch.search._report import CheckReport, check_bundle
from greensearch.search._static import (
    Footprint,
    Overlap,
    StaticCheck,
    is_allowed,
    static_check,
)

__all__ = [
    "CheckReport",
    "Footprint",
    "Interaction",
    "MeasuredRow",
    "NoiseEstimate",
    "OrthogonalityChecker",
    "Overlap",
    "Prediction",
    "StaticCheck",
    "Verdict",
    "check_bundle",
    "equivalent_pairs",
    "estimate_table_noise",
    "is_allowed",
    "noise_from_pairs",
    "noise_from_repeats",
    "observe_rows",
    "read_paper_table",
    "static_check",
]
