"""What greensearch stores, named once: pipeline stages, Optuna attribute keys, record shapes.

The search writes these keys and the analysis reads them, so both import them from here
rather than spelling strings (``"phase"``, ``"knobs"``, ``"reused_from"``…) in each file.
Keys are grouped in namespaces (:class:`TrialAttr`, :class:`StudyAttr`, :class:`Phase`), as
Optuna groups its own (``tpe:relative_params``). The stored strings themselves are kept as
they were, so studies written before this module stay readable.

A trial's stored attributes are read and written by :mod:`greensearch.record` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal, TypedDict

__all__ = [
    "FOLDED_WINDOWS",
    "MODEL_WINDOWS",
    "OBJECTIVE_NAMES",
    "PIPELINE_PHASES",
    "SCRIPT_WINDOW",
    "STAGES",
    "TOP_LEVEL_ATTRS",
    "WINDOWS",
    "ExtrapolationRow",
    "MeterSummary",
    "Phase",
    "PhaseName",
    "PipelinePhase",
    "StageFigures",
    "StudyAttr",
    "TrialAttr",
    "TrialRow",
    "stored_budget_f1_pct",
    "stored_settings",
]

#: The paper's six pipeline stages, in run order (the one list of them): the metered
#: windows of one run, what energy and time are reported per.
STAGES: Final[tuple[str, ...]] = ("data", "tokenize", "load", "train", "save", "eval")

#: The five pipeline phases a knob acts in (``Knob.phase``, the paper's grouping of its
#: optimizations). Not :data:`STAGES`: a knob of one phase may change the energy of several
#: stages (``seq_len``, a data knob, shortens training too).
PipelinePhase = Literal["data", "model", "training", "system", "inference"]
PIPELINE_PHASES: Final[tuple[PipelinePhase, ...]] = (
    "data",
    "model",
    "training",
    "system",
    "inference",
)

#: Windows a run may record beyond :data:`STAGES`, and the stage they count toward: the
#: validation passes run inside training (the paper's train stage includes them).
FOLDED_WINDOWS: Final[dict[str, str]] = {"validate": "train"}

#: Every metered window in run order: each stage, followed by the windows folded into it.
WINDOWS: Final[tuple[str, ...]] = tuple(
    window
    for stage in STAGES
    for window in (stage, *(w for w, into in FOLDED_WINDOWS.items() if into == stage))
)

#: The windows after the data are tokenized: all a knob that acts on the model (or how it
#: trains and predicts) can change. The data and tokenize windows run before it exists.
MODEL_WINDOWS: Final[tuple[str, ...]] = tuple(w for w in WINDOWS if w not in ("data", "tokenize"))

#: The one window of a run of a user's script (``optimize --script``): the whole process,
#: which greensearch did not split into stages; its energy counts toward no stage.
SCRIPT_WINDOW: Final = "script"

PhaseName = Literal["baseline", "single", "sampler", "guided", "final"]


class Phase:
    """Why a trial ran (the ``phase`` trial attribute)."""

    BASELINE: Final = "baseline"  #: the unmodified study, repeated (noise)
    SINGLE: Final = "single"  #: one knob alone (the isolated effects)
    SAMPLER: Final = "sampler"  #: the Optuna sampler's proposal
    GUIDED: Final = "guided"  #: the checker model's proposal
    FINAL: Final = "final"  #: a finalist or the baseline re-measured at full fidelity
    #: a claim on one full-fidelity run of the finals, holding its record, a lock on
    #: recording an invocation's final trials, or a seed's second copy queued by another
    #: process starting at the same time, dropped (none is a search trial)
    FINAL_RUN: Final = "final_run"


class TrialAttr:
    """Keys of an Optuna trial's user attributes."""

    PHASE: Final = "phase"  #: a :class:`Phase` value
    FIDELITY: Final = "fidelity"  #: fraction of training steps the trial ran
    KNOBS: Final = "knobs"  #: canonical bundle text ("" for the baseline)
    REUSED_FROM: Final = "reused_from"  #: number of the trial whose figures were copied
    #: a final's last look in its rounds: ``{"rounds", "confidence", "confirmed", "stopped"}``
    LOOK: Final = "look"
    NEAR_MISS: Final = "near_miss"  #: a final re-measuring a narrow miss of the budget
    #: a final promoted after no finalist was confirmed (``greensearch.search._promotion``)
    PROMOTED: Final = "promoted"
    PRUNED_REASON: Final = "pruned_reason"  #: why the checker pruned the trial
    ERROR: Final = "error"  #: the one-line error of a failed trial
    TARGETS: Final = "targets"  #: knob -> resources it targets
    MEASUREMENT: Final = "measurement"  #: every figure not in :data:`TOP_LEVEL_ATTRS`
    #: fingerprint of the machine that measured the trial (in ``measurement``)
    MACHINE: Final = "machine"
    DEFERRED: Final = "deferred"  #: why the trial re-queued itself behind what it waits for
    #: the trial's own number, written first by the objective: a retry's copy names the
    #: killed trial, so a trial whose value differs never reached the objective
    STARTED: Final = "started"
    WORKER: Final = "worker"  #: ``host:pid`` of the process that ran the trial
    #: ``True`` on a trial stopped by Ctrl-C: the next start queues its retry
    INTERRUPTED: Final = "interrupted"
    #: what a :attr:`Phase.FINAL_RUN` claim holds: the run ``<generation>:<round>:<knobs>``,
    #: or the lock ``record:<generation>``
    FINAL_RUN: Final = "greensearch:final_run"
    #: the run record a :attr:`Phase.FINAL_RUN` claim measured
    FINAL_RECORD: Final = "greensearch:final_record"
    #: a final trial's invocation (generation) of the final phase: its rounds' baseline
    #: is the baseline final trial of the same generation
    FINAL_INVOCATION: Final = "greensearch:final_invocation"


