"""Plotly figures over the analysis tables: Figure 2, the energy–F1 frontier, stage bars.

Only drawing lives here; every number comes from :mod:`._pareto` or the normalized table.
The ΔF1 columns hold the study's task metric: the figures name it from the table's
``metric`` attribute (a study's, see :func:`~greensearch.analysis.study_table`; F1 for a
table without one). plotly (and kaleido for PNG) are imported lazily so
``greensearch --help`` stays light.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from itertools import product
from pathlib import Path
from typing import Any

import pandas as pd

from greensearch.analysis._pareto import Frontier, pareto_frontier, quadrant_table
from greensearch.analysis._records import STAGES
from greensearch.exceptions import ConfigError
from greensearch.stats import task_metric

__all__ = [
    "QUADRANT_COLORS",
    "figure2",
    "find_chromium",
    "frontier_figure",
    "metric_label",
    "stages_figure",
    "write_html",
    "write_png",
]

#: Colours of Figure 2 in the paper: green both better, red both worse, grey mixed.
QUADRANT_COLORS: dict[str, str] = {
    "both_down": "#2ca02c",
    "both_up": "#d62728",
    "mixed": "#7f7f7f",
}
_QUADRANT_NAMES = {
    "both_down": "less energy and time",
    "both_up": "more energy and time",
    "mixed": "mixed",
}
_GOLD = "#f2c200"
_CHROMIUM_HINT = (
    "PNG export needs Chromium: apt-get install chromium (or pip install kaleido and run "
    "`plotly_get_chrome`)"
)


def metric_label(df: pd.DataFrame) -> str:
    """The name of the metric in the table's ΔF1 columns (``F1``, ``exact match``)."""
    return task_metric(str(df.attrs.get("metric") or "f1")).label


def figure2(
    df: pd.DataFrame,
    *,
    stage: str = "eval",
    budget_f1_pct: float = -1.0,
    oracle: str | None = None,
    table_oracle: bool = True,
) -> Any:
    """ΔTime vs ΔEnergy of ``stage`` per variant, coloured by quadrant (the paper's Fig. 2).

    The gold star marks the oracle: the lowest total-energy variant that keeps the metric
    (:func:`metric_label`) within
    ``budget_f1_pct`` and is not degenerate, unless ``oracle`` names one (a study's oracle
    is chosen among full-fidelity finalists, so the report passes it); the red star is the
    baseline at the origin. ``table_oracle=False`` stars nothing when ``oracle`` is
    ``None``: a study without a full-fidelity oracle yet has none to show.
    """
    go = _plotly()
    label = metric_label(df)
    points = quadrant_table(df, stage=stage)
    if oracle is None and table_oracle:
        oracle = pareto_frontier(df, budget_f1_pct=budget_f1_pct).oracle
    basis = points["time_basis"].iloc[0]
    fig = go.Figure()
    placed = points.loc[points["quadrant"] != "unknown"]
    _shade_quadrants(fig, placed)
    _add_quadrant_points(fig, placed, label)
    _add_stars(fig, placed, oracle=oracle, budget_f1_pct=budget_f1_pct, label=label)
    where = "total" if stage == "total" else f"{stage}-stage"
    fig.update_layout(
        title=f"{where.capitalize()} energy vs time, relative to the baseline",
        xaxis_title=f"ΔTime ({basis}) %",
        yaxis_title=f"ΔEnergy ({stage}) %",
        template="plotly_white",
        width=1100,
        height=800,
    )
    fig.add_hline(y=0, line={"color": "black", "width": 1})
    fig.add_vline(x=0, line={"color": "black", "width": 1})
    return fig


def _add_quadrant_points(fig: Any, placed: pd.DataFrame, label: str) -> None:
    """One trace per quadrant, degenerate variants (one-class predictors) as crosses."""
    go = _plotly()
    for (quadrant, colour), degenerate in product(QUADRANT_COLORS.items(), (False, True)):
        part = placed.loc[(placed["quadrant"] == quadrant) & (placed["degenerate"] == degenerate)]
        if part.empty:
            continue
        name = _QUADRANT_NAMES[quadrant] + (", degenerate (one class)" if degenerate else "")
        fig.add_trace(
            go.Scatter(
                x=part["delta_time_pct"],
                y=part["delta_energy_pct"],
                mode="markers+text",
                name=name,
                text=part["variant"],
                textposition="top right",
                marker={"color": colour, "size": 10, "symbol": "x" if degenerate else "circle"},
                customdata=_hover_data(part),
                hovertemplate=_hover(label),
            )
        )


