"""Render a :class:`~greensearch.analysis._study_report.StudyReport` as one HTML page.

The page opens offline: plotly.js is inlined once in the head and every figure refers to
it, so a report with three figures is one script, not three copies of it. Every value
from the study is escaped (knob values and error messages are user text).
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from greensearch.analysis._plots import figure2, frontier_figure, stages_figure
from greensearch.analysis._study_report import StudyReport
from greensearch.exceptions import ConfigError

__all__ = ["render_html", "write_report"]

Cell = Callable[[Any], str]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.banner{padding:.6em 1em;border-left:6px solid #d62728;background:#fdf0f0;font-weight:600}
.banner.ok{border-color:#2ca02c;background:#f0faf0}
.oracle{font-size:1.1em;padding:.6em 1em;background:#fff9dc;border:1px solid #f2c200}
.note{color:#555;font-size:.9em}
"""


def write_report(report: StudyReport, path: str | Path) -> Path:
    """Write ``report`` as one self-contained HTML file (plotly.js inlined once).

    Raises:
        ConfigError: if the file cannot be written.

    """
    out = Path(path)
    try:
        out.write_text(render_html(report), encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"cannot write {str(out)!r}: {err.strerror}; check the path") from err
    return out


def render_html(report: StudyReport) -> str:
    """The whole page as a string."""
    import plotly.offline

    r, m = report.result, report.metric_label
    parts = [
        f"<h1>greensearch report: {_e(report.study_name)}</h1>",
        (
            f"<p>task <b>{_e(report.task)}</b> · {_e(m)} budget: lose at most "
            f"{-report.budget_f1_pct:g}% · search fidelity {_e(r.get('fidelity'))} "
            f"(search trials run that share of the training steps; their energy and time are "
            f"extrapolated to a full run) · finalists re-measured at full fidelity.</p>"
        ),
        _banner(report),
        "<h2>Oracle</h2>",
        _oracle(report),
        "<h2>The search's own cost</h2>",
        _cost(r),
        "<h2>Finalists (full fidelity)</h2>",
        _table(r.get("finalists") or [], _FINALIST_COLUMNS, m, empty="no finalist was measured"),
        f"<h2>Pareto frontier (energy vs Δ{_e(m)})</h2>",
        (
            "<p class='note'>Non-degenerate knob sets no other set beats on both total energy and "
            f"Δ{_e(m)}. Each row is a final full-fidelity trial when the search re-measured that "
            "knob set, else its search trial (see fidelity and runs).</p>"
        ),
        _table(_rows(report.frontier), _POINT_COLUMNS, m, empty="no frontier"),
        "<h2>Figure 2: energy vs time against the baseline</h2>",
        _figure(
            figure2(
                report.table,
                stage=report.stage,
                budget_f1_pct=report.budget_f1_pct,
                oracle=report.oracle_variant,
                table_oracle=False,
            )
        ),
        f"<h2>Energy–{_e(m)} frontier</h2>",
        _figure(
            frontier_figure(
                report.table,
                budget_f1_pct=report.budget_f1_pct,
                oracle=report.oracle_variant,
                table_oracle=False,
            )
        ),
        "<h2>Energy per stage</h2>",
        _figure(stages_figure(report.table.sort_values("energy_kwh", ascending=False))),
        "<h2>Synergy: bundles vs their knobs measured alone</h2>",
        _synergy(report),
        "<h2>Pruned combinations (never measured)</h2>",
        _table(r.get("pruned") or [], _PRUNED_COLUMNS, m, empty="the checker pruned nothing"),
    ]
    if r.get("failed"):
        parts += ["<h2>Failed trials</h2>", _table(r["failed"], _FAILED_COLUMNS, m)]
    parts += [
        "<h2>Every knob set</h2>",
        (
            "<p class='note'>runs = repeats behind the figure; std = spread of one run "
            "(scaled to the full run for search trials).</p>"
        ),
        _table(_rows(report.table), _ALL_COLUMNS, m),
    ]
    title = _e(f"greensearch report: {report.study_name}")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{title}</title><style>{_STYLE}</style>"
        f"<script type='text/javascript'>{plotly.offline.get_plotlyjs()}</script>"
        "</head><body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _banner(report: StudyReport) -> str:
    estimated = report.methods.get("estimated", 0)
    css = "banner" if estimated else "banner ok"
    by_fid = report.table.groupby(report.table["fidelity"].fillna(-1))["repeats"]
    runs = "; ".join(
        f"{'unknown fidelity' if fid < 0 else f'fidelity {fid:g}'}: {len(g)} knob set(s), "
        f"{_span(g)} run(s) each"
        for fid, g in by_fid
    )
    return (
        f"<p class='{css}'>{_e(report.measurement_statement)}</p>"
        f"<p>How many runs stand behind the numbers: {_e(runs)}.</p>"
    )


