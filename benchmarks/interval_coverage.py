"""Do ΔF1 intervals keep their promise? False-"feasible" rate and coverage by simulation.

Identical arms (the true ΔF1 is 0), budget 0, confidence 0.95: a "feasible" verdict is
false and should come at most 5 % of the time, and the two-sided 95 % interval should
cover 0 at least 95 % of the time. Runs come from :func:`greensearch.stats.simulate_arms`
(600 test examples, accuracy 0.85) with seed SD from 0.5x to 4x the example-level SE, in
the finals' design (3 vs 3 seeds, paired by round) and the search's (1 run vs 3). "before"
is ``delta_f1`` as of commit fa5af16 (seeds bootstrapped per arm, read with ``git show``),
"after" the current one; both see the same simulated runs and resampling seeds. A pure
simulation: no training, no energy.

Usage::

    python benchmarks/interval_coverage.py [--quick]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from greensearch.stats import NoiseModel, delta_f1, simulate_arms

#: The commit whose ``delta_f1`` is the "before" column.
BEFORE = "fa5af16"
ROOT = Path(__file__).resolve().parents[1]


def _before() -> Callable[..., Any] | None:
    """``delta_f1`` as of :data:`BEFORE`, or ``None`` outside a git checkout with it."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BEFORE}:greensearch/stats/_bootstrap.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("greensearch_stats_before")
    module.__dict__["__name__"] = "greensearch_stats_before"
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{BEFORE}:_bootstrap.py", "exec"), module.__dict__)  # noqa: S102
    return module.__dict__["delta_f1"]


def rates(
    fn: Callable[..., Any],
    design: tuple[int, int],
    seed_sd_x: float,
    replicates: int,
    resamples: int,
) -> tuple[float, float]:
    """False-feasible rate and two-sided coverage of ``fn`` over ``replicates`` studies."""
    model = NoiseModel(n_examples=600, seed_sd=seed_sd_x * NoiseModel(n_examples=600).example_se)
    rng = np.random.default_rng(2020)
    false_feasible = covered = 0
    for i in range(replicates):
        base, cand = simulate_arms(rng, model, runs=design, shifts=(0.0, 0.0))
        d = fn(base, cand, budget_pct=0.0, n_resamples=resamples, seed=i)
        false_feasible += d.lower_pct >= 0.0
        covered += d.ci95_pct[0] <= 0.0 <= d.ci95_pct[1]
    return false_feasible / replicates, covered / replicates


def main(argv: list[str] | None = None) -> int:
    """Print the table: per design and seed SD, before and after."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="100 replicates, 400 resamples")
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--resamples", type=int, default=2000)
    args = p.parse_args(argv)
    replicates, resamples = (100, 400) if args.quick else (args.replicates, args.resamples)
    before = _before()
    mc = 100 * np.sqrt(0.05 * 0.95 / replicates)
    print(f"# {replicates} replicates, {resamples} resamples, Monte-Carlo SE at 5 %: {mc:.1f} pts")
    print(
        "| design | seed SD / ex. SE | false feasible, before | after | coverage, before | after |"
    )
    print("|---|---|---|---|---|---|")
    worst_ff, worst_cov = 0.0, 1.0
    for design, name in (((3, 3), "3 vs 3"), ((3, 1), "1 vs 3")):
        for x in (0.5, 1.0, 2.0, 4.0):
            ff, cov = rates(delta_f1, design, x, replicates, resamples)
            worst_ff, worst_cov = max(worst_ff, ff), min(worst_cov, cov)
            if before is None:
                old = "n/a (no git)", "n/a"
            else:
                b_ff, b_cov = rates(before, design, x, replicates, resamples)
                old = f"{100 * b_ff:.1f} %", f"{100 * b_cov:.1f} %"
            print(
                f"| {name} | {x:g} | {old[0]} | {100 * ff:.1f} % | {old[1]} | {100 * cov:.1f} % |",
                flush=True,
            )
    print(f"RATES after: worst_false_feasible={worst_ff:.3f} worst_coverage={worst_cov:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
