"""The search's result as text: what ``greensearch optimize`` prints, for any caller.

A Python user (a Trainer search, a notebook) prints the same answer the CLI does, with
the same rules: every energy column in one unit, a bundle's knobs wrapped after commas,
the F1 verdict beside the bound that decided it, the search's own cost, meter and machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greensearch._text import KNOBS_WIDTH, energy_unit, fmt_energy, fmt_pct, table_lines

if TYPE_CHECKING:
    from greensearch.schema import TrialRow
    from greensearch.search._result import SearchResult
    from greensearch.search._result_row import ResultRow

__all__ = ["format_result"]


def format_result(result: SearchResult) -> str:
    """The result as ``greensearch optimize`` prints it: the oracle, the finalists, the
    search's Pareto table and its own cost, with meter and machine."""
    out: list[str] = []
    oracle, base = result.oracle, result.baseline
    name = result.metric_label
    out.append(
        f"study {result.study_name}: {result.n_trials} search trials "
        f"({result.n_complete} measured or reused, {result.n_pruned} pruned, "
        f"{result.n_failed} failed, {result.n_guided} model-guided), "
        f"{name} budget {result.budget_f1_pct:g}%"
    )
    if oracle is None:
        out.append(
            f"no bundle is confirmed within the {name} budget at full fidelity (verdict "
            "feasible): keep the baseline"
        )
    else:
        ci = oracle.delta_energy_ci95_pct
        ci_text = f" (95% CI {ci[0]:+.1f}% .. {ci[1]:+.1f}%)" if ci and ci[0] is not None else ""
        base_energy = fmt_energy(base.energy_kwh) if base is not None else "n/a"
        o = oracle.row
        out.append(f"oracle: {o['knobs']}")
        out.append(
            f"  energy {fmt_energy(o['energy_kwh'])} vs baseline "
            f"{base_energy}: ΔEnergy {fmt_pct(o['delta_energy_pct'])}"
            f"{ci_text}, ΔTime {fmt_pct(o['delta_time_pct'])}"
        )
        out.append(f"  {_f1_text(o, result)}; {o['repeats']} full-fidelity runs in rounds")
    if result.oracle_rule is not None:
        out.append(f"  oracle rule: {result.oracle_rule}")
    unconfirmed = result.not_confirmed
    if unconfirmed is not None:
        u = unconfirmed.row
        out.append(f"not confirmed: {u['knobs']}")
        out.append(f"  ΔEnergy {fmt_pct(u['delta_energy_pct'])}, {_f1_text(u, result)}")
        out.append(f"  to confirm: {unconfirmed.to_confirm}")
    _add_resolution(result, out)
    _add_finalists(result.finalists, name, out)
    _add_waited(result, out)
    _add_search(result, out)
    _add_cost(result, out)
    return "\n".join(out)


def _add_waited(result: SearchResult, out: list[str]) -> None:
    """The dearer candidates that waited for the cheaper ones (``search._deferral``)."""
    if not result.waited:
        return
    judged = {row.row["knobs"] for row in result.finalists}
    # unjudged with no oracle: its phase could not run (the baseline failed, say)
    skipped = "not needed" if result.oracle is not None else "not judged"
    out.append("waited (dearer; judged only if no cheaper finalist is confirmed):")
    for w in result.waited:
        fate = "judged above" if w["knobs"] in judged else skipped
        out.append(
            f"  {w['knobs']}: short run x{w['energy_ratio']:.2f} of the baseline, "
            f"chance within the budget {100 * w['chance']:.0f}%: {fate}"
        )


def _add_search(result: SearchResult, out: list[str]) -> None:
    """The search's Pareto table and how well its short runs predicted the finals."""
    unit = energy_unit(point.row["energy_kwh"] for point in result.pareto)
    rows = [
        [
            r["knobs"] or "baseline",
            fmt_energy(r["energy_kwh"], unit),
            fmt_pct(r["delta_energy_pct"]),
            fmt_pct(r["delta_time_pct"]),
            fmt_pct(r["delta_f1_pct"]),
            "yes" if r["feasible"] else "no",
        ]
        for r in (point.row for point in result.pareto)
    ]
    if rows:
        out.append(f"\nPareto front of the search (fidelity {result.fidelity:g}, extrapolated):")
        out.extend(
            table_lines(
                ["knobs", "energy", "ΔEnergy", "ΔTime", f"Δ{result.metric_label}", "feasible"],
                rows,
                wrap_first=KNOBS_WIDTH,
            )
        )
    ext = result.extrapolation
    if ext:
        out.append(
            f"\nfidelity extrapolation error on finalists: median "
            f"{ext['median_abs_error_pct']:.1f}%, worst {ext['max_abs_error_pct']:.1f}%"
        )
        for row in ext["finalists"]:
            if row.get("contradicts_short_run"):
                out.append(
                    f"  {row['knobs']}: full runs ΔEnergy {fmt_pct(row['full_delta_energy_pct'])}"
                    f" contradicts its short run's {fmt_pct(row['short_delta_energy_pct'])} "
                    "by more than the noise"
                )


