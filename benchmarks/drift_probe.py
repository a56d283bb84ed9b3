"""Can a one-second fixed-work probe take this machine's drift out of a short run?

Issue 21 item 4 asks which drift correction works. Anchors (``--anchor-every``) cost a
baseline run each; a probe (a fixed matrix-multiply loop timed just before and after a
run) would cost about a second. This runs the baseline at the search fidelity ``--runs``
times with the same seed (identical work: every difference is the machine), probes
around each run, and prints whether scaling each run's extrapolated energy by
``mean probe / its probe`` narrows their spread, and how the stage windows co-vary (a
stage a knob leaves alone could anchor the others only if they move together).

It also prints what sharing windows would leave of the spread (:func:`shared_report`): a
knob that leaves the eval, validate and tokenize windows' work alone (a training knob)
could be compared with the baseline on its train window only, those windows estimated
from every run that did the same work; and the train window scaled by the run's own
tokenize window (which drift moves too). ``--reanalyse FILE`` recomputes the report from
a result file's stored runs, measuring nothing.

One unrecorded warm-up run first. Nothing else may run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, quick_study, write_text

WINDOWS = ("train", "eval", "validate", "tokenize")


def probe(iters: int) -> float:
    """Seconds a fixed loop of 384x384 matrix products and GELUs takes now."""
    import torch

    a, b, x = torch.randn(384, 384), torch.randn(384, 384), torch.randn(64, 2048)
    start = time.perf_counter()
    for _ in range(iters):
        a = (a @ b) * 1e-3 + a
        x = torch.nn.functional.gelu(x * 1.01)
    return time.perf_counter() - start


def _cv(xs: list[float]) -> float:
    return statistics.stdev(xs) / statistics.mean(xs) * 100


def _corr(xs: list[float], ys: list[float]) -> float:
    return statistics.correlation([math.log(v) for v in xs], [math.log(v) for v in ys])


def report(rows: list[dict[str, Any]]) -> list[str]:
    """The spread of the runs' energy, raw and probe-corrected, and how windows co-vary."""
    energy = [r["energy_kwh"] for r in rows]
    lines = [f"extrapolated energy of identical runs: CV {_cv(energy):.2f} % over {len(rows)}"]
    for name, key in (("probe before", "probe_before_s"), ("mean of both probes", "probe_s")):
        p = [r[key] for r in rows]
        fixed = [e * statistics.mean(p) / q for e, q in zip(energy, p, strict=True)]
        lines.append(
            f"  corrected by the {name}: CV {_cv(fixed):.2f} % "
            f"(corr of log energy with log probe {_corr(energy, p):+.2f})"
        )
    keys = [f"{w}_s" for w in WINDOWS] + ["probe_s"]
    lines.append("correlation of log window times (identical runs):")
    lines.append(" " * 12 + "".join(f"{k[:-2]:>10}" for k in keys))
    for a in keys:
        xs = [r[a] for r in rows]
        cells = "".join(f"{_corr(xs, [r[b] for r in rows]):>+10.2f}" for b in keys)
        lines.append(f"{a[:-2]:<12}{cells}   CV {_cv(xs):5.1f} %")
    return lines


