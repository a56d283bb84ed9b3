"""An Optuna study (as ``greensearch optimize`` stores it) as the normalized variant table.

Which trial speaks for a knob set:

* the full-fidelity ``final`` trial where the study has one (it ran every step,
  ``repeats`` times: the trustworthy number), compared with the ``final`` baseline;
* otherwise the search trial at the study's search fidelity (energy and time extrapolated
  to the full run, usually one run), compared with the search baseline.

Every delta is taken against the baseline (knobs ``""``) of the same group, so a point
never mixes a full run with a short one; the ``fidelity`` and ``phase`` columns say which
group each row belongs to. Trials that reused another's measurement, pruned and failed
trials are not rows (the report lists pruned ones with their reasons).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import TYPE_CHECKING, Any

import pandas as pd

from greensearch.analysis._records import FOLDED_WINDOWS, from_records
from greensearch.exceptions import ConfigError
from greensearch.record import TrialRecord, records, study_metric
from greensearch.schema import STAGES, StudyAttr, TrialAttr, stored_budget_f1_pct

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["load_study_table", "open_study", "study_records", "study_table"]

_TOLERANCE_PCT = 1e-9


def open_study(storage: str | Any, study_name: str) -> Any:
    """Load an existing study without creating anything.

    Args:
        storage: a storage URL (``sqlite:///F.db``, ``postgresql://…``, ``journal:FILE``) or
            an Optuna storage object (e.g. ``InMemoryStorage`` in tests and notebooks).
        study_name: the study's name.

    Raises:
        ConfigError: if the storage cannot be opened (a SQLite or journal file that does
            not exist is refused, so a typo does not create an empty database) or holds
            no study of that name (the message lists the ones it has).

    """
    import optuna

    from greensearch._storage_read import open_storage_read_only

    if isinstance(storage, str):
        storage = open_storage_read_only(storage)
    try:
        return optuna.load_study(study_name=study_name, storage=storage)
    except KeyError as err:
        names = sorted(optuna.get_all_study_names(storage))
        have = ", ".join(names) if names else "none"
        raise ConfigError(
            f"no study named {study_name!r} in this storage (studies there: {have}); "
            "check --study-name"
        ) from err


def study_records(study: Study) -> list[dict[str, Any]]:
    """One run record per knob set (see the module docstring for which trial is chosen).

    Returns:
        Records for :func:`from_records`, each with ``fidelity``, ``phase``, ``trial``,
        deltas against the same-group baseline, stage energies extrapolated like the
        trial's total, and ``energy_kwh_std`` scaled to the extrapolated energy.

    Raises:
        ConfigError: if the study has no completed baseline trial.

    """
    import optuna

    done = [
        r
        for r in records(
            study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        )
        if r.reused_from is None and isinstance(r.knobs, str)
    ]
    search_fidelity = _search_fidelity(study, done)
    groups = {
        "final": [r for r in done if r.is_final],
        "search": [r for r in done if not r.is_final and r.fidelity == search_fidelity],
    }
    bases = {g: next((r for r in rs if r.is_baseline), None) for g, rs in groups.items()}
    if bases["search"] is None and bases["final"] is None:
        raise ConfigError(
            f"study {study.study_name!r} has no completed baseline trial; run "
            "`greensearch optimize` on it (it measures the baseline first)"
        )
    stored = stored_budget_f1_pct(study.user_attrs)
    budget = math.nan if stored is None else -stored  # the accepted loss, non-negative
    chosen: dict[str, tuple[str, Any]] = {}
    for group in ("search", "final"):  # final last: it replaces the search estimate
        if bases[group] is None:
            continue
        for r in groups[group]:
            key = str(r.knobs)
            if group == "final" or key not in chosen:
                chosen[key] = (group, r)
    reference = "final" if bases["final"] is not None else "search"
    chosen[""] = (reference, bases[reference])
    rows = []
    for key, (group, r) in sorted(chosen.items(), key=lambda kv: (kv[0] != "", kv[1][1].number)):
        reference_trial = bases[group]
        assert reference_trial is not None  # a group without a baseline chose nothing
        base = _figures(reference_trial)
        rows.append(_record(r, _figures(r), base, budget, is_base=key == ""))
    return rows


def study_table(study: Study) -> pd.DataFrame:
    """The normalized table of a study; ``attrs`` carry the study's name, settings and
    task metric (``metric``: the ID the ΔF1 columns are in, see :func:`study_metric`)."""
    df = from_records(study_records(study))
    df.attrs.update(
        source="study",
        study_name=study.study_name,
        task=study.user_attrs.get(StudyAttr.STUDY),
        budget_f1_pct=stored_budget_f1_pct(study.user_attrs),
        search_fidelity=study.user_attrs.get(StudyAttr.FIDELITY),
        metric=study_metric(records(study.get_trials(deepcopy=False))),
    )
    return df


def load_study_table(storage: str | Any, study_name: str) -> pd.DataFrame:
    """:func:`open_study` then :func:`study_table`: what ``--storage/--study-name`` read."""
    return study_table(open_study(storage, study_name))


def _search_fidelity(study: Study, trials: list[TrialRecord]) -> float | None:
    """The fidelity the study says it searched at, else the most common non-final one."""
    stated = study.user_attrs.get(StudyAttr.FIDELITY)
    if stated is not None:
        return float(stated)
    seen = Counter(r.fidelity for r in trials if not r.is_final)
    return seen.most_common(1)[0][0] if seen else None


def _figures(trial: TrialRecord) -> dict[str, Any]:
    """A trial's figures at full-run scale, per analysis stage."""
    a = trial.attrs
    fidelity = trial.fidelity if trial.fidelity is not None else 1.0
    steps, planned = a.get("train_steps"), a.get("planned_steps")
    linear = planned / max(steps, 1) if fidelity < 1 and steps and planned else 1.0
    # the search's own per-window, per-figure scales (step-timed training, a share of the
    # test split predicted); older studies stored the training one only, or none (linear)
    scales = a.get("window_scales") or {
        "train": a.get("train_scale") or {"energy_kwh": linear, "duration_s": linear}
    }
    stages: dict[str, dict[str, float]] = {
        s: {"energy_kwh": 0.0, "duration_s": 0.0} for s in STAGES
    }
    raw = a.get("stages") or {}
    for window, data in raw.items():
        stage = FOLDED_WINDOWS.get(window, window)
        if stage not in stages:
            continue
        for field in ("energy_kwh", "duration_s"):
            scale = scales[window][field] if window in scales else 1.0
            stages[stage][field] += float(data.get(field, 0.0)) * scale
    runs = a.get("energy_kwh_runs") or []
    mean_run = sum(runs) / len(runs) if runs else math.nan
    std = a.get("energy_kwh_std")
    energy = float(a["energy_kwh"])
    # a short run's spread, scaled to the extrapolated energy (relative std is kept)
    std_full = float(std) * energy / mean_run if std is not None and mean_run > 0 else math.nan
    return {
        "attrs": a,
        "stages": stages if raw else {},
        "energy_kwh": energy,
        "duration_s": float(a["duration_s"]),
        "f1": float(a["f1"]),
        "energy_kwh_std": std_full,
        "fidelity": fidelity,
    }


def _pct(value: float, ref: float) -> float:
    return (value / ref - 1.0) * 100.0 if ref and not math.isnan(ref) else math.nan


def _record(
    trial: TrialRecord, fig: dict[str, Any], base: dict[str, Any], budget: float, *, is_base: bool
) -> dict[str, Any]:
    a = fig["attrs"]
    degenerate = bool(a.get("degenerate", False))
    delta_f1 = _pct(fig["f1"], base["f1"])
    feasible = (
        bool(a.get("feasible", False))
        if math.isnan(budget)
        else (not degenerate and delta_f1 >= -budget - _TOLERANCE_PCT)
    )
    rec: dict[str, Any] = {
        "variant": f"T{trial.number}",
        "knobs": a[TrialAttr.KNOBS],
        "trial": trial.number,
        "phase": a.get(TrialAttr.PHASE, ""),
        "fidelity": fig["fidelity"],
        "stages": fig["stages"],
        "energy_kwh": fig["energy_kwh"],
        "energy_kwh_std": fig["energy_kwh_std"],
        "duration_s": fig["duration_s"],
        "metrics": {"f1": fig["f1"], "degenerate": degenerate},
        "feasible": feasible,
        "repeats": int(a.get("repeats", 1)),
        "meter": {"name": a.get("meter", ""), "method": a.get("method", "")},
        "delta_energy_pct": 0.0 if is_base else _pct(fig["energy_kwh"], base["energy_kwh"]),
        "delta_time_pct": 0.0 if is_base else _pct(fig["duration_s"], base["duration_s"]),
        "delta_f1_pct": 0.0 if is_base else delta_f1,
        # The search's paired-bootstrap judgement of this trial's ΔF1 (None where its
        # runs kept no predictions).
        "delta_f1_ci95_pct": None if is_base else a.get("delta_f1_ci95_pct"),
        "f1_verdict": None if is_base else a.get("f1_verdict"),
        "n_seeds": a.get("n_seeds") or len(a.get("seeds") or []) or None,
    }
    for stage, data in fig["stages"].items():
        ref = base["stages"].get(stage, {})
        for field, name in (("energy_kwh", "energy"), ("duration_s", "time")):
            rec[f"delta_{name}_{stage}_pct"] = _pct(data[field], ref.get(field, math.nan))
    return rec