def _add_cost(result: SearchResult, out: list[str]) -> None:
    """What the search spent, the meter and the machine it measured on."""
    payback = result.payback_runs
    runs = result.search_baseline_runs
    out.append(
        f"\nsearch cost: {fmt_energy(result.search_energy_kwh)} in "
        f"{result.search_duration_s:.0f} s of runs"
        + (f" ({runs:.1f} baseline-run equivalents)" if runs else "")
        + (f"; paid back after {payback:.1f} production runs of the oracle" if payback else "")
    )
    total, against = result.total_energy_kwh, result.production_baseline_kwh
    if total is not None and against is not None:
        out.append(
            f"total over {result.production_runs} production runs: {fmt_energy(total)} "
            f"(search + runs of the {'oracle' if result.oracle else 'baseline'}) vs "
            f"{fmt_energy(against)} for the baseline alone ({fmt_pct(100 * (total / against - 1))})"
        )
    meter = result.meter
    out.append(f"meter: {meter['name']} ({meter['method']})")
    machine = result.machine
    if machine:
        out.append(
            f"measured on: {machine.get('summary', '?')} (fingerprint {machine['fingerprint']})"
        )
    for what, why in {**result.left_out_knobs, **result.left_out_values}.items():
        out.append(f"left out of the search: {what} ({why})")


def _add_resolution(result: SearchResult, out: list[str]) -> None:
    """The F1 losses the finals and the search trials can resolve, against the budget."""
    budget, name = -result.budget_f1_pct, result.metric_label
    resolution = result.f1_resolution_pct
    if resolution is not None:
        verdict = "resolves" if resolution <= budget else "cannot resolve"
        out.append(
            f"{name} resolution of the finals: {resolution:.2f}% (seeds vs the baseline's seeds): "
            f"it {verdict} the {budget:g}% budget"
        )
    search, power = result.search_f1_resolution_pct, result.search_f1_power_pct
    if search is not None:
        verdict = "resolves" if search <= budget else "cannot resolve"
        out.append(
            f"{name} resolution of a search trial: {search:.2f}% (one run vs the baseline's "
            f"seeds, fidelity {result.fidelity:g}): it {verdict} the {budget:g}% budget"
            + (f"; 80% power from {power:.2f}%" if power is not None else "")
        )


def _f1_text(row: TrialRow, result: SearchResult) -> str:
    """``ΔF1 +0.5% (95% CI -1.2% .. +2.0%, 3 seeds, bootstrap share within budget 91%;
    F1 0.79): feasible: lower 95% bound -0.8% >= -1.0%``: the two-sided interval beside
    the one-sided bound that decided."""
    ci = row.get("delta_f1_ci95_pct")
    where = (
        f"95% CI {ci[0]:+.1f}% .. {ci[1]:+.1f}%, {row.get('n_seeds')} seeds"
        if ci
        else f"no interval: {row.get('n_seeds') or row.get('repeats')} runs, no kept predictions"
    )
    share = row.get("f1_bootstrap_share")
    chance = f", bootstrap share within budget {100 * share:.0f}%" if share is not None else ""
    name = result.metric_label
    return (
        f"Δ{name} {fmt_pct(row['delta_f1_pct'])} ({where}{chance}; {name} {row['f1']:.4f}): "
        f"{row.get('f1_decided_by') or row.get('f1_verdict')}"
    )


def _add_finalists(finals: list[ResultRow], name: str, out: list[str]) -> None:
    """Every bundle judged at full fidelity, so a rejected candidate is visible too; why
    one failed is a numbered note under the table (a reason is a sentence, not a cell)."""
    unit = energy_unit(final.row["energy_kwh"] for final in finals)
    reasons = list(dict.fromkeys(f.error for f in finals if f.error is not None and f.knobs))
    rows = [
        [
            r["knobs"],
            fmt_energy(r["energy_kwh"], unit),
            fmt_pct(r["delta_energy_pct"]),
            fmt_pct(r["delta_f1_pct"]),
            _ci_text(r.get("delta_f1_ci95_pct")),
            f"failed [{reasons.index(final.error) + 1}]"
            if final.error is not None
            else r.get("f1_decided_by")
            or r.get("f1_verdict")
            or ("feasible" if r["feasible"] else "infeasible"),
            r.get("n_seeds") or r["repeats"] or "-",
            r.get("rounds_ended") or "",
            _picked_as(final),
        ]
        for final in finals
        for r in (final.row,)
        if r["knobs"]
    ]
    if rows:
        out.append("\nfinalists at full fidelity:")
        out.extend(
            table_lines(
                [
                    "knobs",
                    "energy",
                    "ΔEnergy",
                    f"Δ{name}",
                    f"Δ{name} 95% CI",
                    "verdict (deciding bound)",
                    "seeds",
                    "rounds ended",
                    "picked as",
                ],
                rows,
                align="lrrrrlrll",
                wrap_first=KNOBS_WIDTH,
            )
        )
        out.extend(f"  [{n}] failed: {why}" for n, why in enumerate(reasons, 1))


def _picked_as(final: ResultRow) -> str:
    """Why a finalist was re-measured (a near miss is the point-estimate rule's name for
    an uncertain bundle, used where trials kept no predictions)."""
    if final.promoted:
        return "promoted"
    if not final.near_miss:
        return "feasible in search"
    return "uncertain in search" if final.row.get("delta_f1_ci95_pct") else "near miss"


def _ci_text(ci: list[float] | None) -> str:
    return f"{ci[0]:+.1f}% .. {ci[1]:+.1f}%" if ci else "-"