def shared_report(rows: list[dict[str, Any]], fidelity: float) -> list[str]:
    """The spread of the runs' extrapolated time with shared windows at their means.

    Each window is extrapolated as the search does it (train by ``train_scale``, eval by
    ``eval_scale``; ``1 / fidelity`` where a row predates them). The tokenize anchor's
    exponent is fitted on the same runs (in-sample: an optimistic figure).
    """
    scale = {w: [r.get(f"{w}_scale", 1 / fidelity) for r in rows] for w in ("train", "eval")}
    train = [r["train_s"] * k for r, k in zip(rows, scale["train"], strict=True)]
    ev = [r["eval_s"] * k for r, k in zip(rows, scale["eval"], strict=True)]
    val, tok = [r["validate_s"] for r in rows], [r["tokenize_s"] for r in rows]
    own = [sum(w) for w in zip(train, ev, val, tok, strict=True)]
    m = {
        name: statistics.mean(xs)
        for name, xs in (("eval", ev), ("validate", val), ("tokenize", tok))
    }
    eval_shared = [t + m["eval"] + v + k for t, v, k in zip(train, val, tok, strict=True)]
    all_shared = [t + m["eval"] + m["validate"] + m["tokenize"] for t in train]
    log_tok = [math.log(x) for x in tok]
    slope = statistics.linear_regression(log_tok, [math.log(x) for x in train]).slope
    mean_tok = statistics.mean(tok)
    anchored = [t * (mean_tok / k) ** slope for t, k in zip(train, tok, strict=True)]
    anchored_all = [t + m["eval"] + m["validate"] + m["tokenize"] for t in anchored]
    share = statistics.mean(train) / statistics.mean(own)
    return [
        f"extrapolated time (train {100 * share:.0f} % of it, eval, validate, tokenize; "
        f"data and load left out): CV {_cv(own):.2f} %",
        f"  eval window shared (at its mean): CV {_cv(eval_shared):.2f} %",
        f"  eval, validate and tokenize shared: CV {_cv(all_shared):.2f} %",
        f"  and train scaled by its own tokenize window (exponent {slope:.2f}, fitted on "
        f"these runs): CV {_cv(anchored_all):.2f} %",
    ]


def _reanalyse(path: Path) -> int:
    """Print the report of a result file's stored runs (its header gives the fidelity)."""
    text = path.read_text(encoding="utf-8")
    rows = [json.loads(line) for line in text.splitlines() if line.startswith('{"run"')]
    fidelity = float(text.split("at fidelity ", 1)[1].split(",", 1)[0])
    for line in report(rows) + shared_report(rows, fidelity):
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--fidelity", type=float, default=0.25)
    parser.add_argument("--threads", type=int, default=2, help="torch threads (the search's)")
    parser.add_argument("--quick", action="store_true", help="tiny study, 3 runs, no file")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument(
        "--reanalyse", type=Path, default=None, help="report a result file's runs; run nothing"
    )
    args = parser.parse_args(argv)
    if args.reanalyse is not None:
        return _reanalyse(args.reanalyse)
    import tempfile

    import torch

    from greensearch.config import load_study
    from greensearch.energy import make_meter
    from greensearch.machine import describe_machine
    from greensearch.pipeline import run_variant
    from greensearch.search._extrapolate import extrapolate, window_scales

    torch.set_num_threads(args.threads)
    study = quick_study(Path(tempfile.mkdtemp(prefix="gs-probe-"))) if args.quick else load_study()
    runs = 3 if args.quick else args.runs
    meter = make_meter("auto")
    iters = 100
    for _ in range(3):  # warm the allocator and kernels, then size the loop to about 1 s
        iters = max(10, round(iters / max(probe(iters), 1e-3)))
    run_variant(study, {}, meter=meter, fidelity=args.fidelity, same_seed=True)  # warm-up
    rows: list[dict[str, Any]] = []
    for i in range(runs):
        before = probe(iters)
        summary = run_variant(study, {}, meter=meter, fidelity=args.fidelity, same_seed=True)
        after = probe(iters)
        stages = summary["stages"]
        row = {"run": i, "probe_before_s": before, "probe_after_s": after}
        row["probe_s"] = math.sqrt(before * after)
        row["energy_kwh"] = extrapolate(summary)[0]
        scales = window_scales(summary)
        row.update({f"{w}_scale": scales[w]["duration_s"] for w in ("train", "eval")})
        row.update({f"{w}_s": stages[w]["duration_s"] for w in WINDOWS})
        rows.append(row)
        print(json.dumps(row), flush=True)
    meter.close()
    kept = Transcript()
    kept(
        f"drift probe: {runs} identical baseline runs (same seed) of study {study.name} at "
        f"fidelity {args.fidelity:g}, {args.threads} torch threads, probe {iters} iterations",
        echo=False,
    )
    for line in report(rows) + shared_report(rows, args.fidelity):
        kept(line)
    kept("runs:", echo=False)
    for r in rows:
        kept(json.dumps(r), echo=False)
    if not args.quick:
        out = args.out or RESULTS / f"drift_probe_{describe_machine().fingerprint}.txt"
        write_text(out, kept.text, provenance(meter.name, meter.method))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