def _add_stars(
    fig: Any, placed: pd.DataFrame, *, oracle: str | None, budget_f1_pct: float, label: str
) -> None:
    """The baseline's red star at the origin and the oracle's gold one."""
    go = _plotly()
    base = placed.loc[placed["is_baseline"]]
    fig.add_trace(
        go.Scatter(
            x=[0.0] * len(base),
            y=[0.0] * len(base),
            mode="markers+text",
            name="baseline",
            text=base["variant"],
            textposition="bottom right",
            marker={"color": "red", "size": 18, "symbol": "star"},
            customdata=_hover_data(base),
            hovertemplate=_hover(label),
        )
    )
    if oracle is not None:
        best = placed.loc[placed["variant"] == oracle]
        fig.add_trace(
            go.Scatter(
                x=best["delta_time_pct"],
                y=best["delta_energy_pct"],
                mode="markers",
                name=f"oracle: lowest energy within {-abs(budget_f1_pct):g}% {label} ({oracle})",
                marker={
                    "color": _GOLD,
                    "size": 22,
                    "symbol": "star",
                    "line": {"color": "black", "width": 1},
                },
                customdata=_hover_data(best),
                hovertemplate=_hover(label),
            )
        )


def frontier_figure(
    df: pd.DataFrame,
    *,
    budget_f1_pct: float = -1.0,
    oracle: str | None = None,
    table_oracle: bool = True,
) -> Any:
    """Total energy vs ΔF1 (ΔMetric, :func:`metric_label`) with the Pareto frontier, the
    budget line and excluded points.

    ``oracle`` and ``table_oracle`` choose the starred variant, as in :func:`figure2`.
    """
    go = _plotly()
    label = metric_label(df)
    front: Frontier = pareto_frontier(df, budget_f1_pct=budget_f1_pct)
    pts = front.points
    best_name = oracle if oracle is not None or not table_oracle else front.oracle
    fig = go.Figure()
    groups = [
        ("feasible", pts["feasible"] & ~pts["degenerate"], "#1f77b4", "circle"),
        (
            f"over the {label} budget",
            ~pts["feasible"] & ~pts["degenerate"],
            "#7f7f7f",
            "circle-open",
        ),
        ("degenerate (one class)", pts["degenerate"], "black", "x"),
    ]
    for name, mask, colour, symbol in groups:
        part = pts.loc[mask]
        if part.empty:
            continue
        fig.add_trace(
            go.Scatter(
                x=part["energy_kwh"],
                y=part["delta_f1_pct"],
                mode="markers+text",
                name=name,
                text=part["variant"],
                textposition="top right",
                marker={"color": colour, "symbol": symbol, "size": 10},
                customdata=_hover_data(part),
                hovertemplate=_hover_frontier(label),
            )
        )
    line = pts.loc[pts["on_frontier"]].sort_values("energy_kwh")
    fig.add_trace(
        go.Scatter(
            x=line["energy_kwh"],
            y=line["delta_f1_pct"],
            mode="lines",
            line={"shape": "hv", "color": "#2ca02c"},
            name="Pareto frontier",
            hoverinfo="skip",
        )
    )
    if best_name is not None:
        best = pts.loc[pts["variant"] == best_name]
        fig.add_trace(
            go.Scatter(
                x=best["energy_kwh"],
                y=best["delta_f1_pct"],
                mode="markers",
                name=f"oracle ({best_name})",
                marker={
                    "color": _GOLD,
                    "size": 22,
                    "symbol": "star",
                    "line": {"color": "black", "width": 1},
                },
                customdata=_hover_data(best),
                hovertemplate=_hover_frontier(label),
            )
        )
    fig.add_hline(
        y=-abs(budget_f1_pct),
        line={"color": "#d62728", "dash": "dash"},
        annotation_text=f"{label} budget {-abs(budget_f1_pct):g}%",
    )
    fig.update_layout(
        title=f"Energy vs {label} change: Pareto frontier under the {label} budget",
        xaxis_title="Total energy (kWh)",
        yaxis_title=f"Δ{label} %",
        template="plotly_white",
        width=1100,
        height=800,
    )
    return fig


