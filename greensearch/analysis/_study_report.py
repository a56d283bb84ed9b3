"""Everything a study report shows, gathered as data (rendering is in :mod:`._report_html`).

A report must let a reader trust or dispute its answer, so beside the oracle it carries
how each number was obtained: which meter and method (measured or estimated), at which
fidelity, from how many runs, what the search itself cost, and which combinations were
never measured because the checker pruned them.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from greensearch.analysis._pareto import pareto_frontier
from greensearch.analysis._study_records import open_study, study_table
from greensearch.analysis._synergy import BAND_RULE, synergy_table
from greensearch.exceptions import ConfigError
from greensearch.schema import StudyAttr, stored_budget_f1_pct
from greensearch.stats import task_metric

__all__ = ["StudyReport", "study_report"]


@dataclass(frozen=True)
class StudyReport:
    """A study's answer with its evidence.

    Attributes:
        study_name: the Optuna study.
        task: the study file's name (``default`` for the embedded task).
        budget_f1_pct: the budget of the task's metric (:attr:`metric_label`; F1 for a
            classifier) in the user's sign (``-1.0``: lose at most 1 %).
        stage: stage of Figure 2.
        result: what ``greensearch optimize`` returns (oracle with CI, finalists, pruned,
            search energy, payback, extrapolation error, meter).
        table: the normalized variant table (one row per knob set, see
            :func:`~greensearch.analysis.study_table`).
        oracle_variant: the table row of the oracle (``T<trial>``), or None.
        frontier: the table's rows on the energy–ΔF1 Pareto frontier.
        synergy: the synergy table, or None when it cannot be computed.
        synergy_note: why there is no synergy table, or the noise it used.
        methods: rows per measurement method (``measured`` / ``estimated``).
        meters: meter names seen in the rows.

    """

    study_name: str
    task: str
    budget_f1_pct: float
    stage: str
    result: dict[str, Any]
    table: pd.DataFrame
    oracle_variant: str | None
    frontier: pd.DataFrame
    synergy: pd.DataFrame | None
    synergy_note: str
    methods: dict[str, int] = field(default_factory=dict)
    meters: tuple[str, ...] = ()

    @property
    def metric_label(self) -> str:
        """The task metric's name, where a classifier's report says F1 (``exact match``)."""
        return task_metric(str(self.result.get("metric") or "f1")).label

    @property
    def machine_statement(self) -> str:
        """Which machine measured the study's baseline: its figures hold for that machine."""
        machine = self.result.get("machine")
        if not machine:
            return "Machine not recorded (a study made before greensearch recorded machines)."
        return (
            f"Measured on {machine.get('summary', '?')} (fingerprint {machine['fingerprint']}); "
            "the figures hold for that machine."
        )

    @property
    def measurement_statement(self) -> str:
        """Were these energies measured or estimated, by what, and on which machine."""
        return f"{self._method_statement()} {self.machine_statement}"

    def _method_statement(self) -> str:
        meters = ", ".join(self.meters) or "unknown"
        estimated = self.methods.get("estimated", 0)
        total = sum(self.methods.values())
        if total and estimated == total:
            return (
                f"Every energy figure in this report is ESTIMATED, not measured (meter: {meters})."
            )
        if estimated:
            return (
                f"Mixed evidence: {total - estimated} of {total} knob sets were measured, "
                f"{estimated} only estimated (meters: {meters}); the tables say which."
            )
        return f"Every energy figure in this report was measured (meter: {meters})."

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (what ``greensearch report --json`` prints)."""
        verdicts = Counter(self.synergy["verdict"]) if self.synergy is not None else Counter()
        return {
            "study_name": self.study_name,
            "task": self.task,
            "budget_f1_pct": self.budget_f1_pct,
            "metric": self.result.get("metric"),
            "oracle": self.result.get("oracle"),
            "baseline": self.result.get("baseline"),
            "n_points": len(self.table),
            "points_by_fidelity": _by_fidelity(self.table),
            "n_trials": self.result.get("n_trials"),
            "n_pruned": self.result.get("n_pruned"),
            "search_energy_kwh": self.result.get("search_energy_kwh"),
            "payback_runs": self.result.get("payback_runs"),
            "meter": {
                "names": list(self.meters),
                "methods": dict(self.methods),
                "statement": self.measurement_statement,
            },
            "synergy": {"verdicts": dict(verdicts), "note": self.synergy_note},
        }


def study_report(
    storage: str | Any,
    study_name: str,
    *,
    stage: str = "total",
    budget_f1_pct: float | None = None,
    noise_pct: float | None = None,
) -> StudyReport:
    """Gather a report of a stored study (nothing is run or written).

    Args:
        storage: storage URL or Optuna storage object.
        study_name: the study.
        stage: stage of Figure 2 (``total`` or a stage name).
        budget_f1_pct: F1 budget in percent, the user's sign (default: the study's own).
        noise_pct: σ, the noise of one run in percent, behind the synergy verdicts' bands
            (default: from the repeats).

    Raises:
        ConfigError: unknown study, no baseline, or a bad stage or budget.

    """
    from greensearch.search._result import build_result

    study = open_study(storage, study_name)
    given = budget_f1_pct if budget_f1_pct is not None else stored_budget_f1_pct(study.user_attrs)
    budget = 0.0 - abs(float(given if given is not None else -1.0))
    result = build_result(
        study, fidelity=float(study.user_attrs.get(StudyAttr.FIDELITY, 1.0)), budget_f1_pct=budget
    ).to_dict()
    table = study_table(study)
    oracle = result.get("oracle")
    oracle_variant = f"T{oracle['trial']}" if oracle else None
    if oracle_variant is not None and oracle_variant not in set(table["variant"]):
        oracle_variant = None  # e.g. a reused trial: never happens for a finished search
    front = pareto_frontier(table, budget_f1_pct=budget).points
    frontier = table.loc[front["on_frontier"].to_numpy()].sort_values("energy_kwh")
    try:
        synergy = synergy_table(table, noise_pct=noise_pct)
        noise = synergy.attrs["noise"]
        note = f"noise: {noise['detail']}; {BAND_RULE}"
    except ConfigError as err:
        synergy, note = None, str(err)
    methods = Counter(str(m) for m in table["method"] if isinstance(m, str) and m)
    meters = tuple(sorted({str(m) for m in table["meter"] if isinstance(m, str) and m}))
    return StudyReport(
        study_name=study.study_name,
        task=str(study.user_attrs.get(StudyAttr.STUDY, "?")),
        budget_f1_pct=budget,
        stage=stage,
        result=result,
        table=table,
        oracle_variant=oracle_variant,
        frontier=frontier,
        synergy=synergy,
        synergy_note=note,
        methods=dict(methods),
        meters=meters,
    )


def _by_fidelity(table: pd.DataFrame) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for value in table["fidelity"]:
        counts["unknown" if value is None or math.isnan(value) else f"{value:g}"] += 1
    return dict(counts)
