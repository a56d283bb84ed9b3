"""The search's F1 decisions, made on intervals rather than on one draw.

A trial keeps the test predictions of each of its runs. Against the baseline trial at the
same fidelity, the paired bootstrap (:mod:`greensearch.stats`) gives ΔF1 with its
interval and a three-valued verdict. Optuna's constraint stays the point estimate (the
sampler needs a number); the decisions that matter read the verdict: a bundle leaves the
finalist pool only when it is confidently infeasible, and the oracle must be confidently
feasible. Trials without kept predictions (replayed landscapes, older studies) fall back
to the point estimate, and say so with ``f1_interval: false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.record import TrialRecord
from greensearch.stats import (
    DeltaF1,
    Design,
    F1Verdict,
    RunPredictions,
    decision,
    delta_f1,
    f1_power,
    f1_resolution,
    judge,
)

__all__ = [
    "F1Judgement",
    "f1_judgement",
    "judged_delta",
    "kept_predictions",
    "power_pct",
    "resolution_pct",
    "short_run_chance",
    "verdict_of",
]

#: Resamples for decisions inside the search (each costs milliseconds).
_RESAMPLES = 4_000


def kept_predictions(attrs: Mapping[str, Any]) -> list[RunPredictions]:
    """The runs' predictions a trial stored (empty where it kept none)."""
    seeds = attrs.get("seeds") or []
    blocks = attrs.get("predictions") or []
    runs = []
    for i, block in enumerate(blocks):
        seed = seeds[i] if i < len(seeds) else None
        runs.append(RunPredictions.from_record(block, seed=seed))
    return runs


@dataclass(frozen=True, slots=True)
class F1Judgement:
    """A trial's F1 verdict against its baseline trial, with the interval behind it.

    Attributes:
        verdict: Feasible, infeasible or uncertain (:class:`~greensearch.stats.F1Verdict`).
        delta: The paired bootstrap's ΔF1 (``None``: a run kept no predictions, so the
            verdict is the point estimate's).
        n_seeds: The trial's seeded runs (its runs, where none kept predictions).
    """

    verdict: F1Verdict
    delta: DeltaF1 | None
    n_seeds: int | None

    def to_attrs(self) -> dict[str, Any]:
        """The trial figures this judgement is stored as."""
        if self.delta is None:
            return {
                "f1_interval": False,
                "f1_verdict": self.verdict.value,
                "delta_f1_ci95_pct": None,
                "f1_bootstrap_share": None,
                "n_seeds": self.n_seeds,
            }
        d = self.delta
        return {
            "f1_interval": True,
            "f1_verdict": self.verdict.value,
            "delta_f1_ci95_pct": list(d.ci95_pct),
            "delta_f1_bounds_pct": [d.lower_pct, d.upper_pct],
            "f1_bootstrap_share": d.bootstrap_share,  # a share of resamples, not P(feasible)
            "f1_decided_by": decision(d, self.verdict).describe(),
            "f1_p_value": d.p_value,
            "f1_seed_design": d.seed_design,
            "f1_confidence": d.confidence,
            "n_seeds": self.n_seeds,
            "n_seeds_baseline": d.n_seeds_baseline,
        }


def f1_judgement(
    attrs: Mapping[str, Any],
    base: Mapping[str, Any],
    *,
    budget_pct: float,
    confidence: float,
    point_loss_pct: float,
    min_seeds: int = 1,
) -> F1Judgement:
    """ΔF1 interval, bootstrap share and verdict of a trial against its baseline trial.

    ``min_seeds``: runs each arm needs for ``feasible`` (2 in the finals; see
    :func:`greensearch.stats.judge`).
    """
    degenerate = bool(attrs.get("degenerate"))
    delta = judged_delta(attrs, base, budget_pct=budget_pct, confidence=confidence)
    if delta is None:
        feasible = not degenerate and point_loss_pct <= budget_pct
        return F1Judgement(
            verdict=F1Verdict.FEASIBLE if feasible else F1Verdict.INFEASIBLE,
            delta=None,
            n_seeds=len(attrs.get("seeds") or []) or attrs.get("repeats"),
        )
    return F1Judgement(
        verdict=judge(delta, degenerate=degenerate, min_seeds=min_seeds),
        delta=delta,
        n_seeds=delta.n_seeds_candidate,
    )


