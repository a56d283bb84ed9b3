"""``greensearch check``: explain the orthogonality verdict for one knob combination.

Exit code 0 whenever the check ran, whatever the verdict: the verdict is data (``status``
and ``flagged`` in ``--json``), not a failure. Bad input exits 2 with one line.
"""

from __future__ import annotations

import argparse
from typing import Any

from greensearch.cli._render import print_json
from greensearch.exceptions import ConfigError
from greensearch.knobs import default_registry, parse_bundle

__all__ = ["add_parser", "handle"]


def add_parser(subparsers: Any) -> None:
    """Register ``check``."""
    p = subparsers.add_parser(
        "check",
        help="explain whether a knob combination is worth measuring (orthogonality verdict)",
        description=(
            "Static: the resources each knob targets and costs, hard conflicts, and overlaps; "
            "an overlap is an antagonism risk when a trade-off knob (one that spends a "
            "resource, e.g. grad_checkpointing spends compute) shares a target with another "
            "knob; pure savers on the same resource compound. Learned (with --csv): energy "
            "ratio predicted as the product of the knobs' isolated ratios times learned pair "
            "interactions, ΔF1 as their sum; prune when the prediction exceeds the best "
            "subset's energy by more than the margin (2 sigma of a difference of two runs: "
            "2*sqrt(2) x the noise). Exit 0 whatever the verdict; it is "
            "printed (status: pass|risk|prune|conflict)."
        ),
        epilog="examples (the second learns from the study `greensearch optimize` made):\n"
        "  greensearch check --knobs grad_accumulation=2,precision=fp16,grad_checkpointing\n"
        "  greensearch check --knobs precision=bf16,torch_compile --storage "
        "sqlite:///studies/default-f1-1.db --study-name default-f1-1",
    )
    p.add_argument(
        "--knobs",
        required=True,
        metavar="BUNDLE",
        help="the combination, e.g. layer_prune=12:bottom,torch_compile",
    )
    p.add_argument(
        "--csv",
        metavar="PATH",
        help="measurements in the paper's Table I format (code_bundle column); "
        "every row except the judged bundle's own is learned from (default: none; "
        "judged statically)",
    )
    from greensearch.cli._plot import add_study_arguments

    add_study_arguments(p, required=False)
    p.add_argument(
        "--noise-pct",
        type=float,
        metavar="PCT",
        help="relative energy noise of one run in percent (default: estimated "
        "from rows that should agree, e.g. top/bottom pruning pairs)",
    )
    p.add_argument(
        "--noise-f1-pct",
        type=float,
        metavar="PCT",
        help="ΔF1 noise in percent (default: estimated likewise)",
    )
    p.add_argument(
        "--assume-neutral",
        action="store_true",
        help="treat knobs never measured alone as neutral (ratio 1): the kindest "
        "assumption; without it they get no prediction and no prune",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the check and render it."""
    from greensearch.interactions import read_paper_table
    from greensearch.preflight import preflight_read
    from greensearch.search import check_bundle, rows_from_table

    preflight_read(
        storage=args.storage,
        study_name=args.study_name,
        csv=args.csv,
        knobs=args.knobs,
        registry=default_registry(),
    )  # every bad knob, before any storage is opened
    bundle = parse_bundle(args.knobs)
    rows, noise = None, None
    if args.storage or args.study_name:
        if args.csv:
            raise ConfigError("give either --csv or --storage/--study-name, not both")
        from greensearch.cli._plot import load_table

        rows, noise = rows_from_table(load_table(args))
    elif args.csv:
        rows = read_paper_table(args.csv)
    report = check_bundle(
        default_registry(),
        bundle,
        rows=rows,
        noise_rel=None if args.noise_pct is None else args.noise_pct / 100.0,
        noise_f1_pct=args.noise_f1_pct,
        assume_neutral=args.assume_neutral,
        noise=noise,
    )
    if args.json:
        print_json(report.to_dict())
        return 0
    _render_text(report.to_dict())
    return 0


def _render_text(d: dict[str, Any]) -> None:
    print(f"bundle: {d['bundle'] or '(baseline)'}")
    print(f"verdict: {d['status'].upper()}" + (" (flagged)" if d["flagged"] else ""))
    print("knobs:")
    for fp in d["footprints"]:
        costs = f"; spends {', '.join(fp['costs'])} (trade-off)" if fp["costs"] else ""
        print(f"  {fp['item']:<32} {fp['phase']:<9} targets {', '.join(fp['targets'])}{costs}")
    if d["overlaps"]:
        print("overlaps:")
        for o in d["overlaps"]:
            print(f"  {'RISK' if o['risk'] else 'ok  '} {o['reason']}")
    if d["predicted_energy_ratio"] is not None:
        print(
            f"predicted: energy ratio {d['predicted_energy_ratio']:.3f}, "
            f"ΔF1 {d['predicted_delta_f1_pct']:+.3g}%"
        )
    for m in d["measured"]:
        print(
            f"measured ({m['variant']}, not learned from): energy ratio "
            f"{m['energy_ratio']:.3f}, ΔF1 {m['delta_f1_pct']:+.3g}%"
        )
    if d["noise"]:
        print(f"noise: {d['noise']['detail']}")
    if d["interaction"]:
        i = d["interaction"]
        print(
            f"interaction: {i['verdict']} (measured {i['measured_energy_ratio']:.3f} vs "
            f"{i['expected_energy_ratio']:.3f} from its knobs alone: excess saving "
            f"{i['excess_saving_pp']:+.1f} pp, band {i['band_pp']:.2f} pp)"
        )
    print("reasons:")
    for reason in d["reasons"]:
        print(f"  - {reason}")
    for note in d["skipped_rows"]:
        print(f"  (skipped) {note}")
