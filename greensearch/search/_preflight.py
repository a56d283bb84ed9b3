"""The search's preflight: every input ``optimize`` will use, checked before any work.

It runs the generic checks of :mod:`greensearch.preflight` (study, dataset, paths) and the
search's own (knob space, seed trials, storage URL), and reports every problem at once.
Nothing here creates a file, opens a storage or reads a meter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greensearch.config import StudyConfig
from greensearch.preflight import Preflight, file_problem, storage_problem
from greensearch.preflight._commands import _at_least, _fidelity
from greensearch.preflight._inputs import check_dataset, check_study
from greensearch.search._settings import SAMPLERS
from greensearch.search._space import build_space
from greensearch.search._storage import default_storage_url

__all__ = ["CheckedSearch", "preflight_search"]

#: Optuna's samplers seed numpy's ``RandomState``, which takes 0 .. 2**32 - 1.
_SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class CheckedSearch:
    """What ``optimize`` needs once its preflight passed."""

    study: StudyConfig
    budget_pct: float
    space: Any
    storage: Any
    study_name: str
    n_trials: int
    n_seeds: int
    notes: list[str] = field(default_factory=list)


def preflight_search(
    study: str | Path | StudyConfig | None,
    *,
    budget_f1: str | float,
    n_trials: int | None,
    study_name: str | None,
    storage: str | Any | None,
    sampler: str,
    fidelity: float,
    repeats: int,
    baseline_repeats: int,
    finalists: int,
    near_misses: int,
    n_workers: int,
    seed: int,
    include: list[str] | None,
    exclude: list[str] | None,
    results_path: str | Path | None,
    registry: Any,
    check_data: bool = True,
    confidence: float = 0.95,
    machine: Any = None,
) -> CheckedSearch:
    """Check everything ``optimize`` will use, before its storage exists.

    Args:
        check_data: Load the dataset too (off when runs are replayed, not trained).
        machine: The :class:`~greensearch.machine.Machine` trials run on: precision values
            it only emulates leave the search space (``None``: unknown, keep them).

    Raises:
        PreflightError: every problem found, one line each.
    """
    from greensearch._budget import parse_f1_budget

    pf = Preflight()
    cfg = check_study(pf, study)
    budget = (
        float(budget_f1)
        if isinstance(budget_f1, float | int)
        else pf.attempt(parse_f1_budget, budget_f1)
    )
    budget = abs(budget) if budget is not None else None
    _fidelity(pf, fidelity)
    for flag, value, least in (
        ("--repeats", repeats, 1),
        ("--baseline-repeats", baseline_repeats, 1),
        ("--finalists", finalists, 1),
        ("--near-misses", near_misses, 0),
        ("--n-workers", n_workers, 1),
    ):
        _at_least(pf, flag, value, least)
    if not 0.5 <= confidence < 1:
        pf.problem(f"--confidence must be in [0.5, 1), got {confidence:g}")
    if sampler not in SAMPLERS:
        pf.problem(f"unknown sampler '{sampler}'; use one of {', '.join(SAMPLERS)}")
    top = _SEED_MAX - max(n_workers - 1, 0)
    if not 0 <= seed <= top:
        pf.problem(f"--seed must be in 0..{top} (the sampler's range), got {seed}")
    space = None
    before = len(pf.problems)
    for knob in [*(include or []), *(exclude or [])]:  # every misspelt name, not the first
        pf.attempt(registry.get, knob)
    if cfg is not None and len(pf.problems) == before:
        excluded = sorted(set(exclude or []) | set(cfg.search_exclude)) or None
        space = pf.attempt(
            build_space, registry, cfg, include=include, exclude=excluded, machine=machine
        )
    n_seeds = 1 + len(space.singles()) if space is not None else 0
    total = n_trials if n_trials is not None else n_seeds + 8
    if space is not None and total < n_seeds:
        pf.problem(
            f"--n-trials {total} is fewer than the {n_seeds} seed trials (the baseline and "
            f"each of {n_seeds - 1} knobs alone, which the search needs first); use "
            f"--n-trials {n_seeds} or more, or --include fewer knobs"
        )
    elif total < 1:
        pf.problem(f"--n-trials must be at least 1, got {total}")
    name = study_name or (f"{cfg.name}-f1-{budget:g}" if cfg and budget is not None else "")
    url = storage
    if storage is None and name:
        url = default_storage_url(name, create=False)
    if isinstance(url, str):
        pf.problem(storage_problem(url))
    elif n_workers > 1:
        pf.problem("--n-workers needs a storage URL the workers can open")
    if results_path is not None:
        pf.problem(file_problem(results_path, "--results"))
    if cfg is not None and check_data:
        check_dataset(pf, cfg)
    pf.raise_if_any()
    assert cfg is not None and budget is not None
    return CheckedSearch(
        study=cfg,
        budget_pct=budget,
        space=space,
        storage=url,
        study_name=name,
        n_trials=total,
        n_seeds=n_seeds,
        notes=pf.notes,
    )
