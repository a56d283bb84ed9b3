"""From a finished study to an answer: finalists, the oracle, the Pareto table, payback.

Nothing is called the oracle on a low-fidelity estimate: the cheapest feasible bundles of
the search (and the cheapest narrow misses of the F1 budget, whose short-run F1 may be
pessimistic) are measured again at full fidelity, ``repeats`` times, against a baseline
measured the same way, and the oracle is the lowest-energy of those that meet the F1
budget there and are not degenerate.
"""

from __future__ import annotations

import statistics
from typing import Any

from greensearch.pipeline import describe
from greensearch.search._objective import attrs_of, completed_at

__all__ = ["pick_finalists", "pick_near_misses", "pareto_rows", "build_result", "trial_row"]


def trial_row(t: Any) -> dict[str, Any]:
    """The figures of one trial, as the result's tables show them."""
    a = attrs_of(t)
    return {
        "trial": t.number,
        "knobs": a.get("knobs", ""),
        "fidelity": a.get("fidelity"),
        "energy_kwh": a.get("energy_kwh"),
        "duration_s": a.get("duration_s"),
        "delta_energy_pct": a.get("delta_energy_pct"),
        "delta_time_pct": a.get("delta_time_pct"),
        "delta_f1_pct": a.get("delta_f1_pct"),
        "f1": a.get("f1"),
        "degenerate": a.get("degenerate"),
        "feasible": a.get("feasible"),
        "repeats": a.get("repeats"),
        "method": a.get("method"),
    }


def _pareto(trials: list[Any]) -> list[Any]:
    """Non-dominated trials on (energy, F1 loss), both minimised."""
    front = []
    for t in trials:
        e, f = t.values
        if not any(o.values[0] <= e and o.values[1] <= f and o.values != t.values for o in trials):
            front.append(t)
    return sorted(front, key=lambda t: t.values[0])


def pick_finalists(study: Any, fidelity: float, k: int) -> list[str]:
    """The ``k`` lowest-energy feasible, non-degenerate knob sets of the search."""
    feasible = [
        t
        for t in completed_at(study, fidelity)
        if attrs_of(t).get("feasible") and attrs_of(t).get("knobs")
    ]
    return _cheapest_keys(feasible, k)


def _cheapest_keys(trials: list[Any], n: int) -> list[str]:
    """The knob sets of the ``n`` lowest-energy trials, each set once."""
    keys: list[str] = []
    for t in sorted(trials, key=lambda t: t.values[0]):
        if len(keys) == n:
            break
        if attrs_of(t)["knobs"] not in keys:
            keys.append(attrs_of(t)["knobs"])
    return keys


def pick_near_misses(
    study: Any, fidelity: float, budget_pct: float, n: int, finalists: list[str]
) -> list[str]:
    """Up to ``n`` bundles that missed the F1 budget narrowly but beat every finalist's energy.

    A short run's F1 is a noisy proxy of the full run's (a knob can lose 1.1 % at
    fidelity 0.25 and gain F1 fully trained), so a non-degenerate bundle whose F1 loss
    exceeded the budget by at most the budget again, and which is cheaper than the
    cheapest finalist and the baseline, is judged at full fidelity too. The budget stays
    strict there: a near miss becomes the oracle only if it meets it in full runs. Nothing
    is picked at fidelity 1 (no proxy) or with a zero budget (no margin).
    """
    if n < 1 or fidelity >= 1.0 or budget_pct <= 0:
        return []
    trials = [t for t in completed_at(study, fidelity) if not attrs_of(t).get("degenerate")]
    ceiling = min(
        (t.values[0] for t in trials if attrs_of(t).get("knobs") in ["", *finalists]),
        default=float("inf"),
    )
    near = [
        t
        for t in trials
        if attrs_of(t).get("knobs")
        and not attrs_of(t).get("feasible")
        and attrs_of(t).get("f1_loss_pct", float("inf")) <= 2 * budget_pct
        and t.values[0] < ceiling
        and attrs_of(t)["knobs"] not in finalists
    ]
    return _cheapest_keys(near, n)


def pareto_rows(study: Any, fidelity: float) -> list[dict[str, Any]]:
    """Pareto front of the search trials (non-degenerate) as table rows."""
    trials = [t for t in completed_at(study, fidelity) if not attrs_of(t).get("degenerate")]
    return [trial_row(t) for t in _pareto(trials)]


