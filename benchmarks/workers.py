"""Do search workers share the cores or fight over them? 1 worker vs 2, same trials.

``greensearch optimize --n-workers N`` on one machine gives each of its N processes
``cores // N`` torch threads (``greensearch/_threads.py``). Before that, every process
took all cores: a baseline that takes 117-137 s alone took 486 s beside one other
training on a 2-core machine (3.7x; one after the other would have taken about 2x).

This script runs the same search twice per round, once with 1 worker and once with 2,
on the default study: ``--include`` a few knobs and ``--n-trials`` equal to the seeds, so
both measure exactly the same trials (the baseline and each knob alone), ``--no-guide
--no-prune --search-only``, no idle sampling. It reports per command the wall time and
the energy of the whole command, read by one meter in this process around it (a
machine-wide estimate is not double-counted when two workers run), the sum of the run
records' own energy, their mean run time, and the torch threads each run recorded. Rounds
alternate the order (1, 2, then 2, 1) so slow drift of the machine hits both alike. With
2 workers the baseline still runs alone first (every other trial's deltas need it; the
second worker waits for it), on its process's share of the cores: that serial part is
in the 2-worker figure.

Target: 2 workers / 1 worker <= 1.1 for both total wall time and energy.

Usage::

    python benchmarks/workers.py              # default study, 2 rounds (~15 min alone)
    python benchmarks/workers.py --dry-run    # print the commands, run nothing
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, ROOT, provenance, write_text

#: Knobs searched (alone): savers that run on a CPU, one trial each.
INCLUDE = ("attention", "layer_prune", "seq_len")


def command(
    workers: int, folder: Path, *, include: tuple[str, ...], fidelity: float, meter: str
) -> list[str]:
    """The ``greensearch optimize`` command of one measurement, storing under ``folder``."""
    return [
        sys.executable,
        "-m",
        "greensearch",
        "-q",
        "optimize",
        "--include",
        ",".join(include),
        "--n-trials",
        str(1 + len(include)),  # the seeds only: the same trials whatever the worker count
        "--baseline-repeats",
        "1",
        "--fidelity",
        str(fidelity),
        "--no-guide",
        "--no-prune",
        "--search-only",
        "--idle-seconds",
        "0",
        "--meter",
        meter,
        "--n-workers",
        str(workers),
        "--storage",
        f"sqlite:///{folder / 'study.db'}",
        "--study-name",
        "workers",
        "--results",
        str(folder / "runs.jsonl"),
    ]


def measure(cmd: list[str], folder: Path, meter: Any) -> dict[str, Any]:
    """Run one command under one energy window; its wall time, energy and run records."""
    key = f"cmd-{folder.name}"
    meter.begin(key)
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    reading = meter.end(key)
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    runs = [json.loads(line) for line in (folder / "runs.jsonl").read_text().splitlines()]
    return {
        "wall_s": wall,
        "energy_kwh": reading.energy_j / 3.6e6,
        "records_energy_kwh": sum(r["energy_kwh"] for r in runs),
        "runs": len(runs),
        "run_s": statistics.mean(r["duration_s"] for r in runs),
        "threads": sorted({r["machine"]["cpu_threads_used"] for r in runs}),
        "meter": reading.meter,
        "method": reading.method,
    }


def ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Median over rounds of 2-worker / 1-worker wall time and energy."""
    by_round: dict[int, dict[int, dict[str, Any]]] = {}
    for row in rows:
        by_round.setdefault(row["round"], {})[row["workers"]] = row
    pairs = [r for r in by_round.values() if 1 in r and 2 in r]
    return {
        figure: statistics.median(p[2][figure] / p[1][figure] for p in pairs)
        for figure in ("wall_s", "energy_kwh")
    }


def main(argv: list[str] | None = None) -> int:
    """Parse, run the rounds, print and save the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2, help="pairs of commands (default 2)")
    p.add_argument("--fidelity", type=float, default=0.25, help="search fidelity (0.25)")
    p.add_argument("--meter", default="auto", help="meter of every command (default auto)")
    p.add_argument("--dry-run", action="store_true", help="print the commands only")
    p.add_argument("--out", type=Path, help="report file (default results/workers.txt)")
    args = p.parse_args(argv)
    tmp = Path("TMP") if args.dry_run else Path(tempfile.mkdtemp(prefix="greensearch-workers-"))
    plan = [(r, w) for r in range(args.rounds) for w in ((1, 2) if r % 2 == 0 else (2, 1))]
    if args.dry_run:
        for r, w in plan:
            folder = tmp / f"r{r}-w{w}"
            cmd = command(w, folder, include=INCLUDE, fidelity=args.fidelity, meter=args.meter)
            print(f"round {r + 1}, {w} worker(s): cd {folder} && {' '.join(cmd[1:])}")
        return 0
    from greensearch.energy import make_meter

    meter = make_meter(args.meter)
    rows = []
    try:
        for r, w in plan:
            folder = tmp / f"r{r}-w{w}"
            folder.mkdir(parents=True)
            cmd = command(w, folder, include=INCLUDE, fidelity=args.fidelity, meter=args.meter)
            row = {"round": r + 1, "workers": w, **measure(cmd, folder, meter)}
            rows.append(row)
            print(
                f"round {row['round']} workers {w}: {row['wall_s']:.1f} s, "
                f"{row['energy_kwh'] * 1e3:.4f} Wh (records {row['records_energy_kwh'] * 1e3:.4f}"
                f" Wh, {row['runs']} runs, torch threads {row['threads']})",
                flush=True,
            )
    finally:
        meter.close()
    got = ratios(rows)
    lines = [
        f"{'round':>5} {'workers':>7} {'wall_s':>8} {'energy_Wh':>10} {'records_Wh':>10} "
        f"{'runs':>4} {'run_s':>7}  threads"
    ]
    lines += [
        f"{r['round']:>5} {r['workers']:>7} {r['wall_s']:8.1f} {r['energy_kwh'] * 1e3:10.4f} "
        f"{r['records_energy_kwh'] * 1e3:10.4f} {r['runs']:>4} {r['run_s']:7.1f}  {r['threads']}"
        for r in rows
    ]
    lines.append(
        f"RATIOS workers2/workers1: wall={got['wall_s']:.3f} energy={got['energy_kwh']:.3f} "
        "(target <= 1.1)"
    )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    meta = provenance(rows[0]["meter"], rows[0]["method"], include=",".join(INCLUDE))
    write_text(args.out or RESULTS / "workers.txt", text, meta)
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    raise SystemExit(main())
