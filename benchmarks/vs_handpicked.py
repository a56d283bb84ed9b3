"""Does the search beat hand-picking? The main command's oracle against a practitioner's stack.

A practitioner with a knob ranking stacks every knob that saved energy alone without a
confident F1 loss. The ranking used here is the one the search itself paid for: the seed
trials of a finished ``greensearch optimize`` study (every knob alone, at the search's
fidelity, with its paired ΔF1 verdict against the seeded baseline), so both sides start
from the same evidence. Where two picked knobs conflict, the larger saver stays.

An expert's stacks (``--expert``; by default the two of issue 21: the measured
landscape's cheapest feasible bundle and ``layer_prune=2:top,precision=bf16,seq_len=128``)
are measured too; a stack with a precision this machine only emulates is left out and
said so (bf16 costs about 9x where it is emulated).

Then the baseline, the hand-picked stack, the expert's stacks and the study's oracle (as
the search's own result names it; where it confirmed none, its best bet, said so) run at
full fidelity in rounds (each once per round, seed ``study.seed + r``), so drift hits all
alike. Printed: ΔEnergy (the finals' rule:
mean log-ratio over rounds, 95 % t interval), ΔF1 with its paired-bootstrap 95 % interval
over seeds and test examples, the verdict at 95 % confidence, and last the ratio of the
oracle's energy to the hand-picked stack's and to the best feasible expert stack's. The
search must not lose: a ratio <= 1.0, or a stack that is not feasible. Results go to
``benchmarks/results/vs_handpicked.csv`` (every run) and ``vs_handpicked.txt`` (the table)
with machine, meter, method, command and code version on top.

Usage::

    greensearch optimize --budget-f1 -1%          # first: the study it reads
    python benchmarks/vs_handpicked.py            # then, alone on the machine
    python benchmarks/vs_handpicked.py --quick    # tiny study, fixed bundles: a smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, provenance, quick_study, write_csv
from greensearch.config import StudyConfig, load_study
from greensearch.energy import make_meter, measure_idle_power
from greensearch.knobs import Bundle, default_registry, parse_bundle
from greensearch.pipeline import run_variant, summarize
from greensearch.record import attrs_of, completed_at
from greensearch.schema import stored_budget_f1_pct
from greensearch.search._f1_judging import verdict_of
from greensearch.stats import F1Verdict, RunPredictions, delta_f1, energy_delta, judge


def hand_picked(trials: list[Any], registry: Any) -> Bundle:
    """Every single knob that saved energy without a confident F1 loss, stacked."""
    singles = []
    for t in trials:
        a = attrs_of(t)
        if a.get("phase") != "single" or not a.get("knobs"):
            continue
        saves = (a.get("delta_energy_pct") or 0.0) < 0
        if saves and verdict_of(a) is not F1Verdict.INFEASIBLE and not a.get("degenerate"):
            singles.append((a["delta_energy_pct"], parse_bundle(a["knobs"])))
    stack: Bundle = {}
    for _, bundle in sorted(singles, key=lambda s: s[0]):  # largest saver first
        ((name, value),) = bundle.items()
        knob = registry.get(name)
        if any(other in knob.conflicts or name in registry.get(other).conflicts for other in stack):
            continue
        stack[name] = value
    return stack


def _rounds(
    study: StudyConfig, variants: dict[str, Bundle], repeats: int, meter: Any
) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
    for r in range(repeats):
        for name, bundle in variants.items():
            summary = run_variant(
                study, bundle, repeats=1, meter=meter, first_repeat=r, variant=f"{name}-r{r + 1}"
            )
            records[name].append(summary["runs"][0])
            run = summary["runs"][0]
            print(
                f"round {r + 1}/{repeats} {name}: {run['energy_kwh'] * 1000:.3f} Wh, "
                f"{run['duration_s']:.0f} s, F1 {run['metrics']['f1']:.4f} (seed {run['seed']})",
                file=sys.stderr,
                flush=True,
            )
    return records


def compare(records: dict[str, list[dict[str, Any]]], budget_pct: float) -> list[dict[str, Any]]:
    """One row per variant against the baseline: energy paired by round, F1 paired by example."""
    base = records["baseline"]
    base_preds = [RunPredictions.from_run_record(r) for r in base]
    rows = []
    for name, runs in records.items():
        summary = summarize(runs)
        # the finals' rule: the mean log-ratio over rounds, with its t interval
        e = energy_delta([b["energy_kwh"] for b in base], [r["energy_kwh"] for r in runs])
        low, high = e.ci95_pct or (None, None)
        preds = [RunPredictions.from_run_record(r) for r in runs]
        d = delta_f1(base_preds, preds, budget_pct=budget_pct)  # type: ignore[arg-type]
        rows.append(
            {
                "variant": name,
                "knobs": runs[0]["knobs"],
                "energy_wh": summary["energy_kwh"] * 1000,
                "delta_energy_pct": e.delta_pct,
                "delta_energy_ci95": (low, high),
                "f1": summary["metrics"]["f1"],
                "delta_f1_pct": d.mean_pct,
                "delta_f1_ci95": d.ci95_pct,
                "p_within_budget": d.p_within_budget,
                "verdict": judge(d, degenerate=summary["metrics"]["degenerate"]).value,
                "seeds": [r["seed"] for r in runs],
            }
        )
    return rows


def _fmt(rows: list[dict[str, Any]], budget_pct: float) -> list[str]:
    lines = [f"F1 budget -{budget_pct:g}%, 95% confidence; ΔEnergy paired by round"]
    for r in rows:
        if r["variant"] == "baseline":
            lines.append(f"baseline: {r['energy_wh']:.3f} Wh, F1 {r['f1']:.4f}, seeds {r['seeds']}")
            continue
        lo, hi = r["delta_energy_ci95"]
        flo, fhi = r["delta_f1_ci95"]
        energy_ci = "one round: no CI" if lo is None else f"95% CI {lo:+.1f}% .. {hi:+.1f}%"
        lines.append(
            f"{r['variant']} ({r['knobs']}): {r['energy_wh']:.3f} Wh, ΔEnergy "
            f"{r['delta_energy_pct']:+.1f}% ({energy_ci}), ΔF1 "
            f"{r['delta_f1_pct']:+.2f}% (95% CI {flo:+.2f}% .. {fhi:+.2f}%, "
            f"P(within budget) {100 * r['p_within_budget']:.0f}%): {r['verdict']}"
        )
    by = {r["variant"]: r for r in rows}
    answer = "oracle" if "oracle" in by else "best bet"
    if answer != "oracle":
        lines.append("the study confirmed no oracle: its best bet (not confirmed) stands in")
    ratio = by[answer]["energy_wh"] / by["hand-picked"]["energy_wh"]
    holds = ratio <= 1.0 or by["hand-picked"]["verdict"] != "feasible"
    lines.append(
        f"{answer} energy / hand-picked energy: {ratio:.3f} "
        f"({'the search does not lose' if holds else 'the search LOSES to hand-picking'})"
    )
    experts = [r for r in rows if r["variant"].startswith("expert") and r["verdict"] == "feasible"]
    if experts:
        best = min(experts, key=lambda r: r["energy_wh"])
        ratio = by[answer]["energy_wh"] / best["energy_wh"]
        lines.append(
            f"{answer} energy / best feasible expert stack ({best['knobs']}): {ratio:.3f} "
            f"({'the search does not lose' if ratio <= 1.0 else 'the search LOSES to the expert'})"
        )
    else:
        lines.append("no expert stack is confirmed feasible here: the search cannot lose to one")
    return lines


#: An expert's stacks (issue 21): the measured landscape's cheapest feasible bundle, and
#: the stack the AMD machine's main command found.
EXPERT = (
    "attention=sdpa,fast_tokenizer,layer_prune=2:top,seq_len=96",
    "layer_prune=2:top,precision=bf16,seq_len=128",
)


def expert_stacks(stacks: list[str], registry: Any) -> tuple[dict[str, Bundle], list[str]]:
    """The expert's stacks this machine runs natively, and a note for each left out."""
    from greensearch.machine import describe_machine

    here = describe_machine()
    kept: dict[str, Bundle] = {}
    notes = []
    for i, text in enumerate(stacks, start=1):
        bundle = parse_bundle(text)
        dtype = str(bundle.get("precision", ""))
        if dtype and here.native(dtype) is False:
            notes.append(f"expert stack {text} left out: {here.emulation_note(dtype)}")
            continue
        kept[f"expert-{i}"] = bundle
    return kept, notes


