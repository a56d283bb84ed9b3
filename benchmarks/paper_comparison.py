"""Does our knob ranking agree with the paper's? Side by side, with Spearman's rho.

Reads a ranking written by ``knob_ranking.py`` (ΔEnergy of each knob alone against the
baseline) and the paper's Table I, pairs each of our knobs with the Table I row that ran
the same knob *alone* (the ``code_bundle`` column: what the paper's code really ran), and
prints both ΔEnergy columns, the ranks, and Spearman's rank correlation.

Pairing rules (``PAPER_ROW``):

* Rows whose code ran more than the named knob are left out, and the output says so:
  V2 (LoRA also switched on bf16), V3 (NF4 also LoRA, cosine schedule, length grouping),
  V10 (pin memory also fp16).
* Where the values differ, the pair is kept and marked ``same value: no``: the paper ran
  ModernBERT-base (22 layers, 2,048 tokens) on a GPU, the default study is a 6-layer,
  128-token model on a CPU, so ``seq_len`` trims a different share, ``layer_prune=2:top``
  (a third of 6 layers) is paired with V15 (8 of 22 layers, top), ``precision=bf16`` with
  V7 (fp16), ``optimizer=adamw_torch_fused`` with V6 (adamw_8bit) and
  ``inference_engine=onnx`` with V9 (vLLM). rho is given over all pairs and over the
  same-value pairs only.

Usage::

    python benchmarks/paper_comparison.py                   # results/knob_ranking_cpu.csv
    python benchmarks/paper_comparison.py --ranking results/gpu/knob_ranking.csv --out F
    python benchmarks/paper_comparison.py --quick           # print only, write nothing
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import RESULTS, Transcript, provenance, read_csv, write_text
from benchmarks.landscape_paper import TABLE
from greensearch.knobs import parse_bundle

#: Our knob -> the Table I row that ran it alone, and whether the value is the same.
PAPER_ROW: dict[str, tuple[str, bool]] = {
    "grad_checkpointing": ("V1", True),
    "fast_tokenizer": ("V4", True),
    "optimizer": ("V6", False),
    "precision": ("V7", False),
    "seq_len": ("V8", False),
    "inference_engine": ("V9", False),
    "torch_compile": ("V11", True),
    "attention": ("V12", True),
    "layer_prune": ("V15", False),
}
#: Rows left out because their code ran more than their name says.
CONFOUNDED = {"lora": "V2", "quantization": "V3", "pin_memory": "V10"}


def compare(ranking: list[dict[str, str]], table: list[dict[str, str]]) -> list[dict[str, object]]:
    """Pair our single-knob rows with the paper's, with both ranks."""
    paper = {row["variant"]: row for row in table}
    pairs: list[dict[str, object]] = []
    for row in ranking:
        if not row["knobs"]:
            continue
        bundle = parse_bundle(row["knobs"])
        if len(bundle) != 1:
            continue
        (name,) = bundle
        if name not in PAPER_ROW:
            continue
        variant, same = PAPER_ROW[name]
        pairs.append(
            {
                "knob": row["knobs"],
                "ours_pct": float(row["delta_energy_pct"]),
                "paper_variant": variant,
                "paper_code": paper[variant]["code_bundle"],
                "paper_pct": float(paper[variant]["delta_total_pct"]),
                "same_value": same,
            }
        )
    return pairs


def spearman(pairs: list[dict[str, object]]) -> float:
    """Spearman's rank correlation of our and the paper's ΔEnergy (average ranks for ties)."""
    import pandas as pd

    if len(pairs) < 3:
        return float("nan")
    df = pd.DataFrame(pairs)
    return float(df["ours_pct"].rank().corr(df["paper_pct"].rank()))


def main(argv: list[str] | None = None) -> int:
    """Print the side-by-side table and rho; write them unless ``--quick``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ranking", type=Path, default=RESULTS / "knob_ranking_cpu.csv")
    p.add_argument("--table", type=Path, default=TABLE, help="the paper's table1.csv")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report (default results/paper_comparison_<ranking name>.txt)",
    )
    p.add_argument("--quick", action="store_true", help="print only, write nothing")
    args = p.parse_args(argv)
    for path in (args.ranking, args.table):
        if not path.is_file():
            print(
                f"error: {path} not found (run benchmarks/knob_ranking.py first?)", file=sys.stderr
            )
            return 2
    ranking, meta = read_csv(args.ranking)
    table, _ = read_csv(args.table)
    pairs = compare(ranking, table)
    out = Transcript()

    ours = sorted(pairs, key=lambda r: r["ours_pct"])
    rank_paper = {
        r["knob"]: i for i, r in enumerate(sorted(pairs, key=lambda r: r["paper_pct"]), 1)
    }
    out(
        f"ours: {args.ranking.name} (meter {meta.get('meter', '?')}, "
        f"{meta.get('method', '?')}, {meta.get('repeats', '?')} repeats, "
        f"{meta.get('machine', '?')}); paper: Table I ΔEnergy (CodeCarbon, GPU)"
    )
    out(
        f"{'our knob':<28} {'ours ΔE':>8} {'rank':>4}   {'paper row':<9} {'paper ΔE':>8} "
        f"{'rank':>4}  same value  paper code_bundle"
    )
    for i, r in enumerate(ours, 1):
        out(
            f"{r['knob']:<28} {r['ours_pct']:+7.1f}% {i:>4}   {r['paper_variant']:<9} "
            f"{r['paper_pct']:+7.1f}% {rank_paper[r['knob']]:>4}  "
            f"{'yes' if r['same_value'] else 'no':<10}  {r['paper_code']}"
        )
    same = [r for r in pairs if r["same_value"]]
    out(
        "left out (the paper's code ran more than the knob): "
        + ", ".join(f"{k} ({v})" for k, v in CONFOUNDED.items())
    )
    out(
        f"RHO spearman_all={spearman(pairs):.3f} (n={len(pairs)}) "
        f"spearman_same_value={spearman(same):.3f} (n={len(same)})"
    )
    if not args.quick:
        path = args.out or RESULTS / f"paper_comparison_{args.ranking.stem}.txt"
        write_text(
            path,
            out.text,
            provenance(
                meta.get("meter", "?"),
                meta.get("method", "?"),
                ranking=str(args.ranking),
                table=str(args.table),
            ),
        )
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
