"""Call ``optimize`` from the keyword style the search tests are written in.

Settings go into a :class:`SearchSettings` (validated there, as in the CLI); the objects a
worker process could not receive (storage or meter objects, a registry object, the replay
runner) are passed to ``optimize`` beside it.
"""

from __future__ import annotations

from typing import Any

from greensearch._budget import parse_f1_budget
from greensearch.config import StudyConfig
from greensearch.search import SearchResult, SearchSettings, optimize

_OBJECTS = ("storage", "meter", "registry", "run_fn", "progress", "machine", "left_out")


def run_search(study: StudyConfig, **kw: Any) -> SearchResult:
    """``optimize(SearchSettings(study=study, ...), storage=..., meter=..., ...)``."""
    objects = {k: kw.pop(k) for k in _OBJECTS if k in kw and not isinstance(kw[k], str)}
    budget = kw.pop("budget_f1", "-1%")
    kw["budget_f1_pct"] = budget if isinstance(budget, float) else parse_f1_budget(budget)
    if kw.get("results_path") is not None:
        kw["results_path"] = str(kw["results_path"])
    return optimize(SearchSettings(study=study, **kw), **objects)


def grid_search(run_fn: Any, **kw: Any) -> SearchResult:
    """``run_search`` over every combination of the replay landscape's ``prune``, ``trim``
    and ``compile`` (4 seeds and the grid's 8 points, 12 trials; no pruning, no guide), at
    fidelity 0.5, in an in-memory study ``r``; ``kw`` overrides any setting."""
    import optuna

    from tests.search.landscape import make_registry

    args: dict[str, Any] = {
        "budget_f1": "-1%",
        "n_trials": 12,
        "study_name": "r",
        "sampler": "grid",
        "prune": False,
        "guide": False,
        "include": ["prune", "trim", "compile"],
        "fidelity": 0.5,
        "registry": make_registry(),
        "idle_seconds": 0,
        "storage": optuna.storages.InMemoryStorage(),
        "run_fn": run_fn,
    }
    args.update(kw)
    return run_search(StudyConfig(name="replay", source="<replay>"), **args)
