"""One preflight per command: every input it will use, checked before any work.

``run`` and ``optimize`` check the study, the model settings, the dataset (loaded and
validated as the runs will), the knobs against the model, the numbers and every path they
will write; the commands that read a stored study check its storage and their outputs.
Nothing here creates a file, opens a storage or reads a meter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greensearch.config import StudyConfig
from greensearch.knobs import Bundle
from greensearch.preflight._core import Preflight
from greensearch.preflight._inputs import check_dataset, check_study
from greensearch.preflight._paths import file_problem, folder_problem, storage_problem

__all__ = [
    "CheckedRun",
    "CheckedSearch",
    "idle_seconds_problem",
    "preflight_read",
    "preflight_run",
    "preflight_search",
]

#: Optuna's samplers seed numpy's ``RandomState``, which takes 0 .. 2**32 - 1.
_SEED_MAX = 2**32 - 1


@dataclass(frozen=True)
class CheckedRun:
    """What ``run`` needs once its preflight passed."""

    study: StudyConfig
    bundle: Bundle
    notes: list[str] = field(default_factory=list)


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


def preflight_run(
    study: str | Path | StudyConfig | None,
    *,
    knobs: str = "",
    variant: str | None = None,
    repeats: int = 1,
    fidelity: float = 1.0,
    idle_seconds: float = 0.0,
    results_path: str | Path | None = None,
    output_dir: str | Path | None = None,
    registry: Any = None,
) -> CheckedRun:
    """Check everything ``greensearch run`` will use.

    Raises:
        PreflightError: every problem found, one line each.
    """
    from greensearch.knobs import default_registry, parse_bundle
    from greensearch.knobs._paper import paper_variant

    pf = Preflight()
    cfg = check_study(pf, study)
    registry = registry if registry is not None else default_registry()
    bundle: Bundle | None = None
    if variant and cfg is not None:
        found = pf.attempt(paper_variant, variant, cfg)
        if found is not None:
            bundle, notes = found
            pf.notes.extend(notes)
    elif not variant:
        bundle = pf.attempt(parse_bundle, knobs)
    if bundle is not None and cfg is not None:
        before = len(pf.problems)
        for name, value in bundle.items():  # every bad knob, not only the first
            pf.attempt(registry.resolve, {name: value}, study=cfg)
        if len(pf.problems) == before:  # then how they combine (conflicts)
            pf.attempt(registry.resolve, bundle, study=cfg)
    _at_least(pf, "--repeats", repeats, 1)
    _fidelity(pf, fidelity)
    pf.problem(idle_seconds_problem(idle_seconds))
    if results_path is not None:
        pf.problem(file_problem(results_path, "--results"))
    if output_dir is not None:
        pf.problem(folder_problem(output_dir, "--output-dir"))
    if cfg is not None:
        check_dataset(pf, cfg)
    pf.raise_if_any()
    assert cfg is not None and bundle is not None
    return CheckedRun(study=cfg, bundle=bundle, notes=pf.notes)


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
    idle_seconds: float = 0.0,
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
    from greensearch._storage import default_storage_url
    from greensearch.search._space import build_space

    pf = Preflight()
    cfg = check_study(pf, study)
    budget = (
        float(budget_f1)
        if isinstance(budget_f1, float | int)
        else pf.attempt(parse_f1_budget, budget_f1)
    )
    budget = abs(budget) if budget is not None else None
    _fidelity(pf, fidelity)
    pf.problem(idle_seconds_problem(idle_seconds))
    for flag, value, least in (
        ("--repeats", repeats, 1),
        ("--baseline-repeats", baseline_repeats, 1),
        ("--finalists", finalists, 1),
        ("--near-misses", near_misses, 0),
        ("--n-workers", n_workers, 1),
    ):
        _at_least(pf, flag, value, least)
    from greensearch.search._settings import SAMPLERS

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


def preflight_read(
    *,
    storage: str | None = None,
    study_name: str | None = None,
    csv: str | None = None,
    budget_f1: str | None = None,
    outputs: dict[str, str | None] | None = None,
    knobs: str | None = None,
    registry: Any = None,
) -> None:
    """Check a command that reads stored results (``report``, ``plot``, ``synergy``, ``check``).

    Args:
        storage: The ``--storage`` URL; its file must exist (a typo must not create one).
        study_name: The ``--study-name`` going with it.
        csv: A ``--csv`` table that must exist.
        budget_f1: A ``--budget-f1`` text to parse.
        outputs: Files the command will write, by flag (``{"-o": "report.html"}``).
        knobs: A ``--knobs`` bundle to judge (``check``): every bad item is named.
        registry: The knob registry for ``knobs`` (default: the built-in one).

    Raises:
        PreflightError: every problem found, one line each.
    """
    from greensearch._budget import parse_f1_budget

    pf = Preflight()
    if csv and (storage or study_name):
        pf.problem("give either --csv or --storage/--study-name, not both")
    elif bool(storage) != bool(study_name):
        missing = "--study-name NAME" if storage else "--storage URL"
        pf.problem(f"a study needs both --storage and --study-name; add {missing}")
    if storage:
        pf.problem(storage_problem(storage, must_exist=True))
    if csv and Path(csv).expanduser().is_dir():
        pf.problem(f"--csv '{csv}' is a folder; pass a CSV file such as paper_table.csv")
    elif csv and not Path(csv).expanduser().is_file():
        pf.problem(f"CSV file {str(csv)!r} not found; pass an existing file to --csv")
    elif csv:
        pf.problem(file_problem(csv, "--csv", must_exist=True))
    if budget_f1:
        pf.attempt(parse_f1_budget, budget_f1)
    for flag, path in (outputs or {}).items():
        if path:
            pf.problem(file_problem(path, flag))
    if knobs is not None:
        _check_knobs(pf, knobs, registry)
    pf.raise_if_any()


def _check_knobs(pf: Preflight, knobs: str, registry: Any) -> None:
    """Every bad item of a bundle (name, value), then how the good ones combine."""
    from greensearch.knobs import default_registry, parse_bundle

    registry = registry if registry is not None else default_registry()
    before = len(pf.problems)
    for item in knobs.split(","):
        one = pf.attempt(parse_bundle, item) if item.strip() else None
        if one:
            pf.attempt(registry.canonical, one)
    if len(pf.problems) == before:  # each item is good: a repeated one, a conflict
        bundle = pf.attempt(parse_bundle, knobs)
        if bundle is not None:
            pf.attempt(registry.canonical, bundle)


def idle_seconds_problem(seconds: float) -> str | None:
    """Why ``--idle-seconds`` cannot be used (``nan`` would sample idle power forever)."""
    if not math.isfinite(seconds) or seconds < 0:
        return f"--idle-seconds must be a number of seconds, 0 or more, got {seconds:g}"
    return None


def _at_least(pf: Preflight, flag: str, value: int, least: int) -> None:
    if value < least:
        pf.problem(f"{flag} must be at least {least}, got {value}")


def _fidelity(pf: Preflight, fidelity: float) -> None:
    if not 0 < fidelity <= 1:
        pf.problem(f"--fidelity must be in (0, 1], got {fidelity:g}")
