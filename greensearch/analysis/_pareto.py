"""Where each variant lands: time/energy quadrants, the energy–F1 frontier and the oracle.

Pure data steps over the normalized table (see :mod:`._records`), kept apart from plotting
so they are tested on numbers, not pictures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from greensearch.analysis._records import STAGES
from greensearch.exceptions import ConfigError
from greensearch.pareto import cheapest_feasible, non_dominated

__all__ = [
    "PLOT_STAGES",
    "QUADRANTS",
    "Frontier",
    "axis_columns",
    "pareto_frontier",
    "quadrant_of",
    "quadrant_table",
]

#: Quadrant labels: both deltas below zero, both above, anything else, and the reference.
QUADRANTS: tuple[str, ...] = ("both_down", "both_up", "mixed", "baseline", "unknown")

#: Float slack when comparing a ΔF1 with the budget (0.99/1.00 - 1 is not exactly -1 %).
_TOLERANCE_PCT = 1e-9

#: Stages a plot can show: the whole pipeline or one stage.
PLOT_STAGES: tuple[str, ...] = ("total", *STAGES)


@dataclass(frozen=True, slots=True)
class Frontier:
    """The energy–F1 trade-off under a budget.

    Attributes:
        points: one row per variant with ``energy_kwh``, ``delta_f1_pct``, ``feasible``
            (ΔF1 within budget), ``degenerate``, ``fidelity``, ``repeats`` and
            ``on_frontier``.
        oracle: the lowest-energy feasible, non-degenerate variant (None if none is).
        budget_f1_pct: the F1 budget in the user's sign (``-1.0``: lose at most 1 %).

    """

    points: pd.DataFrame
    oracle: str | None
    budget_f1_pct: float


def quadrant_of(delta_time_pct: float, delta_energy_pct: float, *, is_baseline: bool) -> str:
    """Classify one point; a delta of exactly zero is not a gain, so it counts as mixed.

    ``unknown`` marks a point with a missing delta (it cannot be placed, and is not drawn).
    """
    if is_baseline:
        return "baseline"
    if math.isnan(delta_time_pct) or math.isnan(delta_energy_pct):
        return "unknown"
    if delta_time_pct < 0 and delta_energy_pct < 0:
        return "both_down"
    if delta_time_pct > 0 and delta_energy_pct > 0:
        return "both_up"
    return "mixed"


def axis_columns(df: pd.DataFrame, stage: str) -> tuple[str, str, str]:
    """Pick the (ΔTime, ΔEnergy) columns for ``stage`` and say which time they use.

    The stage's own time is used when the table has it (always for ``eval`` in the paper,
    as its Figure 2 does); a stage without any timing (the paper times only eval and the
    whole run) falls back to total time, and the returned basis says so for the axis title.

    Returns:
        ``(time_column, energy_column, time_basis)`` where ``time_basis`` is a stage name or
        ``"total"``.

    Raises:
        ConfigError: on an unknown stage.

    """
    if stage not in PLOT_STAGES:
        raise ConfigError(f"unknown stage {stage!r}; use one of {', '.join(PLOT_STAGES)}")
    if stage == "total":
        return "delta_time_pct", "delta_energy_pct", "total"
    time_column = f"delta_time_{stage}_pct"
    if df[time_column].notna().any():
        return time_column, f"delta_energy_{stage}_pct", stage
    return "delta_time_pct", f"delta_energy_{stage}_pct", "total"


def quadrant_table(df: pd.DataFrame, *, stage: str = "eval") -> pd.DataFrame:
    """Place every variant in the ΔTime/ΔEnergy plane of ``stage`` (the data of Figure 2).

    Args:
        df: the normalized table.
        stage: ``total`` or one of :data:`STAGES`.

    Returns:
        Columns ``variant``, ``knobs``, ``delta_time_pct`` (x), ``delta_energy_pct`` (y),
        ``delta_f1_pct``, ``energy_kwh`` (total), ``degenerate``, ``is_baseline``,
        ``fidelity`` (NaN when the source does not say), ``repeats``, ``quadrant``,
        ``stage``, ``time_basis``; one row per variant, in input order.

    """
    time_column, energy_column, basis = axis_columns(df, stage)
    out = pd.DataFrame(
        {
            "variant": df["variant"],
            "knobs": df["knobs"],
            "delta_time_pct": df[time_column].astype(float),
            "delta_energy_pct": df[energy_column].astype(float),
            "delta_f1_pct": df["delta_f1_pct"].astype(float),
            "energy_kwh": df["energy_kwh"].astype(float),
            "degenerate": df["degenerate"].astype(bool),
            "is_baseline": df["is_baseline"].astype(bool),
            "fidelity": df["fidelity"].astype(float),
            "repeats": df["repeats"].astype(int),
        }
    )
    out["quadrant"] = [
        quadrant_of(x, y, is_baseline=b)
        for x, y, b in zip(
            out["delta_time_pct"], out["delta_energy_pct"], out["is_baseline"], strict=True
        )
    ]
    out["stage"] = stage
    out["time_basis"] = basis
    return out.reset_index(drop=True)


def pareto_frontier(df: pd.DataFrame, *, budget_f1_pct: float) -> Frontier:
    """Find the non-dominated variants in (total energy, F1 loss) and the oracle.

    Degenerate variants (one-class predictors) are never on the frontier nor the oracle: their
    F1 says nothing about the model. A variant is feasible when it loses at most
    ``|budget_f1_pct|`` percent F1; one with unknown ΔF1 is not feasible.

    Args:
        df: the normalized table.
        budget_f1_pct: the F1 budget in the user's sign (``-1.0`` = lose at most 1 %);
            a positive number is read as the same loss.

    Returns:
        A :class:`Frontier`; ``points`` keeps the input order.

    """
    if not math.isfinite(budget_f1_pct):
        raise ConfigError(f"F1 budget must be a finite percentage, got {budget_f1_pct!r}")
    budget = 0.0 - abs(float(budget_f1_pct))
    points = pd.DataFrame(
        {
            "variant": df["variant"],
            "knobs": df["knobs"],
            "energy_kwh": df["energy_kwh"].astype(float),
            "delta_f1_pct": df["delta_f1_pct"].astype(float),
            "degenerate": df["degenerate"].astype(bool),
            "is_baseline": df["is_baseline"].astype(bool),
            "fidelity": df["fidelity"].astype(float),
            "repeats": df["repeats"].astype(int),
        }
    ).reset_index(drop=True)
    # a loss equal to the budget is within it; the tolerance absorbs float rounding in Δ%
    points["feasible"] = points["delta_f1_pct"] >= budget - _TOLERANCE_PCT
    usable = ~points["degenerate"] & points["energy_kwh"].notna() & points["delta_f1_pct"].notna()
    candidates = points.loc[usable].sort_values(
        ["energy_kwh", "delta_f1_pct"], ascending=[True, False], kind="stable"
    )
    costs = list(zip(candidates["energy_kwh"], -candidates["delta_f1_pct"], strict=True))
    frontier = {candidates.index[i] for i in non_dominated(costs)}
    points["on_frontier"] = [index in frontier for index in points.index]
    # in candidates' order, so of equal energies the one that loses less F1 is the oracle
    found = cheapest_feasible(list(candidates["energy_kwh"]), list(candidates["feasible"]))
    oracle = None if found is None else str(candidates.iloc[found]["variant"])
    return Frontier(points=points, oracle=oracle, budget_f1_pct=budget)
