"""``greensearch synergy``: check whether knob bundles save what their parts promise."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import TYPE_CHECKING, Any

from greensearch.cli._plot import _records, add_source_arguments, load_table

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["add_parser"]


def add_parser(subparsers: Any) -> None:
    """Register ``synergy``."""
    parser = subparsers.add_parser(
        "synergy",
        help="compare each knob bundle with what its knobs measured alone predict",
        description=(
            "For every bundle of two or more knobs, compare its measured ΔEnergy with two "
            "null models built from its knobs measured alone: additive (sum of Δ) and "
            "multiplicative (expected saving 1 - Π(1 - s), s = fractional saving). excess = "
            "measured saving - expected saving (percentage points); ratio = measured saving / "
            "expected saving (multiplicative; shown only when the expected saving exceeds the "
            "noise band). Verdict (multiplicative): synergistic if excess > band, "
            "antagonistic if excess < -band, else independent; band = 2 sigma sqrt(1 + k) "
            "pp for a bundle of k measured knobs (single runs; fewer pp with repeats), sigma "
            "the noise of one run: --noise-pct, else pooled from repeats, else the pooled std "
            "of replicate pairs (top/bottom layer pruning), as greensearch check estimates it. "
            "Bundles with a knob never measured alone are not judged unless --assume-neutral."
        ),
        epilog="example (on the study `greensearch optimize` made):\n"
        "  greensearch synergy --storage sqlite:///studies/default-f1-1.db "
        "--study-name default-f1-1",
    )
    add_source_arguments(parser)
    parser.add_argument(
        "--noise-pct",
        type=float,
        metavar="PCT",
        help="relative energy noise of one run in percent, sigma (default: estimated); "
        "each bundle's band is built from it",
    )
    parser.add_argument(
        "--assume-neutral",
        action="store_true",
        help="judge bundles with knobs never measured alone by taking those knobs as 0%% "
        "(the kindest assumption); such verdicts are marked",
    )
    parser.add_argument(
        "--stage",
        default="total",
        choices=("total", "data", "tokenize", "load", "train", "save", "eval"),
        help="whose energy to compare (default: total)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the table as one JSON document on stdout"
    )
    parser.set_defaults(handler=run_synergy)


def run_synergy(args: argparse.Namespace) -> int:
    """Load, compute the synergy table, render it."""
    from greensearch.analysis import synergy_table
    from greensearch.preflight import preflight_read

    preflight_read(storage=args.storage, study_name=args.study_name, csv=args.csv)
    df = load_table(args)
    table = synergy_table(
        df,
        noise_pct=args.noise_pct,
        assume_neutral_unmeasured=args.assume_neutral,
        stage=args.stage,
    )
    noise = table.attrs["noise"]
    if args.json:
        doc = {
            "stage": args.stage,
            "noise": noise,
            "assume_neutral_unmeasured": bool(args.assume_neutral),
            "bundles": _records(table),
        }
        json.dump(doc, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render(table, noise))
    return 0


def render(table: pd.DataFrame, noise: dict[str, Any]) -> str:
    """Render a fixed-width table plus notes; a verdict resting on an assumption has ``*``."""
    head = (
        "variant",
        "measured ΔE%",
        "additive ΔE%",
        "multipl. ΔE%",
        "ratio",
        "excess pp",
        "band pp",
        "verdict",
    )
    from greensearch.analysis import BAND_RULE

    lines = [
        f"noise: {noise['detail']}; {BAND_RULE}",
        "",
        "{:<8} {:>12} {:>12} {:>12} {:>6} {:>9} {:>7}  {}".format(*head),
    ]
    notes = []
    for _, r in table.iterrows():
        mark = "*" if r["assumed_neutral"] else ""
        lines.append(
            "{:<8} {:>12} {:>12} {:>12} {:>6} {:>9} {:>7}  {}".format(
                r["variant"],
                _num(r["measured_delta_energy_pct"]),
                _num(r["expected_additive_pct"]),
                _num(r["expected_multiplicative_pct"]),
                _num(r["synergy_ratio"], ".3f"),
                _num(r["excess_saving_pp"], "+.1f"),
                _num(r["noise_pct"], ".2f"),
                r["verdict"] + mark,
            )
        )
        notes.append(f"  {r['variant']}: {r['knobs']}" + (f" — {r['note']}" if r["note"] else ""))
    lines += ["", "bundles (* = verdict assumes unmeasured knobs neutral):", *notes, ""]
    return "\n".join(lines)


def _num(value: float, spec: str = ".1f") -> str:
    return "-" if value is None or math.isnan(value) else format(value, spec)
