"""Search: the Optuna study over knob bundles and the orthogonality checker that prunes it.

:func:`optimize` runs the study; before each sampled trial it asks
:meth:`OrthogonalityChecker.verdict` whether the combination is worth its energy, and every
measurement feeds :meth:`OrthogonalityChecker.observe`.
"""

from __future__ import annotations

from greensearch._search_result import SearchResult, build_result
from greensearch.interactions import (
    Footprint,
    Interaction,
    MeasuredRow,
    NoiseEstimate,
    OrthogonalityChecker,
    Overlap,
    Prediction,
    StaticCheck,
    Verdict,
    equivalent_pairs,
    estimate_table_noise,
    is_allowed,
    noise_from_pairs,
    noise_from_repeats,
    observe_rows,
    read_paper_table,
    static_check,
)
from greensearch.search._check_report import CheckReport, check_bundle, rows_from_table
from greensearch.search._replay import Point, ReplayNoise, ReplayRunner, RunNoise
from greensearch.search._settings import METERS, SearchSettings, load_registry
from greensearch.search._space import SearchSpace, build_space
from greensearch.search._study import SAMPLERS, optimize

__all__ = [
    "METERS",
    "SAMPLERS",
    "SearchResult",
    "SearchSettings",
    "load_registry",
    "Point",
    "ReplayNoise",
    "ReplayRunner",
    "RunNoise",
    "SearchSpace",
    "build_result",
    "build_space",
    "optimize",
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
    "rows_from_table",
    "static_check",
]