def _oracle(report: StudyReport) -> str:
    o, m = report.result.get("oracle"), report.metric_label
    if not o:
        return (
            f"<p class='oracle'>No oracle: no full-fidelity finalist met the {_e(m)} budget "
            "(or the search stopped before its final phase).</p>"
        )
    ci = o.get("delta_energy_ci95_pct")
    ci_text = f" (95% CI {ci[0]:+.1f}% to {ci[1]:+.1f}%)" if ci else " (no CI: one run)"
    return (
        f"<div class='oracle'><b>{_e(o['knobs'])}</b> (trial {o['trial']})<br>"
        f"energy {_kwh(o['energy_kwh'])} · ΔEnergy {_pct(o['delta_energy_pct'])}{_e(ci_text)}"
        f" · ΔTime {_pct(o['delta_time_pct'])} · Δ{_e(m)} {_pct(o['delta_f1_pct'], '+.2f')}"
        f"{_e(_f1_ci_text(o, m))}<br>"
        f"full fidelity, {o.get('repeats')} run(s), against a baseline of "
        f"{(report.result.get('baseline') or {}).get('repeats', '?')} run(s) · method "
        f"{_e(o.get('method'))}"
        + (f"<br>oracle rule: {_e(rule)}" if (rule := report.result.get("oracle_rule")) else "")
        + "</div>"
    )


def _f1_ci_text(o: dict[str, Any], metric: str) -> str:
    ci = o.get("delta_f1_ci95_pct")
    if not ci:
        return f" (no Δ{metric} interval: no kept predictions)"
    share = o.get("f1_bootstrap_share")
    share_text = f", bootstrap share within budget {100 * share:.0f}%" if share is not None else ""
    return (
        f" (95% CI {ci[0]:+.2f}% to {ci[1]:+.2f}%, {o.get('n_seeds')} seeds{share_text}; "
        f"{o.get('f1_decided_by') or 'verdict ' + str(o.get('f1_verdict'))})"
    )


def _cost(r: dict[str, Any]) -> str:
    payback = r.get("payback_runs")
    pay = (
        f"The search paid for itself after <b>{payback:.3g}</b> runs of the oracle instead "
        "of the baseline (search energy / energy saved per run)."
        if payback is not None
        else "No payback: no oracle saves energy against the baseline."
    )
    ext = r.get("extrapolation")
    ext_text = (
        ""
        if not ext
        else (
            " Extrapolating short search runs to full runs erred by"
            f" {ext['median_abs_error_pct']:.2g}%"
            f" (median) and {ext['max_abs_error_pct']:.2g}% (worst) on the finalists."
        )
    )
    return (
        f"<p>{r.get('n_trials')} search trials: {r.get('n_complete')} complete "
        f"({r.get('n_reused')} reused an earlier measurement), {r.get('n_pruned')} pruned "
        f"before measuring, {r.get('n_failed')} failed. The search itself used "
        f"<b>{_kwh(r.get('search_energy_kwh'))}</b> over {_num(r.get('search_duration_s'), '.4g')} "
        f"s (finals included).</p><p>{pay}{_e(ext_text)}</p>"
    )


def _synergy(report: StudyReport) -> str:
    if report.synergy is None:
        return f"<p>No synergy table: {_e(report.synergy_note)}</p>"
    fid = dict(zip(report.table["variant"], report.table["fidelity"], strict=True))
    rows = [dict(rec, fidelity=fid.get(rec["variant"])) for rec in _rows(report.synergy)]
    return (
        f"<p class='note'>Expected ΔEnergy from the knobs' isolated effects: additive "
        f"(sum) and multiplicative (1 − ∏(1 − saving)); verdict against the "
        f"multiplicative expectation. {_e(report.synergy_note)}.</p>"
        + _table(
            rows, _SYNERGY_COLUMNS, report.metric_label, empty="no bundle of two or more knobs"
        )
    )


def _figure(fig: Any) -> str:
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