def stages_figure(df: pd.DataFrame, *, variants: Sequence[str] | None = None) -> Any:
    """Stacked per-stage energy bars, to show where each variant spends (or saves) energy.

    Raises:
        ConfigError: if a requested variant is not in the table.

    """
    go = _plotly()
    if variants:
        unknown = [v for v in variants if v not in set(df["variant"])]
        if unknown:
            raise ConfigError(
                f"unknown variant(s) {', '.join(unknown)}; pick from {', '.join(df['variant'])}"
            )
        df = df.set_index("variant").loc[list(variants)].reset_index()
    fig = go.Figure()
    for stage in STAGES:
        fig.add_trace(
            go.Bar(
                x=df["variant"],
                y=df[f"energy_{stage}_kwh"],
                name=stage,
                customdata=df[["knobs"]].to_numpy(),
                hovertemplate="%{x} (%{customdata[0]})<br>"
                + stage
                + ": %{y:.4g} kWh<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title="Energy per pipeline stage",
        xaxis_title="Variant",
        yaxis_title="Energy (kWh)",
        template="plotly_white",
        width=1100,
        height=700,
    )
    return fig


def write_html(fig: Any, path: str | Path) -> Path:
    """Write a self-contained HTML file (plotly.js inlined) that opens offline."""
    out = Path(path)
    try:
        fig.write_html(out, include_plotlyjs=True, full_html=True)
    except OSError as err:
        raise ConfigError(f"cannot write {str(out)!r}: {err.strerror}; check the path") from err
    return out


def write_png(fig: Any, path: str | Path) -> Path:
    """Render a PNG through kaleido, which drives a Chromium-based browser.

    Raises:
        ConfigError: if kaleido or a Chromium browser is missing, or rendering fails.

    """
    if find_chromium() is None:
        raise ConfigError(_CHROMIUM_HINT)
    out = Path(path)
    from choreographer.errors import BrowserFailedError, ChromeNotFoundError

    try:
        fig.write_image(out, format="png")
    except ChromeNotFoundError as err:
        raise ConfigError(_CHROMIUM_HINT) from err
    except BrowserFailedError as err:
        raise ConfigError(f"PNG export failed: Chromium did not start ({err})") from err
    except OSError as err:
        raise ConfigError(f"cannot write {str(out)!r}: {err.strerror}; check the path") from err
    return out


def find_chromium() -> str | None:
    """Path of the browser kaleido would use (its own download, ``BROWSER_PATH`` or PATH).

    Raises:
        ConfigError: if kaleido is not installed.

    """
    try:
        importlib.import_module("kaleido")
        from choreographer.browsers import Chromium
    except ImportError as err:
        raise ConfigError("PNG export needs kaleido: pip install 'greensearch[png]'") from err
    return Chromium.find_browser(skip_local=False)


def _hover(label: str) -> str:
    return (
        "<b>%{customdata[0]}</b><br>knobs: %{customdata[1]}<br>ΔTime %{x:.2f}%"
        f"<br>ΔEnergy %{{y:.2f}}%<br>Δ{label} %{{customdata[2]:.3g}}%%{{customdata[3]}}"
        "<extra></extra>"
    )


def _hover_frontier(label: str) -> str:
    return (
        "<b>%{customdata[0]}</b><br>knobs: %{customdata[1]}<br>energy %{x:.4g} kWh"
        f"<br>Δ{label} %{{y:.3g}}%%{{customdata[3]}}<extra></extra>"
    )


def _hover_data(part: pd.DataFrame) -> list[list[Any]]:
    return [
        [
            v,
            k or "(baseline)",
            f,
            ("<br>degenerate: predicts one class" if d else "") + _provenance(fid, n),
        ]
        for v, k, f, d, fid, n in zip(
            part["variant"],
            part["knobs"],
            part["delta_f1_pct"],
            part["degenerate"],
            part["fidelity"],
            part["repeats"],
            strict=True,
        )
    ]


def _provenance(fidelity: float, repeats: int) -> str:
    """Hover line saying how much measurement stands behind a point."""
    runs = f"{repeats} run{'s' if repeats != 1 else ''}"
    if pd.isna(fidelity):
        return f"<br>{runs}"
    if fidelity >= 1.0:
        return f"<br>full run, {runs}"
    return f"<br>search fidelity {fidelity:g} (extrapolated), {runs}"


def _shade_quadrants(fig: Any, points: pd.DataFrame) -> None:
    """Tint the better (bottom-left) and worse (top-right) quadrants behind the points."""
    xs, ys = points["delta_time_pct"], points["delta_energy_pct"]
    pad = 10.0
    x0, x1 = min(float(xs.min()), 0.0) - pad, max(float(xs.max()), 0.0) + pad
    y0, y1 = min(float(ys.min()), 0.0) - pad, max(float(ys.max()), 0.0) + pad
    tints = [
        (x0, 0, y0, 0, QUADRANT_COLORS["both_down"]),
        (0, x1, 0, y1, QUADRANT_COLORS["both_up"]),
        (x0, 0, 0, y1, QUADRANT_COLORS["mixed"]),
        (0, x1, y0, 0, QUADRANT_COLORS["mixed"]),
    ]
    for ax0, ax1, ay0, ay1, colour in tints:
        fig.add_shape(
            type="rect",
            x0=ax0,
            x1=ax1,
            y0=ay0,
            y1=ay1,
            fillcolor=colour,
            opacity=0.08,
            line={"width": 0},
            layer="below",
        )
    fig.update_xaxes(range=[x0, x1])
    fig.update_yaxes(range=[y0, y1])


def _plotly() -> Any:
    try:
        return importlib.import_module("plotly.graph_objects")
    except ImportError as err:
        raise ConfigError("plotting needs plotly: pip install plotly") from err
