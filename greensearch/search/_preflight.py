"""The search's preflight: every input ``optimize`` will use, checked before any work.

The settings' own values are checked by :class:`SearchSettings` (the one validator); this
adds what needs the world outside them: the study file, the knob names and the space they
make on this machine, the storage URL, the results file and the dataset. It reports every
problem at once, and creates no file, opens no storage and reads no meter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.config import StudyConfig
from greensearch.preflight import Preflight, file_problem, storage_problem
from greensearch.preflight._inputs import check_dataset, check_study
from greensearch.search._settings import SearchSettings
from greensearch.search._space import SearchSpace, build_space
from greensearch.search._storage import default_storage_url

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

    from greensearch.knobs import KnobRegistry
    from greensearch.machine import Machine

__all__ = ["CheckedSearch", "preflight_search", "preflight_settings"]


@dataclass(frozen=True)
class CheckedSearch:
    """What ``optimize`` needs once its preflight passed."""

    space: SearchSpace
    storage: str | BaseStorage
    study_name: str
    n_trials: int
    n_seeds: int
    notes: list[str] = field(default_factory=list)


def preflight_settings(
    study: str | Path | StudyConfig | None,
    *,
    registry: KnobRegistry,
    **values: Any,
) -> SearchSettings:
    """Settings from a command line's values, with every problem of the study file, the
    values, the knob names and the dataset reported at once.

    Args:
        study: The study file (``None``: the embedded study) or a study.
        registry: The knobs ``include``/``exclude`` must name.
        **values: :class:`SearchSettings` fields other than ``study``.

    Raises:
        PreflightError: every problem found, one line each.
    """
    pf = Preflight()
    cfg = check_study(pf, study)
    settings = pf.attempt(SearchSettings, study=cfg or StudyConfig(), **values)
    _check_knob_names(pf, registry, [*values.get("include", ()), *values.get("exclude", ())])
    if cfg is not None:
        check_dataset(pf, cfg)
    pf.raise_if_any()
    assert settings is not None
    return settings


def preflight_search(
    settings: SearchSettings,
    *,
    registry: KnobRegistry,
    storage: BaseStorage | None = None,
    check_data: bool = True,
    machine: Machine | None = None,
) -> CheckedSearch:
    """Check everything ``optimize`` will use beyond the settings, before its storage exists.

    Args:
        settings: The search (its values are valid: the object checked them).
        registry: The knobs to search.
        storage: A storage object given to ``optimize`` (``None``: ``settings.storage``).
        check_data: Load the dataset too (off when runs are replayed, not trained).
        machine: The :class:`~greensearch.machine.Machine` trials run on: precision values
            it only emulates leave the search space (``None``: unknown, keep them).

    Raises:
        PreflightError: every problem found, one line each.
    """
    s = settings
    pf = Preflight()
    cfg = check_study(pf, s.study)
    space = _check_space(pf, s, registry, machine) if cfg is not None else None
    n_seeds = 1 + len(space.singles()) if space is not None else 0
    total = s.n_trials if s.n_trials is not None else n_seeds + 8
    if space is not None and total < n_seeds:
        pf.problem(
            f"--n-trials {total} is fewer than the {n_seeds} seed trials (the baseline and "
            f"each of {n_seeds - 1} knobs alone, which the search needs first); use "
            f"--n-trials {n_seeds} or more, or --include fewer knobs"
        )
    name = s.study_name or f"{s.study.name}-f1-{s.max_f1_loss_pct:g}"
    url: str | BaseStorage = storage if storage is not None else s.storage or ""
    if not url:
        url = default_storage_url(name, create=False)
    if isinstance(url, str):
        pf.problem(storage_problem(url))
    elif s.n_workers > 1:
        pf.problem("--n-workers needs a storage URL the workers can open")
    if s.results_path is not None:
        pf.problem(file_problem(s.results_path, "--results"))
    if cfg is not None and check_data:
        check_dataset(pf, cfg)
    pf.raise_if_any()
    assert space is not None
    return CheckedSearch(
        space=space,
        storage=url,
        study_name=name,
        n_trials=total,
        n_seeds=n_seeds,
        notes=pf.notes,
    )


def _check_knob_names(pf: Preflight, registry: KnobRegistry, names: Sequence[str]) -> bool:
    """Every misspelt knob name, not only the first; ``True`` when all are known."""
    before = len(pf.problems)
    for knob in names:
        pf.attempt(registry.get, knob)
    return len(pf.problems) == before


def _check_space(
    pf: Preflight, s: SearchSettings, registry: KnobRegistry, machine: Machine | None
) -> SearchSpace | None:
    if not _check_knob_names(pf, registry, [*s.include, *s.exclude]):
        return None
    excluded = sorted(set(s.exclude) | set(s.study.search_exclude)) or None
    return pf.attempt(
        build_space,
        registry,
        s.study,
        include=list(s.include) or None,
        exclude=excluded,
        machine=machine,
    )