class StudyAttr:
    """Keys of an Optuna study's user attributes (the search's settings)."""

    STUDY: Final = "study"  #: the task's name
    STUDY_FILE: Final = "study_file"  #: the file it was read from
    #: the F1 budget in the user's sign (``-1.0``: lose at most 1 %); read it with
    #: :func:`stored_budget_f1_pct`, which also reads a budget stored as a positive loss
    BUDGET_F1_PCT: Final = "budget_f1_pct"
    CONFIDENCE: Final = "confidence"  #: confidence of the ΔF1 bounds behind every verdict
    FIDELITY: Final = "fidelity"  #: search fidelity
    SPACE: Final = "space"  #: knob -> values searched
    SKIPPED_KNOBS: Final = "skipped_knobs"  #: knobs left out, with the reason
    #: knobs that cannot apply to the user's own code (``greensearch.hf.search``), with
    #: the reason; they are not in the registry the search sampled from
    LEFT_OUT_KNOBS: Final = "left_out_knobs"
    STUDY_SETTINGS: Final = "study_settings"  #: the study file's settings (resume check)
    METER: Final = "meter"  #: the meter asked for (resume check)
    #: which test examples a short run predicts (resume check: short runs of two rules
    #: are scored on different examples and cannot be compared)
    SHORT_RUN_EVAL: Final = "short_run_eval"
    SETTINGS_CHANGES: Final = "settings_changes"  #: resumes that accepted changed settings
    TORCH_THREADS: Final = "torch_threads"  #: torch threads of each search process
    #: the final phases run so far: ``[{"generation": g, "keys": [knobs, ...]}, ...]``
    FINAL_INVOCATIONS: Final = "greensearch:final_invocations"
    #: finals candidates that waited for the cheaper ones (``search._deferral``):
    #: ``[{"knobs": ..., "energy_ratio": ..., "chance": ...}, ...]``, cheapest first
    FINALS_DEFERRED: Final = "greensearch:finals_deferred"
    #: the machine that measured the baseline (``Machine.to_dict()``, with ``summary``)
    BASELINE_MACHINE: Final = "baseline_machine"
    #: the earlier study a search was warm-started from (``--warm-start``)
    WARM_START: Final = "greensearch:warm_start"
    #: ``True`` once several machines were allowed (``--allow-mixed-machines``)
    MIXED_MACHINES: Final = "mixed_machines"
    #: prefix of ``<prefix>:<fingerprint>``: the study that machine works in
    MACHINE_STUDY: Final = "machine_study"


#: Names of the study's two objectives, as optuna-dashboard and Optuna's plots show them
#: (``study.set_metric_names``): what each trial value is, with its unit.
OBJECTIVE_NAMES: Final[tuple[str, str]] = ("energy (kWh)", "F1 loss (%)")

#: Figures stored as separate trial attributes (sortable in optuna-dashboard); the rest of a
#: measurement goes into one ``measurement`` attribute, since every attribute costs a
#: storage commit.
TOP_LEVEL_ATTRS: Final[tuple[str, ...]] = (
    "energy_kwh",
    "delta_energy_pct",
    "delta_time_pct",
    "delta_f1_pct",
    "f1",
    "feasible",
    "f1_verdict",
    "delta_f1_ci95_pct",
    "f1_decided_by",
    "f1_bootstrap_share",
    "n_seeds",
    "method",
)


class StageFigures(TypedDict):
    """Energy and time of one stage (or window) of a run."""

    energy_kwh: float
    duration_s: float


class MeterSummary(TypedDict):
    """Which meter(s) measured a study, and whether every figure was measured."""

    name: str | None
    method: Literal["measured", "estimated"] | None


class TrialRow(TypedDict):
    """The figures of one trial, as result tables show them."""

    trial: int
    knobs: str
    fidelity: float | None
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
    f1_decided_by: str | None
    f1_bootstrap_share: float | None
    n_seeds: int | None
    repeats: int | None
    method: str | None
    #: why a final's rounds ended (``confirmed``, ``undecidable by round 6``, ...)
    rounds_ended: str | None


class ExtrapolationRow(TypedDict):
    """A finalist's short-run energy estimate against its full-fidelity measurement."""

    knobs: str
    estimated_kwh: float
    measured_kwh: float
    error_pct: float


def stored_budget_f1_pct(attrs: Mapping[str, Any]) -> float | None:
    """A study's F1 budget in the user's sign; a positive stored value is the same loss."""
    value = attrs.get(StudyAttr.BUDGET_F1_PCT)
    return None if value is None else 0.0 - abs(float(value))


def stored_settings(attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A study's user attributes with the budget in the user's sign (the resume check's view)."""
    settings = dict(attrs)
    if StudyAttr.BUDGET_F1_PCT in settings:
        settings[StudyAttr.BUDGET_F1_PCT] = stored_budget_f1_pct(attrs)
    return settings
