"""``greensearch run``: one variant of a study, every stage metered, optionally repeated."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from greensearch._text import fmt_energy
from greensearch.cli._render import machine_line, print_json, print_table

__all__ = ["add_parser"]

DEFAULT_RESULTS = "greensearch-results.jsonl"


def add_parser(sub: Any) -> None:
    """Register the ``run`` subcommand."""
    p = sub.add_parser(
        "run",
        help="run one variant of a study with per-stage energy",
        description=(
            "Fine-tune once (or --repeats times) with the given knobs and report energy, "
            "time and F1 per stage. Every completed run is appended to --results."
        ),
    )
    p.add_argument("--study", metavar="FILE", help="study TOML (default: the embedded study)")
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--knobs",
        default="",
        metavar="BUNDLE",
        help="knobs to apply, e.g. layer_prune=2:bottom,seq_len=128,fast_tokenizer "
        "(default: none, the baseline)",
    )
    group.add_argument(
        "--variant", metavar="V", help="a paper variant by name (V0..V30; default: none)"
    )
    p.add_argument(
        "--repeats",
        type=int,
        default=1,
        metavar="N",
        help=(
            "run N times, repeat r training with seed study seed + r (model init, data order, "
            "dropout); report mean, std and 95%% CI, F1's interval over seeds and test "
            "examples (default 1)"
        ),
    )
    p.add_argument(
        "--same-seed",
        action="store_true",
        help=(
            "repeat the study's seed every time: identical training, so the repeats sample "
            "only the meter's noise (meter studies)"
        ),
    )
    p.add_argument(
        "--meter",
        default="auto",
        choices=("auto", "nvml", "rapl", "codecarbon"),
        help="energy meter (default auto: NVML > RAPL > CodeCarbon estimate)",
    )
    p.add_argument(
        "--idle-seconds",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds of idle power sampled before the run (0: skip; default 2)",
    )
    p.add_argument(
        "--results",
        default=DEFAULT_RESULTS,
        metavar="PATH",
        help=f"JSON Lines file each completed run is appended to (default {DEFAULT_RESULTS})",
    )
    p.add_argument(
        "--output-dir",
        default="runs",
        metavar="DIR",
        help="where fine-tuned models are saved (default runs/)",
    )
    p.add_argument(
        "--fidelity",
        type=float,
        default=1.0,
        metavar="F",
        help="train on this fraction of the planned steps (default 1.0)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    """Run the variant and render it."""
    from greensearch._threads import use_thread_share
    from greensearch.energy import make_meter, measure_idle_power
    from greensearch.knobs import default_registry
    from greensearch.machine import describe_machine
    from greensearch.pipeline import run_variant
    from greensearch.preflight import preflight_run

    checked = preflight_run(  # every problem at once, before a file exists or a joule is spent
        args.study,
        knobs=args.knobs,
        variant=args.variant,
        repeats=args.repeats,
        fidelity=args.fidelity,
        idle_seconds=args.idle_seconds,
        results_path=args.results,
        output_dir=args.output_dir,
    )
    study, bundle, notes = checked.study, checked.bundle, list(checked.notes)
    use_thread_share(1)
    notes += default_registry().emulation_notes(bundle, describe_machine())
    quiet = args.quiet or args.json
    meter = make_meter(args.meter)
    try:
        if args.idle_seconds > 0:
            _status(f"sampling idle power for {args.idle_seconds:g} s ...", quiet)
            measure_idle_power(meter, seconds=args.idle_seconds)

        def progress(i: int, record: dict[str, Any]) -> None:
            _status(
                f"run {i}/{args.repeats} (seed {record['seed']}) done: "
                f"{fmt_energy(record['energy_kwh'])}, {record['duration_s']:.1f} s, "
                f"F1 {record['metrics']['f1']:.3f}",
                quiet,
            )

        summary = run_variant(
            study,
            bundle,
            repeats=args.repeats,
            meter=meter,
            results_path=args.results,
            output_root=args.output_dir,
            show_progress=not quiet and sys.stderr.isatty(),
            variant=args.variant.upper() if args.variant else None,
            fidelity=args.fidelity,
            on_repeat=progress,
            same_seed=args.same_seed,
        )
    finally:
        meter.close()
    summary["notes"] = notes + summary.get("notes", [])
    summary["results_file"] = args.results
    if args.json:
        print_json(summary)
    else:
        render(summary)
    return 0


def render(summary: dict[str, Any]) -> None:
    """Human-readable report: per-stage table, metrics and meter provenance."""
    total = summary["energy_kwh"] or float("nan")
    rows = []
    for stage, figures in summary["stages"].items():
        share = figures["energy_kwh"] / total * 100 if total else float("nan")
        rows.append(
            [
                stage,
                fmt_energy(figures["energy_kwh"]),
                f"{figures['duration_s']:.2f} s",
                f"{share:.1f}%",
            ]
        )
    rows.append(
        ["total", fmt_energy(summary["energy_kwh"]), f"{summary['duration_s']:.2f} s", "100.0%"]
    )
    label = summary.get("variant") or summary["knobs"] or "baseline"
    print(f"variant: {label}   knobs: {summary['knobs'] or '(none: baseline)'}")
    for note in summary.get("notes", []):
        print(f"  - {note}")
    print_table(["stage", "energy", "time", "share"], rows)
    stats, metrics = summary["stats"], summary["metrics"]
    n = summary["repeats"]
    print(f"net of idle: {fmt_energy(summary['net_energy_kwh'])}   CO2: {summary['co2_kg']:.3g} kg")
    if n > 1:
        e = stats["energy_kwh"]
        print(
            f"energy over {n} repeats: {fmt_energy(e['mean'])} ± {fmt_energy(e['std'])} "
            f"(95% CI {fmt_energy(e['ci95_low'])} .. {fmt_energy(e['ci95_high'])})"
        )
    flag = "  DEGENERATE: predicts one class, learned nothing" if metrics["degenerate"] else ""
    print(
        f"F1 {metrics['f1']:.4f}{_f1_interval(summary)}  (weighted F1 "
        f"{metrics['f1_weighted']:.4f}, accuracy {metrics['accuracy']:.4f}){flag}"
    )
    meter = summary["meter"]
    print(
        f"meter: {meter['name']} ({meter['method']}); {n} run(s); appended to "
        f"{summary['results_file']}"
    )
    machine = summary.get("machine")
    if machine:
        print(f"machine: {machine_line(machine)}")


def _f1_interval(summary: dict[str, Any]) -> str:
    """`` (95% CI a .. b over N seeds × M test examples)``, saying what the interval covers."""
    metrics = summary["metrics"]
    ci = metrics.get("f1_ci95")
    if not ci:
        return ""
    seeds = [s for s in summary.get("seeds", []) if s is not None]
    if summary.get("seed_mode") == "same" and len(seeds) > 1:
        over = f"{len(seeds)} repeats of seed {seeds[0]} (test examples only)"
    elif metrics.get("n_seeds", 1) > 1:
        over = f"seeds {', '.join(str(s) for s in seeds)} and test examples"
    else:
        over = f"test examples only, one seed ({seeds[0] if seeds else '?'})"
    return f" (95% CI {ci[0]:.4f} .. {ci[1]:.4f} over {over})"


def _status(text: str, quiet: bool) -> None:
    if not quiet:
        print(text, file=sys.stderr)