def _table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[tuple[str, str, Cell]],
    metric: str,
    *,
    empty: str = "none",
) -> str:
    """Rows under ``columns``, whose titles name the task's metric as ``{m}``."""
    if not rows:
        return f"<p class='note'>{_e(empty)}</p>"
    left = {"knobs", "variant", "reason", "error", "note", "verdict", "meter", "method", "phase"}
    head = "".join(
        f"<th class='{'l' if k in left else ''}'>{_e(t.format(m=metric))}</th>"
        for k, t, _ in columns
    )
    body = []
    for row in rows:
        cells = "".join(
            f"<td class='{'l' if k in left else ''}'>{fmt(row.get(k))}</td>"
            for k, _, fmt in columns
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _e(v: Any) -> str:
    return "-" if _missing(v) else html.escape(str(v))


def _num(v: Any, spec: str = ".3g") -> str:
    return "-" if _missing(v) else format(float(v), spec)


def _pct(v: Any, spec: str = "+.1f") -> str:
    return "-" if _missing(v) else format(float(v), spec) + "%"


def _kwh(v: Any) -> str:
    """kWh from 1 kWh up, else Wh: small runs stay readable (0.0913 Wh, not 9.13e-05)."""
    if _missing(v):
        return "-"
    return f"{float(v):.4g} kWh" if abs(float(v)) >= 1 else f"{float(v) * 1000:.4g} Wh"


def _knobs(v: Any) -> str:
    return "(baseline)" if v == "" else _e(str(v).replace(",", ", "))


def _ci(v: Any) -> str:
    return "-" if not v else f"{v[0]:+.1f}% to {v[1]:+.1f}%"


def _yes(v: Any) -> str:
    return "-" if _missing(v) else ("yes" if v else "no")


def _share(v: Any) -> str:
    return "-" if _missing(v) else f"{100 * float(v):.0f}%"


def _fid(v: Any) -> str:
    return "-" if _missing(v) else ("full" if float(v) >= 1 else f"{float(v):g} (extrapolated)")


def _span(values: pd.Series) -> str:
    lo, hi = int(values.min()), int(values.max())
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


_FINALIST_COLUMNS: list[tuple[str, str, Cell]] = [
    ("trial", "trial", _e),
    ("knobs", "knobs", _knobs),
    ("energy_kwh", "energy", _kwh),
    ("delta_energy_pct", "ΔEnergy", _pct),
    ("delta_energy_ci95_pct", "ΔEnergy 95% CI", _ci),
    ("delta_time_pct", "ΔTime", _pct),
    ("delta_f1_pct", "Δ{m}", lambda v: _pct(v, "+.2f")),
    ("delta_f1_ci95_pct", "Δ{m} 95% CI", _ci),
    ("f1_verdict", "{m} verdict", _e),
    ("error", "failed", _e),
    ("f1_decided_by", "deciding one-sided bound", _e),
    ("f1_bootstrap_share", "bootstrap share within budget", _share),
    ("n_seeds", "seeds", _e),
    ("degenerate", "degenerate", _yes),
    ("repeats", "runs", _e),
    ("near_miss", "uncertain or near miss in search", _yes),
    ("method", "method", _e),
]
_POINT_COLUMNS: list[tuple[str, str, Cell]] = [
    ("variant", "variant", _e),
    ("knobs", "knobs", _knobs),
    ("energy_kwh", "energy", _kwh),
    ("delta_energy_pct", "ΔEnergy", _pct),
    ("delta_time_pct", "ΔTime", _pct),
    ("delta_f1_pct", "Δ{m}", lambda v: _pct(v, "+.2f")),
    ("feasible", "within budget", _yes),
    ("fidelity", "fidelity", _fid),
    ("repeats", "runs", _e),
]
_ALL_COLUMNS: list[tuple[str, str, Cell]] = [
    *_POINT_COLUMNS[:3],
    ("energy_kwh_std", "std", _kwh),
    *_POINT_COLUMNS[3:],
    ("degenerate", "degenerate", _yes),
    ("phase", "phase", _e),
    ("meter", "meter", _e),
    ("method", "method", _e),
]
_SYNERGY_COLUMNS: list[tuple[str, str, Cell]] = [
    ("variant", "variant", _e),
    ("knobs", "knobs", _knobs),
    ("measured_delta_energy_pct", "measured ΔE", _pct),
    ("expected_additive_pct", "additive ΔE", _pct),
    ("expected_multiplicative_pct", "multiplicative ΔE", _pct),
    ("excess_saving_pp", "excess (pp)", lambda v: _num(v, "+.1f")),
    ("noise_pct", "band (pp)", lambda v: _num(v, ".2f")),
    ("synergy_ratio", "ratio", lambda v: _num(v, ".3f")),
    ("verdict", "verdict", _e),
    ("fidelity", "fidelity", _fid),
    ("note", "note", _e),
]
_PRUNED_COLUMNS: list[tuple[str, str, Cell]] = [
    ("trial", "trial", _e),
    ("knobs", "knobs", _knobs),
    ("reason", "reason", _e),
]
_FAILED_COLUMNS: list[tuple[str, str, Cell]] = [
    ("trial", "trial", _e),
    ("knobs", "knobs", _knobs),
    ("error", "error", _e),
]
