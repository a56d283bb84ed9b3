"""``greensearch plot``: Figure 2, the energy–F1 frontier or per-stage bars, as HTML/PNG/JSON.

Also home of the shared data-source options (:func:`add_source_arguments`,
:func:`load_table`) that ``synergy`` reuses. Analysis modules (pandas, plotly) are imported
inside the handler so ``greensearch --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from greensearch.exceptions import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_parser", "add_source_arguments", "load_table"]

_KINDS = ("figure2", "frontier", "stages")
_STAGE_CHOICES = ("total", "data", "tokenize", "load", "train", "save", "eval")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that say where results come from (one place for every command).

    Hook for the study reader: add ``--storage URL --study-name NAME`` here and a branch in
    :func:`load_table`; ``plot`` and ``synergy`` then accept them with no other change.
    """
    parser.add_argument(
        "--csv", metavar="FILE", required=True,
        help="results table in the paper's Table I format (variant, code_bundle, <stage>_kwh, "
        "total_kwh, delta_total_pct, delta_f1_pct, total_time_s, eval_time_s, "
        "delta_eval_time_pct)",
    )


def load_table(args: argparse.Namespace) -> pd.DataFrame:
    """Build the normalized variant table from whichever source the options name.

    Raises:
        ConfigError: if no source is given or it cannot be read.

    """
    from greensearch.analysis import load_paper_csv

    if getattr(args, "csv", None):
        return load_paper_csv(args.csv)
    # Study input (--storage/--study-name) goes here: map trials to run records and call
    # greensearch.analysis.from_records(records).
    raise ConfigError("no results given; pass --csv FILE")


def add_parser(subparsers: Any) -> None:
    """Register ``plot``."""
    parser = subparsers.add_parser(
        "plot",
        help="plot variants: time/energy quadrants (Figure 2), energy-F1 frontier, stage bars",
        description=(
            "Plot results relative to the baseline (the row with no knobs). figure2: ΔTime vs "
            "ΔEnergy of one stage, points green when both drop, red when both rise, grey "
            "otherwise; the gold star is the lowest-energy variant within the F1 budget that "
            "is not degenerate. frontier: total energy vs ΔF1 with the Pareto frontier and the "
            "budget line. stages: stacked per-stage energy."
        ),
        epilog="example: greensearch plot --csv table1.csv --stage eval -o fig2.html --json",
    )
    add_source_arguments(parser)
    parser.add_argument("--kind", choices=_KINDS, default="figure2",
                        help="which figure (default: figure2)")
    parser.add_argument(
        "--stage", choices=_STAGE_CHOICES, default="eval",
        help="stage of figure2 (default: eval, as in the paper; stages without their own "
        "timing use total time, and the x-axis says so)",
    )
    parser.add_argument(
        "--budget-f1", default="1%", metavar="PCT",
        help="accepted F1 loss, e.g. -1%%, -0.5%% or 1%% (all mean 'lose at most'); "
        "default 1%%",
    )
    parser.add_argument("--variants", metavar="V0,V1,...",
                        help="variants to show with --kind stages (default: all)")
    parser.add_argument("-o", "--output", metavar="FILE.html",
                        help="write a self-contained HTML file (plotly.js inlined)")
    parser.add_argument("--png", metavar="FILE.png",
                        help="write a PNG (needs kaleido and Chromium)")
    parser.add_argument("--json", action="store_true",
                        help="print the plotted points as one JSON document on stdout")
    parser.set_defaults(handler=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    """Load, compute the plotted points, then write the requested outputs."""
    from greensearch._budget import parse_f1_budget
    from greensearch.analysis import (
        figure2,
        frontier_figure,
        pareto_frontier,
        quadrant_table,
        stages_figure,
        write_html,
        write_png,
    )

    if not (args.output or args.png or args.json):
        raise ConfigError("nothing to do; give -o FILE.html, --png FILE.png or --json")
    budget = parse_f1_budget(args.budget_f1)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else None
    df = load_table(args)
    if args.kind == "figure2":
        fig = figure2(df, stage=args.stage, budget_f1_pct=budget)
        points = quadrant_table(df, stage=args.stage)
        doc: dict[str, Any] = {
            "kind": "figure2",
            "stage": args.stage,
            "time_basis": str(points["time_basis"].iloc[0]),
            "budget_f1_pct": budget,
            "oracle": pareto_frontier(df, budget_f1_pct=budget).oracle,
            "points": _records(points.drop(columns=["stage", "time_basis"])),
        }
    elif args.kind == "frontier":
        fig = frontier_figure(df, budget_f1_pct=budget)
        front = pareto_frontier(df, budget_f1_pct=budget)
        doc = {"kind": "frontier", "budget_f1_pct": budget, "oracle": front.oracle,
               "points": _records(front.points)}
    else:
        fig = stages_figure(df, variants=variants)
        shown = df if not variants else df.set_index("variant").loc[variants].reset_index()
        columns = ["variant", "knobs", *[c for c in df.columns if c.startswith("energy_")
                                         and c.endswith("_kwh")]]
        doc = {"kind": "stages", "points": _records(shown[columns])}
    written = []
    if args.output:
        written.append(str(write_html(fig, args.output)))
    if args.png:
        written.append(str(write_png(fig, args.png)))
    if args.json:
        doc["written"] = written
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        for path in written:
            print(f"wrote {path}")
    return 0


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN becomes null, numpy scalars become Python ones)."""
    out = []
    for row in frame.to_dict(orient="records"):
        out.append({str(k): _plain(v) for k, v in row.items()})
    return out


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
