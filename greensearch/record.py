"""One trial as a typed record: the only code that reads or writes a trial's user attributes.

The search stores each trial's figures in Optuna's ``user_attrs`` (a few top-level, so
optuna-dashboard can sort by them, the rest in one ``measurement`` attribute). Everything
else, the search, the result, the analysis and the report, reads a :class:`TrialRecord`;
adding a figure touches this record and the places that show it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greensearch.schema import TOP_LEVEL_ATTRS, Phase, TrialAttr, TrialRow

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial, TrialState

__all__ = [
    "TrialRecord",
    "attrs_of",
    "claim_attrs",
    "claims",
    "completed_at",
    "copied_attrs",
    "mark",
    "measured",
    "queued_attrs",
    "records",
    "retry_attrs",
    "store_figures",
    "store_on",
    "study_metric",
    "unsampled",
]


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """What one trial did and measured, read once from its stored attributes.

    Identity fields are ``None`` where the trial never set them (a trial that failed before
    sampling); figures are ``None`` where it measured nothing or an older study did not
    store them. ``attrs`` keeps every stored figure (``measurement`` merged in) for the
    readers of rarer ones (stages, steps, predictions).
    """

    number: int
    state: TrialState | None
    values: tuple[float, ...] | None
    phase: str | None
    fidelity: float | None
    knobs: str | None
    reused_from: int | None
    near_miss: bool
    promoted: bool
    pruned_reason: str | None
    error: str | None
    interrupted: bool
    started: int | None
    worker: str | None
    deferred: str | None
    machine: str | None
    energy_kwh: float | None
    duration_s: float | None
    delta_energy_pct: float | None
    delta_time_pct: float | None
    delta_f1_pct: float | None
    f1: float | None
    degenerate: bool | None
    feasible: bool | None
    f1_verdict: str | None
    delta_f1_ci95_pct: list[float] | None
    delta_f1_bounds_pct: list[float] | None
    n_seeds: int | None
    repeats: int | None
    method: str | None
    meter: str | None
    energy_kwh_runs: list[float]
    energy_kwh_spent: float
    duration_s_spent: float
    rounds: bool
    f1_resolution_pct: float | None
    f1_power_pct: float | None
    f1_confidence: float | None
    f1_loss_pct: float | None
    f1_bootstrap_share: float | None
    f1_decided_by: str | None
    f1_p_value: float | None
    f1_seed_design: str | None
    n_seeds_baseline: int | None
    constraint: list[float] | None
    generation: int | None
    final_run: str | None
    final_record: Mapping[str, Any] | None
    anchor_energy_kwh: float | None
    drift_factor: float | None
    look: Mapping[str, Any] | None
    attrs: Mapping[str, Any]

    @classmethod
    def from_trial(cls, trial: FrozenTrial | Trial) -> TrialRecord:
        """The record of a stored trial (or of a running one: no state, no values yet)."""
        stored_values = getattr(trial, "values", None)
        values = tuple(stored_values) if stored_values is not None else None
        state = getattr(trial, "state", None)
        return cls.from_attrs(trial.user_attrs, number=trial.number, state=state, values=values)

    @classmethod
    def from_attrs(
        cls,
        stored: Mapping[str, Any],
        *,
        number: int = -1,
        state: TrialState | None = None,
        values: tuple[float, ...] | None = None,
    ) -> TrialRecord:
        """The record of stored attributes (``measurement`` merged in, as written)."""
        a: dict[str, Any] = dict(stored.get(TrialAttr.MEASUREMENT) or {})
        a.update({k: v for k, v in stored.items() if k != TrialAttr.MEASUREMENT})
        return cls(
            number=number,
            state=state,
            values=values,
            phase=a.get(TrialAttr.PHASE),
            fidelity=_float(a.get(TrialAttr.FIDELITY)),
            knobs=a.get(TrialAttr.KNOBS),
            reused_from=a.get(TrialAttr.REUSED_FROM),
            near_miss=bool(a.get(TrialAttr.NEAR_MISS)),
            promoted=bool(a.get(TrialAttr.PROMOTED)),
            pruned_reason=a.get(TrialAttr.PRUNED_REASON),
            error=a.get(TrialAttr.ERROR),
            interrupted=bool(a.get(TrialAttr.INTERRUPTED)),
            started=a.get(TrialAttr.STARTED),
            worker=a.get(TrialAttr.WORKER),
            deferred=a.get(TrialAttr.DEFERRED),
            machine=a.get(TrialAttr.MACHINE),
            energy_kwh=_float(a.get("energy_kwh")),
            duration_s=_float(a.get("duration_s")),
            delta_energy_pct=_float(a.get("delta_energy_pct")),
            delta_time_pct=_float(a.get("delta_time_pct")),
            delta_f1_pct=_float(a.get("delta_f1_pct")),
            f1=_float(a.get("f1")),
            degenerate=a.get("degenerate"),
            feasible=a.get("feasible"),
            f1_verdict=a.get("f1_verdict"),
            delta_f1_ci95_pct=a.get("delta_f1_ci95_pct"),
            delta_f1_bounds_pct=a.get("delta_f1_bounds_pct"),
            n_seeds=a.get("n_seeds"),
            repeats=a.get("repeats"),
            method=a.get("method"),
            meter=a.get("meter"),
            energy_kwh_runs=list(a.get("energy_kwh_runs") or []),
            energy_kwh_spent=float(a.get("energy_kwh_spent") or 0.0),
            duration_s_spent=float(a.get("duration_s_spent") or 0.0),
            rounds=bool(a.get("rounds")),
            f1_resolution_pct=_float(a.get("f1_resolution_pct")),
            f1_power_pct=_float(a.get("f1_power_pct")),
            f1_confidence=_float(a.get("f1_confidence")),
            f1_loss_pct=_float(a.get("f1_loss_pct")),
            # older studies stored the same share as ``p_f1_within_budget``
            f1_bootstrap_share=_float(a.get("f1_bootstrap_share", a.get("p_f1_within_budget"))),
            f1_decided_by=a.get("f1_decided_by"),
            f1_p_value=_float(a.get("f1_p_value")),
            f1_seed_design=a.get("f1_seed_design"),
            n_seeds_baseline=a.get("n_seeds_baseline"),
            constraint=a.get("constraint"),
            generation=a.get(TrialAttr.FINAL_INVOCATION),
            final_run=a.get(TrialAttr.FINAL_RUN),
            final_record=a.get(TrialAttr.FINAL_RECORD),
            anchor_energy_kwh=_float(a.get("anchor_energy_kwh")),
            drift_factor=_float(a.get("drift_factor")),
            look=a.get(TrialAttr.LOOK),
            attrs=a,
        )

    @property
    def is_baseline(self) -> bool:
        """The unmodified study (knobs ``""``)."""
        return self.knobs == ""

    @property
    def is_final(self) -> bool:
        """A full-fidelity re-measurement (a finalist or the baseline)."""
        return self.phase == Phase.FINAL

    @property
    def is_claim(self) -> bool:
        """A claim on one final run (:attr:`Phase.FINAL_RUN`), not a trial of the search."""
        return self.phase == Phase.FINAL_RUN

    @property
    def in_search(self) -> bool:
        """A trial of the search: neither a final nor a claim on a final run."""
        return not self.is_final and not self.is_claim

    @property
    def verdict(self) -> str:
        """Its F1 verdict (``feasible``, ``infeasible``, ``uncertain``); a trial stored
        before verdicts: its point-estimate ``feasible`` flag."""
        if self.f1_verdict is not None:
            return str(self.f1_verdict)
        return "feasible" if self.feasible else "infeasible"

    def to_row(self) -> TrialRow:
        """Its figures as the result's tables show them (no verdict without knobs)."""
        return {
            "trial": self.number,
            "knobs": self.knobs or "",
            "fidelity": self.fidelity,
            "energy_kwh": self.energy_kwh,
            "duration_s": self.duration_s,
            "delta_energy_pct": self.delta_energy_pct,
            "delta_time_pct": self.delta_time_pct,
            "delta_f1_pct": self.delta_f1_pct,
            "f1": self.f1,
            "degenerate": self.degenerate,
            "feasible": self.feasible,
            "f1_verdict": self.verdict if self.knobs is not None else None,
            "delta_f1_ci95_pct": self.delta_f1_ci95_pct,
            "f1_decided_by": self.f1_decided_by,
            "f1_bootstrap_share": self.f1_bootstrap_share,
            "n_seeds": self.n_seeds,
            "repeats": self.repeats,
            "method": self.method,
            "rounds_ended": self.look.get("stopped") if self.look else None,
        }

    @property
    def metric(self) -> str | None:
        """The task metric ID its kept predictions are scored with (``None``: none kept)."""
        blocks = self.attrs.get("predictions") or []
        return str(blocks[0].get("metric", "f1")) if blocks else None

    def to_attrs(self) -> dict[str, Any]:
        """Every stored figure, one flat mapping (the form ``from_attrs`` reads back)."""
        return dict(self.attrs)

    def replace(self, **changes: Any) -> TrialRecord:
        """A copy with ``changes`` (typed fields; ``attrs`` follows the named figures)."""
        attrs = dict(self.attrs)
        attrs.update({k: v for k, v in changes.items() if k not in _NOT_STORED})
        return dataclasses.replace(self, **changes, attrs=attrs)


