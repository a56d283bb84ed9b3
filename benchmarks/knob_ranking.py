"""Rank every knob available here by its isolated effect on the default study.

Each available knob runs alone at its first search value, ``--repeats`` times (default 3),
beside the baseline measured the same way, in rounds (every bundle once per round),
after one unrecorded warm-up run; every run is appended to a JSON Lines file as
it completes, so an interrupted ranking resumes where it stopped. The ranking (ΔEnergy,
ΔTime, ΔF1 with 95% CIs) is written to ``benchmarks/results/knob_ranking_cpu.csv`` with
the machine, date, meter and method on top. On a machine without RAPL or a GPU the energy
is a CodeCarbon estimate, and the file says so.

Usage::

    python benchmarks/knob_ranking.py                 # every available knob, 3 repeats
    python benchmarks/knob_ranking.py --quick         # tiny study, 3 knobs, 1 repeat (< 60 s)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import RESULTS, provenance, quick_study, write_csv

from greensearch.config import load_study
from greensearch.energy import make_meter, measure_idle_power
from greensearch.exceptions import ConfigError
from greensearch.knobs import default_registry
from greensearch.pipeline import describe, run_variant
from greensearch.pipeline._runner import preload_imports
from greensearch.results import read_records
from greensearch.search import build_space

QUICK_KNOBS = ("seq_len", "dynamic_padding", "layer_prune")


def main() -> int:
    """Measure, rank, write the CSV and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="tiny study, 3 knobs, 1 repeat")
    p.add_argument(
        "--runs",
        type=Path,
        default=RESULTS / "knob_ranking_runs.jsonl",
        help="JSON Lines file of completed runs (resume point)",
    )
    p.add_argument("--out", type=Path, default=RESULTS / "knob_ranking_cpu.csv")
    p.add_argument("--note", help="a line for the CSV header (e.g. what was discarded and why)")
    args = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="knob-ranking-quick-")) if args.quick else None
    study = quick_study(scratch) if scratch else load_study()
    repeats = 1 if args.quick else args.repeats
    runs_path = scratch / "runs.jsonl" if scratch else args.runs
    out = scratch / "knob_ranking_quick.csv" if scratch else args.out
    space = build_space(
        default_registry(), study, include=list(QUICK_KNOBS) if args.quick else None
    )
    bundles = [{}] + space.singles()
    meter = make_meter("auto")
    measure_idle_power(meter)
    done = _done(runs_path)
    start = time.monotonic()
    preload_imports()
    # records carry the canonical bundle text (defaults filled in: grad_accumulation=2
    # is stored as grad_accumulation=2:same_batch), so resume on that key
    registry = default_registry()
    keys = [registry.canonical(b) if b else "" for b in bundles]
    if any(len(done.get(k, [])) < repeats for k in keys):
        # One unrecorded run first: a process's first run pays one-off costs (allocator,
        # thread pools, lazy kernels) beyond the imports; on the 2-core VM the first
        # baseline of the first invocation ran 12 % above the next one.
        print("warm-up run (not recorded)", file=sys.stderr, flush=True)
        run_variant(study, {}, repeats=1, meter=meter)
    # Round-robin (every bundle once, then again) rather than bundle after bundle, so a
    # slow drift of the machine spreads over all knobs instead of biasing the last ones.
    for rep in range(repeats):
        for i, bundle in enumerate(bundles, 1):
            key = keys[i - 1]
            if len(done.get(key, [])) > rep:
                continue
            print(
                f"[round {rep + 1}/{repeats}, {i}/{len(bundles)}] {key or 'baseline'} "
                f"({time.monotonic() - start:.0f} s elapsed)",
                file=sys.stderr,
                flush=True,
            )
            try:
                run_variant(
                    study,
                    bundle,
                    repeats=1,
                    meter=meter,
                    results_path=runs_path,
                    variant=f"rank:{key}",
                )
            except ConfigError as err:
                print(f"  skipped: {err}", file=sys.stderr)
            done = _done(runs_path)
    meter.close()
    rows = _rank(_done(runs_path), study.name)
    started = sorted(r["started_at"] for rs in _done(runs_path).values() for r in rs)
    meta = provenance(
        meter.name,
        rows[0]["method"] if rows else "?",
        repeats=repeats,
        study=study.name,
        runs=runs_path.name,
        runs_started=f"{started[0]} .. {started[-1]}" if started else "none",
        wall_s_this_invocation=f"{time.monotonic() - start:.0f}",
    )
    if args.note:
        meta["note"] = args.note
    write_csv(out, rows, meta)
    for row in rows:
        print(
            f"{row['knobs'] or 'baseline':32s} ΔE {row['delta_energy_pct']:+7.1f}%  "
            f"ΔT {row['delta_time_pct']:+7.1f}%  ΔF1 {row['delta_f1_pct']:+7.2f}%  "
            f"(n={row['n']}, {row['method']})"
        )
    print(f"wrote {out}")
    return 0


def _done(path: Path) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    if path.exists():
        for r in read_records(path):
            runs.setdefault(r["knobs"], []).append(r)
    return runs


def _rank(runs: dict[str, list[dict[str, Any]]], study: str) -> list[dict[str, Any]]:
    base = runs.get("")
    if not base:
        return []
    e0 = describe([r["energy_kwh"] for r in base])["mean"]
    t0 = describe([r["duration_s"] for r in base])["mean"]
    f0 = describe([r["metrics"]["f1"] for r in base])["mean"]
    rows = []
    for key, rs in runs.items():
        e = describe([(r["energy_kwh"] / e0 - 1) * 100 for r in rs])
        rows.append(
            {
                "knobs": key,
                "n": len(rs),
                "energy_kwh": describe([r["energy_kwh"] for r in rs])["mean"],
                "delta_energy_pct": e["mean"],
                "delta_energy_ci95_low": e["ci95_low"],
                "delta_energy_ci95_high": e["ci95_high"],
                "delta_time_pct": (describe([r["duration_s"] for r in rs])["mean"] / t0 - 1) * 100,
                "f1": describe([r["metrics"]["f1"] for r in rs])["mean"],
                "delta_f1_pct": (
                    (describe([r["metrics"]["f1"] for r in rs])["mean"] - f0) / f0 * 100
                    if f0
                    else float("nan")
                ),
                "degenerate": any(r["metrics"]["degenerate"] for r in rs),
                "meter": rs[0]["meter"]["name"],
                "method": rs[0]["meter"]["method"],
            }
        )
    return sorted(rows, key=lambda r: r["delta_energy_pct"])


if __name__ == "__main__":
    sys.exit(main())
