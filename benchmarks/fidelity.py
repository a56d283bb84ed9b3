"""Do cheap low-fidelity runs predict full runs? Extrapolation error of energy and time.

For each bundle, one run at ``--fidelity`` (default 0.1: a tenth of the training steps) is
extrapolated to the full run exactly as the search does it
(``greensearch.search._extrapolate.extrapolate``: the training window's one-off part kept,
its timed steps scaled to the planned count), and one full run (fidelity 1.0) is
measured. The CSV also gives the error of the older linear rule (whole window x
planned / run steps) on the same runs. Prints per bundle and
the median and worst relative error of energy and time (target: median ≤ 5 % for energy).

One unrecorded warm-up run comes first: the first run of a process pays one-off costs
(imports, allocator and thread-pool warm-up) inside its training window, which the
extrapolation would multiply by 1/fidelity (+111 % on the tiny study without it). The
two runs of a bundle are adjacent (low fidelity first, then full), so slow drift of a
shared machine hits both alike; the error still contains the run-to-run noise of one
measurement, which is printed beside it when ``landscape_measured.csv`` has repeated
baseline runs. Energy on a machine without RAPL/NVML is CodeCarbon's estimate (the
``meter``/``method`` printed say which).

Usage::

    python benchmarks/fidelity.py            # 10 bundles on the default study (~20 runs);
                                             # rows go to results/fidelity.csv as they
                                             # finish, and a rerun resumes
    python benchmarks/fidelity.py --quick    # tiny study, 2 bundles, fidelity 0.25 (< 60 s)
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, read_csv, write_text
from greensearch.knobs import format_bundle, parse_bundle

#: Bundles of the default study: the baseline, savers, a trade-off knob, and combinations.
BUNDLES = (
    "",
    "seq_len=96",
    "dynamic_padding",
    "layer_prune=2:top",
    "attention=sdpa",
    "grad_checkpointing",
    "data_fraction=0.5",
    "batch_size=32",
    "dynamic_padding,layer_prune=2:top,seq_len=96",
    "attention=sdpa,batch_size=32,fast_tokenizer",
)
QUICK_BUNDLES = ("", "layer_prune=2:top")  # tiny study


def _line(row: dict[str, Any]) -> str:
    return (
        f"{row['knobs'] or 'baseline':<48} {float(row['energy_est_kwh']):10.4g} "
        f"{float(row['energy_full_kwh']):10.4g} {float(row['energy_err_pct']):+7.1f} "
        f"{float(row['time_est_s']):8.1f} {float(row['time_full_s']):8.1f} "
        f"{float(row['time_err_pct']):+7.1f}"
    )


def _append(path: Path, row: dict[str, Any], meta: dict[str, str]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as f:
        if new:
            f.write("".join(f"# {k}: {v}\n" for k, v in meta.items()))
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def _rel(est: float, true: float) -> float:
    return (est / true - 1.0) * 100.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fidelity", type=float, default=0.1)
    parser.add_argument(
        "--bundles", default=None, help="';'-separated bundles (default: 10 built in)"
    )
    parser.add_argument("--meter", default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a shared 2-core machine, 2 threads "
        "oversubscribe and ran 2.4x slower)",
    )
    parser.add_argument("--quick", action="store_true", help="tiny study, 2 bundles")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    import torch

    from benchmarks.landscape_measured import tiny_study
    from greensearch.config import load_study
    from greensearch.energy import make_meter
    from greensearch.pipeline import run_variant
    from greensearch.search._extrapolate import extrapolate

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="gs-fidelity-"))
    if args.quick:
        study, bundles = tiny_study(tmp), QUICK_BUNDLES
        args.fidelity = max(args.fidelity, 0.25)
    else:
        study = load_study()
        bundles = tuple(args.bundles.split(";")) if args.bundles else BUNDLES
    meter = make_meter(args.meter)
    out = Transcript()

    out(
        f"fidelity {args.fidelity:g} extrapolated vs full run; study {study.name}; meter "
        f"{meter.name} ({meter.method}); {len(bundles)} bundles"
    )
    out(
        f"{'bundle':<48} {'E est kWh':>10} {'E full kWh':>10} {'E err%':>7} {'t est s':>8} "
        f"{'t full s':>8} {'t err%':>7}"
    )
    csv_path = (
        args.out.with_suffix(".csv")
        if args.out
        else (tmp / "fidelity.csv" if args.quick else RESULTS / "fidelity.csv")
    )
    meta = provenance(
        meter.name,
        meter.method,
        study=study.source or study.name,
        fidelity=args.fidelity,
        torch_threads=args.threads,
    )
    rows: list[dict[str, Any]] = []
    if csv_path.exists():  # resume: keep what an interrupted run measured
        old, old_meta = read_csv(csv_path)
        if float(old_meta.get("fidelity", -1)) != args.fidelity:
            raise SystemExit(f"{csv_path} was measured at another fidelity; pass --out NEW")
        rows = [dict(r) for r in old]
        if rows and "energy_linear_err_pct" not in rows[0]:
            raise SystemExit(
                f"{csv_path} was written by an older fidelity.py (linear rule only); pass --out NEW"
            )
        out(f"resuming: {len(rows)} bundle(s) already in {csv_path}")
    done = {r["knobs"] for r in rows}
    todo = [parse_bundle(t) for t in bundles if format_bundle(parse_bundle(t)) not in done]
    start = time.perf_counter()
    if todo:
        # unrecorded warm-up: the first run of a process pays one-off costs inside its
        # train window, which extrapolation would multiply by 1/fidelity
        run_variant(study, {}, repeats=1, meter=meter, fidelity=args.fidelity)
    for row in rows:
        out(_line(row))
    for bundle in todo:
        low = run_variant(study, bundle, repeats=1, meter=meter, fidelity=args.fidelity)
        e_est, t_est = extrapolate(low)
        # the same run scaled the old way (whole train window x planned/run steps)
        e_lin, t_lin = extrapolate(low, per_step=False)
        full = run_variant(study, bundle, repeats=1, meter=meter, fidelity=1.0)
        e_true, t_true = full["energy_kwh"], full["duration_s"]
        row = {
            "knobs": format_bundle(bundle),
            "energy_est_kwh": e_est,
            "energy_full_kwh": e_true,
            "energy_err_pct": _rel(e_est, e_true),
            "time_est_s": t_est,
            "time_full_s": t_true,
            "time_err_pct": _rel(t_est, t_true),
            "energy_linear_err_pct": _rel(e_lin, e_true),
            "time_linear_err_pct": _rel(t_lin, t_true),
            "train_s_low": low["stages"]["train"]["duration_s"],
            "train_s_full": full["stages"]["train"]["duration_s"],
            "f1_low": low["metrics"]["f1"],
            "f1_full": full["metrics"]["f1"],
            "train_steps_low": low["runs"][0]["train_steps"],
            "planned_steps": full["runs"][0]["planned_steps"],
            "meter": meter.name,
            "method": full["meter"]["method"],
            "started_at": low["runs"][0].get("started_at", ""),
        }
        _append(csv_path, row, meta)
        rows.append(row)
        out(_line(row))
    meter.close()
    e_abs = [abs(float(r["energy_err_pct"])) for r in rows]
    t_abs = [abs(float(r["time_err_pct"])) for r in rows]
    out(
        f"energy |error|: median {statistics.median(e_abs):.1f}%, worst {max(e_abs):.1f}% "
        f"(target median <= 5%); time |error|: median {statistics.median(t_abs):.1f}%, "
        f"worst {max(t_abs):.1f}%"
    )
    lin = [abs(float(r["energy_linear_err_pct"])) for r in rows if "energy_linear_err_pct" in r]
    if lin:
        out(
            f"same runs, whole train window scaled linearly (no step times): energy |error| "
            f"median {statistics.median(lin):.1f}%, worst {max(lin):.1f}%"
        )
    out(f"total {(time.perf_counter() - start) / 60:.1f} min (this invocation)")
    out(
        f"RATIOS energy_median_err_pct={statistics.median(e_abs):.2f} "
        f"energy_worst_err_pct={max(e_abs):.2f} time_median_err_pct={statistics.median(t_abs):.2f}"
    )
    path = args.out or (None if args.quick else RESULTS / "fidelity.txt")
    if path is not None:
        write_text(path, out.text, meta)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
