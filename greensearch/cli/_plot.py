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

__all__ = [
    "add_parser",
    "add_source_arguments",
    "add_study_arguments",
    "load_table",
    "table_budget",
]

_KINDS = ("figure2", "frontier", "stages")
_STAGE_CHOICES = ("total", "data", "tokenize", "load", "train", "save", "eval")


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options that say where results come from (one place for every command).

    Either a paper-format CSV, or a study stored by ``greensearch optimize``
    (``--storage URL --study-name NAME``).
    """
    group = parser.add_argument_group("results (one of --csv or --storage/--study-name)")
    group.add_argument(
        "--csv",
        metavar="FILE",
        help="results table in the paper's Table I format (variant, code_bundle, <stage>_kwh, "
        "total_kwh, delta_total_pct, delta_f1_pct, total_time_s, eval_time_s, "
        "delta_eval_time_pct; default: none)",
    )
    add_study_arguments(group, required=False)


def add_study_arguments(parser: Any, *, required: bool) -> None:
    """``--storage URL --study-name NAME``: a study stored by ``greensearch optimize``."""
    parser.add_argument(
        "--storage",
        metavar="URL",
        required=required,
        help="Optuna storage of a study from `greensearch optimize`: sqlite:///F.db, "
        "postgresql://..., journal:FILE" + ("" if required else " (default: none)"),
    )
    parser.add_argument(
        "--study-name",
        metavar="NAME",
        required=required,
        help="the study's name in --storage (each knob set is read from its full-fidelity "
        "final trial when it has one, else from its search trial; rows say which)"
        + ("" if required else " (default: none)"),
    )


def load_table(args: argparse.Namespace) -> pd.DataFrame:
    """Build the normalized variant table from whichever source the options name.

    Raises:
        ConfigError: if no source or two are given, or it cannot be read.

    """
    from greensearch.analysis import load_paper_csv, load_study_table

    csv, storage, name = (getattr(args, k, None) for k in ("csv", "storage", "study_name"))
    if csv and (storage or name):
        raise ConfigError("give either --csv or --storage/--study-name, not both")
    if csv:
        return load_paper_csv(csv)
    if storage and name:
        return load_study_table(storage, name)
    if storage or name:
        missing = "--study-name NAME" if storage else "--storage URL"
        raise ConfigError(f"a study needs both --storage and --study-name; add {missing}")
    raise ConfigError("no results given; pass --csv FILE or --storage URL --study-name NAME")


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
        epilog="examples (on the study `greensearch optimize` made):\n"
        "  greensearch plot --storage sqlite:///studies/default-f1-1.db "
        "--study-name default-f1-1 --stage total -o fig2.html\n"
        "  greensearch plot --storage sqlite:///studies/default-f1-1.db "
        "--study-name default-f1-1 --kind frontier -o frontier.html --json",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--kind", choices=_KINDS, default="figure2", help="which figure (default: figure2)"
    )
    parser.add_argument(
        "--stage",
        choices=_STAGE_CHOICES,
        default="eval",
        help="stage of figure2 (default: eval, as in the paper; stages without their own "
        "timing use total time, and the x-axis says so)",
    )
    parser.add_argument(
        "--budget-f1",
        metavar="PCT",
        help="accepted F1 loss, e.g. -1%%, -0.5%% or 1%% (all mean 'lose at most'); "
        "default: the study's budget, or 1%% for a CSV",
    )
    parser.add_argument(
        "--variants", metavar="V0,V1,...", help="variants to show with --kind stages (default: all)"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE.html",
        help="write a self-contained HTML file (plotly.js inlined; default: none)",
    )
    parser.add_argument(
        "--png", metavar="FILE.png", help="write a PNG (needs kaleido and Chromium; default: none)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print the plotted points as one JSON document on stdout",
    )
    parser.set_defaults(handler=run_plot)


def run_plot(args: argparse.Namespace) -> int:
    """Load, compute the plotted points, then write the requested outputs."""
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
    from greensearch.preflight import preflight_read

    preflight_read(
        storage=args.storage,
        study_name=args.study_name,
        csv=args.csv,
        budget_f1=args.budget_f1,
        outputs={"-o": args.output, "--png": args.png},
    )
    variants = [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else None
    df = load_table(args)
    budget = table_budget(df, args.budget_f1)
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
        doc = {
            "kind": "frontier",
            "budget_f1_pct": budget,
            "oracle": front.oracle,
            "points": _records(front.points),
        }
    else:
        fig = stages_figure(df, variants=variants)
        shown = df if not variants else df.set_index("variant").loc[variants].reset_index()
        columns = [
            "variant",
            "knobs",
            *[c for c in df.columns if c.startswith("energy_") and c.endswith("_kwh")],
        ]
        doc = {"kind": "stages", "points": _records(shown[columns])}
    written = []
    if args.png:  # first: without Chromium it fails, and nothing is left half-written
        written.append(str(write_png(fig, args.png)))
    if args.output:
        written.insert(0, str(write_html(fig, args.output)))
    if args.json:
        doc["written"] = written
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        for path in written:
            print(f"wrote {path}")
    return 0


def table_budget(df: pd.DataFrame, given: str | None) -> float:
    """The F1 budget in percent, the user's sign: as given, else the study's own, else -1 %."""
    from greensearch._budget import parse_f1_budget

    if given:
        return parse_f1_budget(given)
    stored = df.attrs.get("budget_f1_pct")
    return 0.0 - abs(float(stored)) if stored is not None else -1.0


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
