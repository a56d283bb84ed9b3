"""One preflight per command: every input it will use, checked before any work.

``run`` checks the study, the model settings, the dataset (loaded and
validated as the runs will), the knobs against the model, the numbers and every path they
will write; the commands that read a stored study check its storage and their outputs.
(``optimize``'s own preflight is :func:`greensearch.search.preflight_search`.)
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

__all__ = ["CheckedRun", "idle_seconds_problem", "preflight_read", "preflight_run"]


@dataclass(frozen=True)
class CheckedRun:
    """What ``run`` needs once its preflight passed."""

    study: StudyConfig
    bundle: Bundle
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
