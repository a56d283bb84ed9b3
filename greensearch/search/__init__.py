"""Search: the Optuna study over knob bundles, its preflight, its result and the checker.

:func:`optimize` runs the study from one :class:`SearchSettings`; before each sampled trial
the orthogonality checker (:mod:`greensearch.interactions`) says whether the combination
is worth its energy. :func:`check_bundle` asks it about one bundle without a search.
"""

from __future__ import annotations

from greensearch.search._check_report import CheckReport, check_bundle, rows_from_table
from greensearch.search._preflight import preflight_search, preflight_settings
from greensearch.search._replay import Point, ReplayNoise, ReplayRunner, RunNoise
from greensearch.search._result import SearchResult
from greensearch.search._result_row import ResultRow
from greensearch.search._result_text import format_result
from greensearch.search._settings import SearchSettings, load_registry
from greensearch.search._space import build_space
from greensearch.search._study import optimize

__all__ = [
    "CheckReport",
    "Point",
    "ReplayNoise",
    "ReplayRunner",
    "ResultRow",
    "RunNoise",
    "SearchResult",
    "SearchSettings",
    "build_space",
    "check_bundle",
    "format_result",
    "load_registry",
    "optimize",
    "preflight_search",
    "preflight_settings",
    "rows_from_table",
]