def build_result(study: Any, *, fidelity: float, budget_pct: float) -> dict[str, Any]:
    """Assemble the answer of ``greensearch optimize`` from the stored trials."""
    import optuna

    all_trials = study.get_trials(deepcopy=False)
    # a trial killed mid-run (or deferred) and retried is accounted for by its retry
    retried = {
        t.system_attrs["failed_trial"] for t in all_trials if "failed_trial" in t.system_attrs
    }
    search = [
        t for t in all_trials if attrs_of(t).get("phase") != "final" and t.number not in retried
    ]
    finals = [t for t in completed_at(study, 1.0) if attrs_of(t).get("phase") == "final"]
    base = next((t for t in finals if attrs_of(t).get("knobs") == ""), None)
    candidates = [t for t in finals if attrs_of(t).get("knobs") and attrs_of(t).get("feasible")]
    oracle = min(candidates, key=lambda t: t.values[0]) if candidates else None
    spent = sum(attrs_of(t).get("energy_kwh_spent", 0.0) for t in all_trials)
    result: dict[str, Any] = {
        "study_name": study.study_name,
        "budget_f1_pct": -budget_pct,
        "fidelity": fidelity,
        "oracle": _oracle(oracle, base) if oracle is not None else None,
        "baseline": _oracle(base, base) if base is not None else None,
        "finalists": [
            dict(trial_row(t), near_miss=bool(attrs_of(t).get("near_miss")), **_ci(t, base))
            for t in finals
        ],
        "pareto": pareto_rows(study, fidelity),
        "n_trials": len(search),
        "n_complete": sum(t.state == optuna.trial.TrialState.COMPLETE for t in search),
        "n_pruned": sum(t.state == optuna.trial.TrialState.PRUNED for t in search),
        "n_failed": sum(t.state == optuna.trial.TrialState.FAIL for t in search),
        "n_guided": sum(attrs_of(t).get("phase") == "guided" for t in search),
        "n_reused": sum("reused_from" in t.user_attrs for t in search),
        "pruned": [
            {
                "trial": t.number,
                "knobs": attrs_of(t).get("knobs"),
                "reason": attrs_of(t).get("pruned_reason"),
            }
            for t in search
            if t.state == optuna.trial.TrialState.PRUNED
        ],
        "failed": [
            {
                "trial": t.number,
                "knobs": attrs_of(t).get("knobs"),
                "error": attrs_of(t).get("error"),
            }
            for t in search
            if t.state == optuna.trial.TrialState.FAIL
        ],
        "search_energy_kwh": spent,
        "search_duration_s": sum(attrs_of(t).get("duration_s_spent", 0.0) for t in all_trials),
        "extrapolation": _extrapolation(study, finals, fidelity),
        "meter": _meter(all_trials),
    }
    saving = (base.values[0] - oracle.values[0]) if oracle is not None and base is not None else 0.0
    result["payback_runs"] = spent / saving if saving > 0 else None
    return result


def _oracle(t: Any, base: Any) -> dict[str, Any]:
    row = trial_row(t)
    row.update(_ci(t, base))
    return row


def _ci(t: Any, base: Any) -> dict[str, Any]:
    """95% CI of ΔEnergy % from the repeat runs (baseline mean as the reference)."""
    runs = attrs_of(t).get("energy_kwh_runs") or []
    if base is None or len(runs) < 2:
        return {"delta_energy_ci95_pct": None}
    ref = base.values[0]
    stats = describe([(e / ref - 1.0) * 100.0 for e in runs])
    return {
        "delta_energy_ci95_pct": [stats["ci95_low"], stats["ci95_high"]],
        "energy_kwh_ci95": attrs_of(t).get("energy_kwh_ci95"),
    }


def _extrapolation(study: Any, finals: list[Any], fidelity: float) -> dict[str, Any] | None:
    """Relative error of the low-fidelity energy estimate against the full measurement."""
    if fidelity >= 1.0:
        return None
    low = {attrs_of(t).get("knobs"): t for t in completed_at(study, fidelity)}
    errors = []
    for t in finals:
        est = low.get(attrs_of(t).get("knobs"))
        if est is not None:
            errors.append(
                {
                    "knobs": attrs_of(t).get("knobs"),
                    "estimated_kwh": est.values[0],
                    "measured_kwh": t.values[0],
                    "error_pct": (est.values[0] / t.values[0] - 1.0) * 100.0,
                }
            )
    if not errors:
        return None
    abs_err = [abs(e["error_pct"]) for e in errors]
    return {
        "finalists": errors,
        "median_abs_error_pct": statistics.median(abs_err),
        "max_abs_error_pct": max(abs_err),
    }


def _meter(trials: list[Any]) -> dict[str, Any]:
    methods = {attrs_of(t).get("method") for t in trials if attrs_of(t).get("method")}
    meters = {attrs_of(t).get("meter") for t in trials if attrs_of(t).get("meter")}
    return {
        "name": ",".join(sorted(meters)) or None,
        "method": "measured" if methods == {"measured"} else ("estimated" if methods else None),
    }
