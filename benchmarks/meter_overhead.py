"""How much wall time does metering add to a pipeline stage?

Runs a fixed amount of real CPU work (training steps of a small transformer layer, sized to
about ``--stage-s`` seconds) alternately with and without an energy window around it, and
prints the median wall-time ratio metered / unmetered. Metered and unmetered repeats are
interleaved (and their order alternated) so drift and neighbours' load hit both alike; the
headline is the median over adjacent pairs of metered/unmetered, with the ratio of medians
and the ratio of minima (the least disturbed runs) beside it.
Because a ~1 % effect is close to run-to-run noise on a shared machine, it also times the
meter's own begin+end cost in isolation and prints the ratio that cost implies.

Usage::

    python benchmarks/meter_overhead.py            # 9 pairs of ~2 s stages
    python benchmarks/meter_overhead.py --quick    # 7 pairs of ~1.5 s, < 60 s
    python benchmarks/meter_overhead.py --meter codecarbon --json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from greensearch.energy import Meter, make_meter  # noqa: E402


def build_stage(threads: int) -> Any:
    """Return ``run(steps)``: training steps of one transformer encoder layer on CPU."""
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    layer = torch.nn.TransformerEncoderLayer(
        d_model=128, nhead=4, dim_feedforward=256, batch_first=True
    )
    head = torch.nn.Linear(128, 2)
    params = list(layer.parameters()) + list(head.parameters())
    opt = torch.optim.AdamW(params, lr=1e-3)
    x = torch.randn(16, 64, 128)
    y = torch.randint(0, 2, (16,))

    def run(steps: int) -> None:
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.cross_entropy(head(layer(x).mean(dim=1)), y)
            loss.backward()
            opt.step()

    return run


def calibrate(run: Any, stage_s: float) -> int:
    """Number of steps that takes about ``stage_s`` seconds (after a warm-up)."""
    run(3)
    start = time.perf_counter()
    run(10)
    per_step = (time.perf_counter() - start) / 10
    return max(1, round(stage_s / per_step))


def timed(run: Any, steps: int, meter: Meter | None, key: str) -> float:
    start = time.perf_counter()
    if meter is None:
        run(steps)
    else:
        with meter.window(key):
            run(steps)
    return time.perf_counter() - start


def edge_cost_s(meter: Meter, n: int = 500) -> float:
    """Median cost of one begin+end pair, timed in isolation."""
    costs = []
    for _ in range(n):
        start = time.perf_counter()
        meter.begin("edge")
        meter.end("edge")
        costs.append(time.perf_counter() - start)
    return statistics.median(costs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meter", default="auto", help="auto | nvml | rapl | codecarbon")
    parser.add_argument("--repeats", type=int, default=9, help="pairs (metered+unmetered)")
    parser.add_argument("--stage-s", type=float, default=2.0, help="target stage length")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1 keeps noise low on a shared machine)",
    )
    parser.add_argument("--quick", action="store_true", help="7 pairs of ~1.5 s (< 60 s)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeats, args.stage_s = 7, 1.5

    construct_start = time.perf_counter()
    meter = make_meter(args.meter)
    construct_s = time.perf_counter() - construct_start
    run = build_stage(args.threads)
    steps = calibrate(run, args.stage_s)

    metered: list[float] = []
    plain: list[float] = []
    for i in range(args.repeats):
        order = (True, False) if i % 2 == 0 else (False, True)
        for use_meter in order:
            t = timed(run, steps, meter if use_meter else None, f"stage{i}")
            (metered if use_meter else plain).append(t)
    pair_ratios = [m / p for m, p in zip(metered, plain, strict=True)]
    edge_s = edge_cost_s(meter)
    with meter.window("probe") as w:
        run(1)
    probe = w.measurement
    assert probe is not None
    meter.close()

    result = {
        "meter": meter.name,
        "method": meter.method,
        "details": {k: v for k, v in probe.details.items() if k in ("cpu", "ram", "gpu")},
        "repeats": args.repeats,
        "steps_per_stage": steps,
        "median_unmetered_s": statistics.median(plain),
        "median_metered_s": statistics.median(metered),
        "median_pair_ratio": statistics.median(pair_ratios),
        "ratio_of_medians": statistics.median(metered) / statistics.median(plain),
        "ratio_of_minima": min(metered) / min(plain),
        "pair_ratio_min": min(pair_ratios),
        "pair_ratio_max": max(pair_ratios),
        "edge_cost_us": edge_s * 1e6,
        "implied_ratio": 1 + edge_s / statistics.median(plain),
        "meter_construction_s": construct_s,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"meter: {result['meter']} (method: {result['method']})")
    for component, text in result["details"].items():
        print(f"  {component}: {text}")
    print(
        f"stage: {steps} training steps of a d_model=128 transformer layer, "
        f"{args.threads} torch thread(s); {args.repeats} interleaved pairs"
    )
    print(
        f"median unmetered {result['median_unmetered_s']:.3f} s, "
        f"metered {result['median_metered_s']:.3f} s"
    )
    print(
        f"median ratio metered/unmetered (over adjacent pairs): {result['median_pair_ratio']:.4f}"
    )
    print(
        f"  pair range {result['pair_ratio_min']:.4f}..{result['pair_ratio_max']:.4f}; "
        f"ratio of medians {result['ratio_of_medians']:.4f}; "
        f"ratio of minima {result['ratio_of_minima']:.4f}"
    )
    print(
        f"meter's own begin+end cost: {result['edge_cost_us']:.0f} us per window "
        f"-> implied ratio {result['implied_ratio']:.5f}"
    )
    print(f"one-off meter construction: {construct_s:.2f} s (not part of any stage)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
