"""A measured knob landscape: every combination of 8 binary CPU knobs, run once each.

Runs the default study (``greensearch.config.load_study()``) at a low fidelity (a fraction
of the training steps; energy and time are also extrapolated to the full run with
``greensearch.search._extrapolate.extrapolate``'s linear rule, which every row of this
landscape shares, not the search's newer per-step rule) for all 2^8 = 256
combinations of ``KNOBS``, each once, and the baseline ``--baseline-repeats`` times to
know the noise. Rows are appended to the CSV as each run completes, so the script is
resumable: rerun it and it skips every (bundle, repeat) already in the file. Combinations
run in a seeded random order, so a slow drift of the machine (neighbours' load, thermal
state) is not confounded with any knob.

On a machine without RAPL or NVML the meter is CodeCarbon's *estimate* (TDP x CPU load,
RAM model): the ``meter`` and ``method`` columns say so in every row. A shared machine
adds noise; the repeated baseline measures it.

Usage::

    python benchmarks/landscape_measured.py                 # 256 + repeats, ~15-60 s each
    python benchmarks/landscape_measured.py --limit 20      # at most 20 new runs, then stop
    python benchmarks/landscape_measured.py --quick         # tiny study, 1 knob, < 60 s
    nohup python benchmarks/landscape_measured.py > benchmarks/results/landscape_measured.log 2>&1 &
"""

from __future__ import annotations

import argparse
import csv
import gzip
import itertools
import json
import math
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, TINY_ARCH, noop_registry, provenance, read_csv
from greensearch.knobs import format_bundle

LABEL = "measured at low fidelity on this machine"
OUT = RESULTS / "landscape_measured.csv"

#: The 8 binary knobs (name -> value): quick on 2 CPU cores, a mix of savers (seq_len,
#: dynamic_padding, layer_prune, data_fraction, batch_size), a trade-off knob
#: (grad_checkpointing), a kernel swap (attention) and a data-stage knob (fast_tokenizer).
KNOBS: dict[str, str] = {
    "fast_tokenizer": "on",
    "seq_len": "96",
    "dynamic_padding": "on",
    "layer_prune": "2:top",
    "attention": "sdpa",
    "grad_checkpointing": "on",
    "data_fraction": "0.5",
    "batch_size": "32",
}
QUICK_KNOBS: dict[str, str] = {"layer_prune": "2:top"}

COLUMNS = (
    "knobs",
    "repeat",
    "energy_kwh",
    "duration_s",
    "energy_kwh_full",
    "duration_s_full",
    "train_share",
    "f1",
    "accuracy",
    "degenerate",
    "train_steps",
    "planned_steps",
    "fidelity",
    "meter",
    "method",
    "started_at",
    "wall_s",
    "error",
)


