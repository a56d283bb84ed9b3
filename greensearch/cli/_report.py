"""``greensearch report``: one self-contained HTML page answering a stored study."""

from __future__ import annotations

import argparse
from typing import Any

from greensearch.cli._plot import add_study_arguments
from greensearch.cli._render import print_json
from greensearch.exceptions import ConfigError

__all__ = ["add_parser"]

_STAGE_CHOICES = ("total", "data", "tokenize", "load", "train", "save", "eval")


def add_parser(subparsers: Any) -> None:
    """Register ``report``."""
    parser = subparsers.add_parser(
        "report",
        help="write one HTML page for a study: oracle, Pareto table, figures, synergy, cost",
        description=(
            "Read a study stored by `greensearch optimize` and write one self-contained HTML "
            "file (plotly.js inlined once, opens offline): the oracle with its 95% CI, the "
            "finalists, the Pareto table, Figure 2, the energy-F1 frontier, per-stage energy, "
            "the synergy table, pruned combinations with their reasons, the search's own "
            "energy and payback, whether energy was measured or estimated, and how many "
            "runs stand behind each number."
        ),
        epilog="example (on the study `greensearch optimize` made):\n"
        "  greensearch report --storage sqlite:///studies/default-f1-1.db "
        "--study-name default-f1-1 -o report.html",
    )
    add_study_arguments(parser, required=True)
    parser.add_argument(
        "-o", "--output", metavar="FILE.html", required=True, help="the HTML file to write"
    )
    parser.add_argument(
        "--stage",
        choices=_STAGE_CHOICES,
        default="total",
        help="stage of Figure 2 (default: total)",
    )
    parser.add_argument(
        "--budget-f1",
        metavar="PCT",
        help="accepted F1 loss, e.g. -1%% (default: the study's budget)",
    )
    parser.add_argument(
        "--noise-pct",
        type=float,
        metavar="PCT",
        help="relative energy noise of one run in percent, behind the synergy verdicts' "
        "bands (default: from the repeats)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print a summary as one JSON document on stdout"
    )
    parser.set_defaults(handler=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Gather the report, write it, say where."""
    from greensearch._budget import parse_f1_budget
    from greensearch.analysis import study_report, write_report
    from greensearch.preflight import preflight_read

    if not str(args.output).lower().endswith((".html", ".htm")):
        raise ConfigError(f"-o {args.output!r} should end in .html (the report is one HTML page)")
    preflight_read(
        storage=args.storage,
        study_name=args.study_name,
        budget_f1=args.budget_f1,
        outputs={"-o": args.output},
    )
    budget = parse_f1_budget(args.budget_f1) if args.budget_f1 else None
    report = study_report(
        args.storage,
        args.study_name,
        stage=args.stage,
        budget_f1_pct=budget,
        noise_pct=args.noise_pct,
    )
    path = write_report(report, args.output)
    if args.json:
        print_json(report.to_dict() | {"written": str(path)})
    else:
        print(f"wrote {path}")
        print(report.measurement_statement)
    return 0