def study_answer(ostudy: Any) -> tuple[str, Bundle] | None:
    """The study's own answer: ``("oracle", …)`` confirmed (Holm at each look), else
    ``("best bet", …)``, the cheapest unconfirmed finalist within the budget on its point
    estimate (what a user would run if they took the risk), else ``None``."""
    from greensearch.search._result import build_result

    result = build_result(
        ostudy,
        fidelity=float(ostudy.user_attrs["fidelity"]),
        budget_f1_pct=stored_budget_f1_pct(ostudy.user_attrs) or -1.0,
    )
    if result.oracle is not None:
        return "oracle", parse_bundle(result.oracle.knobs)
    if result.not_confirmed is not None:
        return "best bet", parse_bundle(result.not_confirmed.row["knobs"])
    return None


def main() -> int:
    """Pick, measure in rounds, compare, write the results."""
    import optuna

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--study-name", default="default-f1-1")
    p.add_argument("--storage", default="sqlite:///studies/default-f1-1.db")
    p.add_argument("--repeats", type=int, default=3, help="rounds (seeds) per variant")
    p.add_argument("--quick", action="store_true", help="smoke test on a tiny study (<2 min)")
    p.add_argument(
        "--expert",
        action="append",
        default=None,
        metavar="KNOBS",
        help="an expert's stack to measure too (repeatable; default the two of issue 21)",
    )
    args = p.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    registry = default_registry()
    if args.quick:
        study, answer, oracle_bundle, picked, budget = _quick(registry)
    else:
        ostudy = optuna.load_study(study_name=args.study_name, storage=args.storage)
        budget = -(stored_budget_f1_pct(ostudy.user_attrs) or 0.0)  # the loss, positive
        fidelity = float(ostudy.user_attrs["fidelity"])
        trials = completed_at(ostudy, fidelity)
        picked = hand_picked(trials, registry)
        found = study_answer(ostudy)
        if found is None:
            print("the study names no oracle and no best bet: nothing to compare", file=sys.stderr)
            return 1
        answer, oracle_bundle = found
        study = load_study(ostudy.user_attrs.get("study_file") or None)
    experts, notes = expert_stacks(args.expert or ([] if args.quick else list(EXPERT)), registry)
    for note in notes:
        print(note, file=sys.stderr)
    print(f"hand-picked: {registry.canonical(picked) or '(nothing saved alone)'}", file=sys.stderr)
    print(f"{answer}: {registry.canonical(oracle_bundle)}", file=sys.stderr)
    meter = make_meter("auto")
    measure_idle_power(meter)
    run_variant(study, {}, repeats=1, meter=meter)  # warm-up, not recorded
    variants = {"baseline": {}, "hand-picked": picked, **experts, answer: oracle_bundle}
    records = _rounds(study, variants, args.repeats, meter)
    meter.close()
    rows = compare(records, budget)
    lines = [*_fmt(rows, budget), *notes]
    method = records["baseline"][0]["meter"]["method"]
    meta = provenance(records["baseline"][0]["meter"]["name"], method, rounds=args.repeats)
    out = Path(tempfile.mkdtemp()) if args.quick else RESULTS
    write_csv(
        out / "vs_handpicked.csv",
        [
            {
                "variant": name,
                "round": i + 1,
                "seed": r["seed"],
                "knobs": r["knobs"],
                "energy_kwh": r["energy_kwh"],
                "duration_s": r["duration_s"],
                "f1": r["metrics"]["f1"],
                "degenerate": r["metrics"]["degenerate"],
            }
            for name, runs in records.items()
            for i, r in enumerate(runs)
        ],
        meta,
    )
    text = "\n".join([*(f"# {k}: {v}" for k, v in meta.items()), *lines]) + "\n"
    (out / "vs_handpicked.txt").write_text(text, encoding="utf-8")
    print("\n".join(lines))
    print(json.dumps({"written": str(out / "vs_handpicked.txt")}), file=sys.stderr)
    return 0


def _quick(registry: Any) -> tuple[StudyConfig, str, Bundle, Bundle, float]:
    """A tiny study and fixed bundles: exercises every step in about a minute."""
    study = quick_study(Path(tempfile.mkdtemp(prefix="vs-handpicked-quick-")))
    return study, "oracle", parse_bundle("seq_len=32"), parse_bundle("dynamic_padding"), 50.0


if __name__ == "__main__":
    raise SystemExit(main())