def tiny_study(workdir: Path) -> Any:
    """A study that trains in seconds: 300 rows of the embedded data, a 4-layer model."""
    from greensearch.config import StudyConfig

    embedded = Path(__file__).resolve().parents[1] / "greensearch" / "data" / "embedded"
    rows: list[dict[str, Any]] = []
    for split in ("train", "test"):
        with gzip.open(embedded / f"vulnsynth-{split}.jsonl.gz", "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    pos = [r for r in rows if int(r["vul"]) == 1][:90]
    neg = [r for r in rows if int(r["vul"]) == 0][:210]
    sample = pos + neg
    random.Random(0).shuffle(sample)
    path = workdir / "tiny.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["func_before", "vul"])
        writer.writeheader()
        writer.writerows({"func_before": r["func_before"], "vul": r["vul"]} for r in sample)
    return StudyConfig(
        name="tiny",
        dataset=str(path),
        max_length=64,
        epochs=1.0,
        batch_size=16,
        eval_batch_size=64,
        learning_rate=1e-3,
        model_config=dict(TINY_ARCH),
        source="<tiny>",
    )


def plan(
    knobs: dict[str, str], baseline_repeats: int, seed: int
) -> list[tuple[dict[str, str], int]]:
    """(bundle, repeat) in run order: the baseline first, the rest shuffled, then repeats."""
    names = list(knobs)
    combos = [
        {n: knobs[n] for n in on}
        for r in range(len(names) + 1)
        for on in itertools.combinations(names, r)
    ]
    rest = combos[1:]
    random.Random(seed).shuffle(rest)
    order = [({}, 1)] + [(b, 1) for b in rest]
    # spread the baseline repeats over the run, so they see the same drift as the rest
    for i in range(2, baseline_repeats + 1):
        order.insert(len(order) * (i - 1) // baseline_repeats + 1, ({}, i))
    return order


def measure(study: Any, bundle: dict[str, str], fidelity: float, meter: Any) -> dict[str, Any]:
    """One run: raw and extrapolated figures, as a CSV row."""
    from greensearch.pipeline import run_variant
    from greensearch.search._extrapolate import extrapolate

    t0 = time.perf_counter()
    summary = run_variant(study, bundle, repeats=1, meter=meter, fidelity=fidelity)
    wall = time.perf_counter() - t0
    run = summary["runs"][0]
    # The linear rule (whole train window x planned / run steps), not the search's newer
    # per-step rule: the rows measured before it existed used it, and one landscape must
    # be extrapolated one way. Raw figures are in the row too.
    e_full, t_full = extrapolate(summary, per_step=False)
    train_full = e_full - (run["energy_kwh"] - run["stages"]["train"]["energy_kwh"])
    return {
        "energy_kwh": f"{run['energy_kwh']:.6g}",
        "duration_s": f"{run['duration_s']:.4f}",
        "energy_kwh_full": f"{e_full:.6g}",
        "duration_s_full": f"{t_full:.4f}",
        "train_share": f"{train_full / e_full:.4f}" if e_full > 0 else "0",
        "f1": f"{run['metrics']['f1']:.6f}",
        "accuracy": f"{run['metrics']['accuracy']:.6f}",
        "degenerate": int(bool(run["metrics"]["degenerate"])),
        "train_steps": run["train_steps"],
        "planned_steps": run["planned_steps"],
        "fidelity": fidelity,
        "meter": run["meter"]["name"],
        "method": run["meter"]["method"],
        "started_at": run.get("started_at", ""),
        "wall_s": f"{wall:.1f}",
        "error": "",
    }


def _append(path: Path, row: dict[str, Any], meta: dict[str, str]) -> None:
    new = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", newline="", encoding="utf-8") as f:
        if new:
            for k, v in meta.items():
                f.write(f"# {k}: {v}\n")
        writer = csv.DictWriter(f, fieldnames=list(row))
        if new:
            writer.writeheader()
        writer.writerow(row)


def replay_landscape(path: Path) -> dict[str, Any] | None:
    """The CSV as a replayable landscape: Points (full-run extrapolation, F1 of the run),
    a no-op registry of its knobs, and the baseline's relative energy noise.

    Returns ``None`` while some combination is still missing.
    """
    from greensearch.search import Point

    rows, meta = read_csv(path)
    knobs = json.loads(meta["knobs"])
    registry, canon = noop_registry(knobs)
    ok = [r for r in rows if not r["error"]]
    by_key: dict[str, list[dict[str, str]]] = {}
    for r in ok:
        by_key.setdefault(r["knobs"], []).append(r)
    expected = {
        format_bundle({n: canon[n] for n in on})
        for k in range(len(knobs) + 1)
        for on in itertools.combinations(knobs, k)
    }
    if not expected <= set(by_key):
        return None
    points = {}
    for key, rs in by_key.items():
        e = statistics.fmean(float(r["energy_kwh_full"]) for r in rs)
        t = statistics.fmean(float(r["duration_s_full"]) for r in rs)
        f1 = statistics.fmean(float(r["f1"]) for r in rs)
        share = statistics.fmean(float(r["train_share"]) for r in rs)
        points[key] = Point(
            e, t, f1, degenerate=any(r["degenerate"] == "1" for r in rs), train_share=share
        )
    base = [float(r["energy_kwh_full"]) for r in by_key[""]]
    noise = statistics.stdev(base) / statistics.fmean(base) if len(base) > 1 else 0.05
    return {
        "points": points,
        "registry": registry,
        "noise_rel": noise,
        "fidelity": float(ok[0]["fidelity"]),
        # the machine that measured it, not "this" one: a replay runs anywhere
        "label": f"measured at low fidelity on {meta.get('machine', 'an unrecorded machine')} "
        f"({meta.get('meter')}, {meta.get('method')}; {meta.get('date_utc', '?')})",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fidelity", type=float, default=0.2)
    parser.add_argument("--baseline-repeats", type=int, default=4)
    parser.add_argument("--meter", default="auto")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: on a shared 2-core machine, 2 threads "
        "oversubscribe and ran 2.4x slower)",
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=None, help="stop after N new runs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the run order")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="tiny study, 1 knob, 2 baseline runs (< 60 s); writes to a temp file unless --out",
    )
    args = parser.parse_args(argv)
    import torch

    from greensearch.config import load_study
    from greensearch.energy import make_meter

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="gs-landscape-"))
    if args.quick:
        knobs, study = QUICK_KNOBS, tiny_study(tmp)
        args.baseline_repeats = min(args.baseline_repeats, 2)
        out = args.out or tmp / "landscape_quick.csv"
    else:
        knobs, study = KNOBS, load_study()
        out = args.out or OUT
    _, canon = noop_registry(knobs)
    meter = make_meter(args.meter)
    meta = provenance(
        meter.name,
        meter.method,
        label=LABEL,
        study=study.source or study.name,
        fidelity=args.fidelity,
        knobs=json.dumps(canon),
        baseline_repeats=args.baseline_repeats,
        order_seed=args.seed,
        torch_threads=args.threads,
        meter_details=dict(getattr(meter, "details", {}) or {}).get("auto", ""),
    )
    done: set[tuple[str, int]] = set()
    if out.exists():
        rows, old = read_csv(out)
        if old.get("knobs") != meta["knobs"] or float(old.get("fidelity", -1)) != args.fidelity:
            raise SystemExit(
                f"{out} holds another landscape (knobs/fidelity differ); pass --out NEW.csv"
            )
        done = {(r["knobs"], int(r["repeat"])) for r in rows}
    todo = [
        (b, rep)
        for b, rep in plan(canon, args.baseline_repeats, args.seed)
        if (format_bundle(b), rep) not in done
    ]
    total = len(plan(canon, args.baseline_repeats, args.seed))
    print(
        f"[{LABEL}] {study.name}, {len(knobs)} knobs, fidelity {args.fidelity:g}, meter "
        f"{meter.name} ({meter.method}); {total - len(todo)}/{total} runs already in {out}",
        flush=True,
    )
    start = time.perf_counter()
    if todo and (args.limit is None or args.limit > 0):
        # one unrecorded run first: the first run of a process pays one-off costs (imports,
        # allocator and thread-pool warm-up) that would bias whichever bundle came first
        measure(study, {}, min(args.fidelity, 0.05), meter)
        print(f"warm-up run done ({time.perf_counter() - start:.0f} s, not recorded)", flush=True)
        start = time.perf_counter()
    n_new = 0
    for bundle, rep in todo:
        if args.limit is not None and n_new >= args.limit:
            break
        key = format_bundle(bundle)
        row: dict[str, Any] = {c: "" for c in COLUMNS}
        row.update(knobs=key, repeat=rep)
        from greensearch.exceptions import GreensearchError

        try:
            row.update(measure(study, bundle, args.fidelity, meter))
        except GreensearchError as err:
            row["error"] = str(err).splitlines()[0]
        row.update({n: int(n in bundle) for n in knobs})
        _append(out, row, meta)
        n_new += 1
        elapsed = time.perf_counter() - start
        left = min(len(todo), args.limit or math.inf) - n_new
        print(
            f"[{total - len(todo) + n_new}/{total}] {key or 'baseline'} r{rep}: "
            f"{row['energy_kwh_full'] or 'FAILED ' + row['error']} kWh full, F1 {row['f1']}, "
            f"{row['wall_s']} s; elapsed {elapsed / 60:.1f} min, "
            f"ETA {elapsed / n_new * left / 60:.0f} min",
            flush=True,
        )
    meter.close()
    print(f"done: {n_new} new runs in {(time.perf_counter() - start) / 60:.1f} min -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
