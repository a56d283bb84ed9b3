"""What does a short search run spend, and what does leaving out its validation pass save?

In ``--rounds`` rounds (the order alternating, so drift falls on both arms), one short
run of the study's baseline (``--fidelity``, default 0.25) with its validation pass and
one without, under the meter, after one unrecorded warm-up run. Prints per round each
run's energy and time and the ratio without / with; the validation window's share of
the run that made it; whether the two runs of a round predicted identically (they must:
the pass comes after the last step); and, from the same runs, the eval window's full-run
extrapolation by the linear rule and per timed batch (``greensearch.pipeline._clocks``).
The last line, ``RATIOS ...``, is the figures in one parsable line.

Usage::

    python benchmarks/short_run_cost.py              # default study, 3 rounds (~3 min)
    python benchmarks/short_run_cost.py --quick      # tiny study, 1 round (< 60 s)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, quick_study, write_text


def _run(study: Any, meter: Any, fidelity: float, validate: bool) -> dict[str, Any]:
    from greensearch.pipeline import run_once

    return run_once(study, {}, meter=meter, fidelity=fidelity, keep_model=False, validate=validate)


def _eval_full_s(record: dict[str, Any], per_batch: bool) -> float:
    """The eval window's full-run time by one rule, from one short run's record."""
    from greensearch.search._extrapolate import extrapolate

    only_eval = {**record, "stages": {"eval": record["stages"]["eval"]}}
    return extrapolate({"runs": [only_eval]}, per_step=per_batch)[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fidelity", type=float, default=0.25)
    parser.add_argument("--meter", default="auto")
    parser.add_argument("--quick", action="store_true", help="tiny study, 1 round")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.rounds < 1 or not 0 < args.fidelity < 1:
        parser.error("--rounds must be at least 1 and --fidelity in (0, 1)")
    from greensearch.config import load_study
    from greensearch.energy import make_meter

    tmp = Path(tempfile.mkdtemp(prefix="gs-short-run-"))
    study = quick_study(tmp) if args.quick else load_study()
    rounds = 1 if args.quick else args.rounds
    meter = make_meter(args.meter)
    out = Transcript()

    out(
        f"short runs (fidelity {args.fidelity:g}) of study {study.name} with and without their "
        f"validation pass; {rounds} round(s); meter {meter.name} ({meter.method})"
    )
    _run(study, meter, args.fidelity, True)  # warm-up: a process's first run pays one-offs
    ratios_e, ratios_t, shares, same, eval_rules = [], [], [], [], []
    out(
        f"{'round':>5} {'with kWh':>10} {'with s':>7} {'without kWh':>11} {'without s':>9} "
        f"{'E ratio':>7} {'validate share':>14} {'same predictions':>16}"
    )
    for r in range(rounds):
        runs = {}
        for validate in (True, False) if r % 2 == 0 else (False, True):
            runs[validate] = _run(study, meter, args.fidelity, validate)
        on, off = runs[True], runs[False]
        ratios_e.append(off["energy_kwh"] / on["energy_kwh"])
        ratios_t.append(off["duration_s"] / on["duration_s"])
        shares.append(on["stages"]["validate"]["energy_kwh"] / on["energy_kwh"])
        same.append(
            off["predictions"] == on["predictions"] and off["skipped_windows"] == ["validate"]
        )
        eval_rules.append((_eval_full_s(on, False), _eval_full_s(on, True)))
        out(
            f"{r + 1:>5} {on['energy_kwh']:>10.3g} {on['duration_s']:>7.1f} "
            f"{off['energy_kwh']:>11.3g} {off['duration_s']:>9.1f} {ratios_e[-1]:>7.3f} "
            f"{100 * shares[-1]:>13.1f}% {str(same[-1]):>16}"
        )
    meter.close()
    linear = statistics.median(a for a, _ in eval_rules)
    per_batch = statistics.median(b for _, b in eval_rules)
    out(
        f"without / with validation: energy x{statistics.median(ratios_e):.3f} "
        f"({min(ratios_e):.3f} .. {max(ratios_e):.3f}), time x{statistics.median(ratios_t):.3f}; "
        f"the validation window held {100 * statistics.median(shares):.1f}% of a short run's "
        f"energy; identical predictions in {sum(same)} of {rounds} round(s)"
    )
    out(
        f"eval window at full scale from the same short runs (median): linear {linear:.1f} s, "
        f"per timed batch {per_batch:.1f} s"
    )
    out(
        f"RATIOS energy_without_over_with={statistics.median(ratios_e):.4f} "
        f"time_without_over_with={statistics.median(ratios_t):.4f} "
        f"validate_share={statistics.median(shares):.4f} identical={sum(same)}/{rounds} "
        f"eval_per_batch_over_linear={per_batch / linear:.4f}"
    )
    meta = provenance(
        meter.name,
        meter.method,
        study=study.source or study.name,
        fidelity=args.fidelity,
        rounds=rounds,
    )
    path = args.out or (
        tmp / "short_run_cost.txt" if args.quick else RESULTS / "short_run_cost.txt"
    )
    write_text(path, out.text, meta)
    return 0 if all(same) else 1


if __name__ == "__main__":
    sys.exit(main())
