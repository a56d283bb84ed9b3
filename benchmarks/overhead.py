"""What does greensearch itself cost? The active meter, and the search's per-trial machinery.

1. **Meter**: wall time of a fixed CPU training stage with and without an open energy
   window (interleaved pairs; the logic of ``meter_overhead.py``), as a ratio (target
   ≤ 1.01), plus the meter's own begin+end cost.
2. **Orchestration**: time per trial of ``optimize()`` outside the pipeline: Optuna's
   sampler (TPE), storage, claim/reuse checks and the orthogonality checker, with a
   replay runner that answers instantly (so the pipeline costs ~0). Measured on an
   in-memory storage and on SQLite (a file on local disk), with and without the checker,
   for a study of ``--trials`` trials on the paper-calibrated landscape's 13 knobs. The
   ratio against a pipeline trial uses the median wall time of the measured landscape's
   runs when its CSV exists, else ``--trial-s``.

Usage::

    python benchmarks/overhead.py            # 9 meter pairs of ~2 s; 150-trial studies
    python benchmarks/overhead.py --quick    # 5 pairs of ~1 s; 40 trials, 14 on SQLite (< 60 s)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, read_csv, write_text
from benchmarks.meter_overhead import build_stage, calibrate, edge_cost_s, timed


def meter_ratio(meter: Any, pairs: int, stage_s: float) -> dict[str, float]:
    """Median metered/unmetered wall-time ratio over interleaved pairs."""
    run = build_stage(1)
    steps = calibrate(run, stage_s)
    metered, plain = [], []
    for i in range(pairs):
        for use in (True, False) if i % 2 == 0 else (False, True):
            (metered if use else plain).append(timed(run, steps, meter if use else None, f"s{i}"))
    ratios = [m / p for m, p in zip(metered, plain, strict=True)]
    edge = edge_cost_s(meter, n=200)
    return {
        "steps": steps,
        "plain_s": statistics.median(plain),
        "metered_s": statistics.median(metered),
        "ratio": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "edge_us": edge * 1e6,
        "implied": 1 + edge / statistics.median(plain),
    }


def orchestration(trials: int, storage_kind: str, prune: bool) -> float:
    """Seconds per trial of ``optimize()`` with an instant replay runner."""
    import optuna

    from benchmarks.landscape_paper import paper_landscape
    from greensearch.config import StudyConfig
    from greensearch.search import ReplayRunner, SearchSettings, optimize

    points, registry, noise = paper_landscape()
    replay = ReplayRunner(points, noise_rel=noise)
    replay_s = [0.0]

    def run(*a: Any, **kw: Any) -> dict[str, Any]:
        t = time.perf_counter()
        out = replay(*a, **kw)
        replay_s[0] += time.perf_counter() - t
        return out

    with tempfile.TemporaryDirectory() as tmp:
        storage: Any = (
            optuna.storages.InMemoryStorage()
            if storage_kind == "memory"
            else f"sqlite:///{tmp}/o.db"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            settings = SearchSettings(
                study=StudyConfig(name="replay", source="<replay>"),
                budget_f1_pct=-1.0,
                n_trials=trials,
                storage=storage if isinstance(storage, str) else None,
                study_name="o",
                sampler="tpe",
                fidelity=0.3,
                repeats=1,
                baseline_repeats=3,
                prune=prune,
                idle_seconds=0,
                seed=0,
                search_only=True,
            )
            optimize(
                settings,
                storage=None if isinstance(storage, str) else storage,
                registry=registry,
                run_fn=run,
            )
            total = time.perf_counter() - t0
    return (total - replay_s[0]) / trials


def pipeline_trial_s(default: float) -> tuple[float, str]:
    """Median wall time of a measured-landscape run, or ``default``."""
    path = RESULTS / "landscape_measured.csv"
    if path.is_file():
        rows, meta = read_csv(path)
        walls = [float(r["wall_s"]) for r in rows if r.get("wall_s")]
        if walls:
            return statistics.median(walls), (
                f"median wall time of {len(walls)} runs of "
                f"landscape_measured.csv (fidelity "
                f"{meta.get('fidelity')})"
            )
    return default, "--trial-s (no measured landscape yet)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meter", default="auto")
    parser.add_argument("--pairs", type=int, default=9)
    parser.add_argument("--stage-s", type=float, default=2.0)
    parser.add_argument("--trials", type=int, default=150)
    parser.add_argument(
        "--trial-s",
        type=float,
        default=20.0,
        help="pipeline seconds per trial when no measured landscape exists",
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 pairs of ~1 s, 40 trials (14 on SQLite)"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.pairs, args.stage_s, args.trials = 5, 1.0, 40
    from greensearch.energy import make_meter

    out = Transcript()

    meter = make_meter(args.meter)
    m = meter_ratio(meter, args.pairs, args.stage_s)
    meter.close()
    out(
        f"meter: {meter.name} ({meter.method}); {args.pairs} interleaved pairs of "
        f"{m['steps']} training steps (~{args.stage_s:g} s), 1 torch thread"
    )
    out(
        f"  median unmetered {m['plain_s']:.3f} s, metered {m['metered_s']:.3f} s; pair "
        f"ratios {m['ratio_min']:.4f}..{m['ratio_max']:.4f}"
    )
    out(f"  meter begin+end: {m['edge_us']:.0f} us per window -> implied ratio {m['implied']:.5f}")
    rows = {}
    for kind in ("memory", "sqlite"):
        for prune in (True,) if args.quick and kind == "sqlite" else (True, False):
            n = min(args.trials, 14) if args.quick and kind == "sqlite" else args.trials
            rows[(kind, prune)] = orchestration(n, kind, prune)
    trial_s, source = pipeline_trial_s(args.trial_s)
    out(
        f"orchestration per trial ({args.trials}-trial TPE studies "
        f"({'14 on SQLite' if args.quick else 'both storages'}), 13 knobs, replay runner "
        f"time subtracted); pipeline trial {trial_s:.1f} s = {source}"
    )
    for (kind, prune), s in rows.items():
        out(
            f"  {kind:<6} {'checker' if prune else 'no checker':<10}: {s * 1000:8.1f} ms/trial "
            f"= {s / trial_s:.4f} of a pipeline trial"
        )
    sql = rows[("sqlite", True)]
    out(
        f"RATIOS meter={m['ratio']:.4f} meter_implied={m['implied']:.5f} "
        f"orchestration_sqlite={sql / trial_s:.4f} "
        f"orchestration_memory={rows[('memory', True)] / trial_s:.4f}"
    )
    path = args.out or (None if args.quick else RESULTS / "overhead.txt")
    if path is not None:
        write_text(path, out.text, provenance(meter.name, meter.method, trials=args.trials))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
