"""How small an F1 loss the default task can resolve, by test-split size.

Reads the baseline's full-fidelity runs (distinct seeds) from a results file that kept
their predictions, e.g. the one ``greensearch optimize`` or ``greensearch run --repeats 3``
appends to, and prints the F1 resolution (:func:`greensearch.stats.f1_resolution`, one-sided
95 %) on the first N test examples for several N. The embedded test split starts with
the original 20 % split (961 examples) and continues with the extra rows
(``greensearch.data._synthetic.EXTRA_TEST_ROWS``), so the first row is the task as it was
before the extra rows, measured on the same runs. F1 does not depend on machine load.

Usage::

    greensearch run --repeats 3 --results runs.jsonl
    python benchmarks/f1_resolution.py --runs runs.jsonl
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, provenance
from greensearch.results import read_records
from greensearch.stats import RunPredictions, f1_interval, f1_resolution


def main(argv: list[str] | None = None) -> int:
    """Select the baseline runs, print and write the resolution table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=Path, default=Path("greensearch-results.jsonl"))
    p.add_argument("--sizes", default="961,1922,2883", help="test-split prefixes to score")
    p.add_argument("--out", type=Path, default=RESULTS / "f1_resolution.txt")
    args = p.parse_args(argv)
    by_seed: dict[int, RunPredictions] = {}
    for record in read_records(args.runs):
        kept = RunPredictions.from_run_record(record)
        if kept is None or record.get("knobs") or record.get("fidelity") != 1.0:
            continue
        by_seed.setdefault(int(record["seed"]), kept)
    runs = [by_seed[s] for s in sorted(by_seed)]
    if len(runs) < 2:
        print(f"need 2+ baseline runs with distinct seeds in {args.runs}", file=sys.stderr)
        return 2
    lines = [f"baseline seeds {sorted(by_seed)}; one-sided 95 %; ΔF1 relative to F1"]
    for n in (int(x) for x in args.sizes.split(",")):
        if n > runs[0].n:
            continue
        prefix = [
            RunPredictions(
                split_id=r.split_id, labels=r.labels[:n], classes=r.classes[:n], seed=r.seed
            )
            for r in runs
        ]
        f1 = f1_interval(prefix)
        lines.append(
            f"N={n}: F1 {f1.f1:.4f} (95% CI {f1.ci95[0]:.4f} .. {f1.ci95[1]:.4f}), "
            f"resolution {f1_resolution(prefix):.2f}%"
        )
    meta = provenance("none (F1 only)", "measured", runs=str(args.runs))
    text = "\n".join([*(f"# {k}: {v}" for k, v in meta.items()), *lines]) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