def learned_nothing(base: Mapping[str, Any], fidelity: float) -> str | None:
    """Why no budget can be judged against this baseline (``None``: one can): its F1 is
    zero or it predicts one class, so every relative ΔF1 against it is meaningless."""
    f1 = base.get("f1")  # figures without a point F1 (simulated looks) judge by predictions
    if (f1 is None or f1 > 0) and not base.get("degenerate"):
        return None
    score = f"F1 {f1:.3f}, " if f1 is not None else ""
    return (
        f"the baseline learned nothing at fidelity {fidelity:g} ({score}one class "
        "predicted); no F1 budget can be judged against it: raise --fidelity, or the "
        "study's epochs or learning rate"
    )


def judged_delta(
    attrs: Mapping[str, Any], base: Mapping[str, Any], *, budget_pct: float, confidence: float
) -> DeltaF1 | None:
    """ΔF1 of a trial against its baseline trial from their kept predictions (``None``
    where either kept none).

    Raises:
        ConfigError: the two were scored with different metrics (fails the trial).
    """
    cand_runs, base_runs = kept_predictions(attrs), kept_predictions(base)
    if not cand_runs or not base_runs:
        return None
    metrics = (cand_runs[0].metric, base_runs[0].metric)
    if metrics[0] != metrics[1]:
        raise ConfigError(
            f"a run reported {metrics[0]} but its baseline {metrics[1]}; report one metric "
            "in every run of a task"
        )
    seeds = [run.seed for run in cand_runs]
    base_seeds = [run.seed for run in base_runs]
    if len(seeds) >= 2 and None not in seeds and base_seeds[: len(seeds)] == seeds:
        # a finalist whose rounds stopped early pairs with the baseline's first rounds
        base_runs = base_runs[: len(seeds)]
    return delta_f1(
        base_runs, cand_runs, budget_pct=budget_pct, confidence=confidence, n_resamples=_RESAMPLES
    )


def verdict_of(attrs: Mapping[str, Any]) -> F1Verdict:
    """A trial's stored verdict (older trials: their point-estimate ``feasible`` flag)."""
    return F1Verdict(TrialRecord.from_attrs(attrs).verdict)


def short_run_chance(record: TrialRecord, budget_pct: float) -> float | None:
    """A search trial's chance of meeting the budget fully trained, or ``None``: out.

    With kept predictions, the bootstrap share within the budget; ``None`` once the
    verdict is confidently infeasible. Without (a point estimate): 1 when feasible, an
    even 0.5 for a loss within twice the budget (a short run's F1 can be that far off),
    ``None`` beyond. One rule for the near misses the finals judge and for the bundles a
    final phase may promote.
    """
    if record.attrs.get("f1_interval"):
        if F1Verdict(record.verdict) is F1Verdict.INFEASIBLE:
            return None
        return record.f1_bootstrap_share or 0.0
    if record.feasible:
        return 1.0
    loss = record.f1_loss_pct
    return 0.5 if loss is not None and loss <= 2 * budget_pct else None


def resolution_pct(
    base: Mapping[str, Any], *, confidence: float, design: Design = "n_vs_n"
) -> float | None:
    """The smallest F1 loss the baseline trial's seeded repeats let a comparison of
    ``design`` resolve (``one_vs_n`` for search trials, ``n_vs_n`` for the finals)."""
    runs = kept_predictions(base)
    if len({run.seed for run in runs}) < 2:
        return None
    return f1_resolution(runs, confidence=confidence, n_resamples=_RESAMPLES, design=design)


def power_pct(
    base: Mapping[str, Any], *, confidence: float, design: Design = "n_vs_n"
) -> float | None:
    """The F1 margin a comparison of ``design`` against this baseline resolves 80 % of the
    time (see :func:`greensearch.stats.f1_power`)."""
    runs = kept_predictions(base)
    if len({run.seed for run in runs}) < 2:
        return None
    return f1_power(runs, confidence=confidence, n_resamples=_RESAMPLES, design=design)
