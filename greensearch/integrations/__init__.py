"""greensearch around code it did not write: a user's ``Trainer`` or a user's script.

Each integration is a run_fn for the one search (:func:`greensearch.search.optimize`),
producing run records shaped like the staged pipeline's, so storage, resume, seeds,
statistics, finals and reports are the same as for ``greensearch optimize``.
"""

from __future__ import annotations

from greensearch.integrations._common import search_with_runner
from greensearch.integrations._hf import TrainerRunner
from greensearch.integrations._hf_task import KnobFit, TrainerTask, fit_knobs
from greensearch.integrations._reporter import (
    BUNDLE_ENV,
    FIDELITY_ENV,
    REPORT_ENV,
    SEED_ENV,
    ScriptTrial,
    report_run,
    script_trial,
)
from greensearch.integrations._script import (
    SCRIPT_WINDOW,
    ScriptRunner,
    declared_knobs,
    script_include,
    script_search,
)

__all__ = [
    "BUNDLE_ENV",
    "FIDELITY_ENV",
    "KnobFit",
    "REPORT_ENV",
    "SCRIPT_WINDOW",
    "SEED_ENV",
    "ScriptRunner",
    "ScriptTrial",
    "TrainerRunner",
    "TrainerTask",
    "declared_knobs",
    "fit_knobs",
    "report_run",
    "script_include",
    "script_search",
    "script_trial",
    "search_with_runner",
]