#: Record fields that come from the trial itself, not from its stored attributes.
_NOT_STORED = frozenset({"number", "state", "values", "attrs"})


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def mark(trial: Trial, key: str, value: Any) -> None:
    """Write one identity attribute (:class:`~greensearch.schema.TrialAttr`) of a live trial."""
    trial.set_user_attr(key, value)


def store_figures(trial: Trial, figures: Mapping[str, Any]) -> None:
    """Write a measurement with few storage commits: the sortable figures top-level, the
    rest in one ``measurement`` attribute."""
    for name in TOP_LEVEL_ATTRS:
        if name in figures:  # a trial reused from an older study may lack newer figures
            trial.set_user_attr(name, figures[name])
    trial.set_user_attr(
        TrialAttr.MEASUREMENT, {k: v for k, v in figures.items() if k not in TOP_LEVEL_ATTRS}
    )


def queued_attrs(
    phase: str,
    fidelity: float,
    knobs: str,
    *,
    near_miss: bool = False,
    promoted: bool = False,
    rounds: bool = False,
    generation: int | None = None,
    look: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The attributes a trial is enqueued with (``study.enqueue_trial(user_attrs=...)``).

    Args:
        phase: Why it runs (:class:`~greensearch.schema.Phase`).
        fidelity: Fraction of training steps.
        knobs: Canonical bundle text.
        near_miss: A final re-measuring a bundle whose short-run verdict was uncertain.
        promoted: A final promoted after no finalist was confirmed.
        rounds: A final measured in rounds (paired with the baseline's runs).
        generation: The final phase (invocation) whose rounds it records.
        look: A final's last look in its rounds (``Look.to_dict()``): its verdict is
            taken at that look's confidence.
    """
    attrs: dict[str, Any] = {
        TrialAttr.PHASE: phase,
        TrialAttr.FIDELITY: fidelity,
        TrialAttr.KNOBS: knobs,
    }
    if rounds:
        attrs["rounds"] = True
    if generation is not None:
        attrs[TrialAttr.FINAL_INVOCATION] = generation
    if near_miss:
        attrs[TrialAttr.NEAR_MISS] = True
    if promoted:
        attrs[TrialAttr.PROMOTED] = True
    if look is not None:
        attrs[TrialAttr.LOOK] = dict(look)
    return attrs


def claim_attrs(run: str, worker: str) -> dict[str, Any]:
    """The attributes a claim trial on final run ``run`` is created with."""
    return {TrialAttr.PHASE: Phase.FINAL_RUN, TrialAttr.FINAL_RUN: run, TrialAttr.WORKER: worker}


def store_on(study: Study, number: int, key: str, value: Any) -> None:
    """Write one attribute of trial ``number`` through the storage (a trial no process
    holds as a live ``Trial``: a claim on a final run)."""
    storage = study._storage
    trial_id = storage.get_trial_id_from_study_id_trial_number(study._study_id, number)
    storage.set_trial_user_attr(trial_id, key, value)


def copied_attrs(trial: Trial | FrozenTrial) -> dict[str, Any]:
    """A trial's stored attributes, as a copy of it is created with (a deferred retry)."""
    return dict(trial.user_attrs)


def retry_attrs(trial: FrozenTrial) -> dict[str, Any]:
    """A failed trial's stored attributes for its retry, without the marks of its failure."""
    dropped = (TrialAttr.INTERRUPTED, TrialAttr.ERROR)
    return {k: v for k, v in trial.user_attrs.items() if k not in dropped}


def records(trials: Iterable[FrozenTrial]) -> list[TrialRecord]:
    """The records of ``trials``, in order."""
    return [TrialRecord.from_trial(t) for t in trials]


def search_baseline(trials: Iterable[TrialRecord]) -> TrialRecord | None:
    """The first complete baseline among ``trials`` with a positive energy: the one record
    every ratio of a search phase divides by (callers pass the trials of one fidelity;
    only a complete trial has values)."""
    return next((r for r in trials if r.is_baseline and r.values and r.values[0] > 0), None)


def study_metric(trials: Iterable[TrialRecord]) -> str:
    """The task metric ID the "F1" of a study's output stands for: the metric of the
    first trial that kept predictions (``f1`` where none did, as before tasks had others)."""
    return next((m for m in (r.metric for r in trials) if m is not None), "f1")


def attrs_of(trial: FrozenTrial) -> dict[str, Any]:
    """All stored figures of a trial, the ``measurement`` attribute merged in."""
    return TrialRecord.from_trial(trial).to_attrs()


def measured(trials: Iterable[FrozenTrial], fidelity: float) -> list[FrozenTrial]:
    """The complete, measured (not reused) trials at ``fidelity`` among ``trials``."""
    import optuna

    return [
        t
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE
        and t.user_attrs.get(TrialAttr.FIDELITY) == fidelity
        and TrialAttr.REUSED_FROM not in t.user_attrs
    ]


def completed_at(study: Study, fidelity: float) -> list[FrozenTrial]:
    """Measured (not reused) complete trials of ``study`` at ``fidelity``, oldest first."""
    import optuna

    return measured(
        study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)), fidelity
    )


def claims(
    trials: Iterable[FrozenTrial], knobs: str, fidelity: float, generation: int | None = None
) -> list[FrozenTrial]:
    """The trials that measured (or will measure) ``knobs`` at ``fidelity``, oldest first.

    ``generation``: the final phase whose trials count (``None``: trials of no final phase).
    """
    return sorted(
        (
            t
            for t in trials
            if t.user_attrs.get(TrialAttr.KNOBS) == knobs
            and t.user_attrs.get(TrialAttr.FIDELITY) == fidelity
            and t.user_attrs.get(TrialAttr.FINAL_INVOCATION) == generation
            and TrialAttr.REUSED_FROM not in t.user_attrs
        ),
        key=lambda t: t.number,
    )


def unsampled(trials: Iterable[FrozenTrial]) -> list[FrozenTrial]:
    """The trials that have not recorded their knob set yet (a sampled trial, before it
    samples), oldest first; claims on final runs never record one and are left out."""
    return sorted(
        (
            t
            for t in trials
            if TrialAttr.KNOBS not in t.user_attrs
            and t.user_attrs.get(TrialAttr.PHASE) != Phase.FINAL_RUN
        ),
        key=lambda t: t.number,
    )
