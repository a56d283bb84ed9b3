"""Generator of ``vulnsynth``, the small C-vulnerability dataset shipped with greensearch.

Why: the default study must run offline in about a minute on two CPU cores, yet look like
the paper's BigVul task (C functions, ``func_before``/``vul`` columns, ~20% vulnerable).

Each row is one C function built from a bug-class template (:mod:`._templates`), either the
vulnerable form or its fixed twin, wrapped in random identifiers, brace styles, comments and
distractor statements; safe rows also include generic functions with no bug-class core.
Everything derives from one ``random.Random(seed)``, so the output is byte-identical per seed.

Regenerate the shipped files (``greensearch/data/embedded/``) with::

    python -m greensearch.data.synthetic            # or: --out DIR --seed N --rows N
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
from collections.abc import Sequence
from pathlib import Path

from greensearch.data._split import stratified_indices
from greensearch.data._templates import TEMPLATES, Ctx, Snippet, Stmt, distractor

__all__ = [
    "extra_test_rows",
    "generate",
    "main",
    "split_rows",
    "train_tokenizer",
    "write_embedded",
]

SEED = 20240917
N_ROWS = 4800
POSITIVE_RATE = 0.2
#: Share of bug-class rows that use a "hard" variant (risky API used safely, or vice versa).
HARD_RATE = 0.1
#: Share of safe rows that are a bug-class template's fixed twin (the rest are generic).
TWIN_RATE = 0.12
SPLIT_FRACTIONS = {"train": 0.7, "validation": 0.1, "test": 0.2}
#: Test rows added beyond the 20 % split, from a second seed, distinct from every other
#: row, at the same positive rate. Why: a ΔF1 between two models is judged on the test
#: examples, and its seed-to-seed noise shrinks about as 1/sqrt(test rows); the 20 % split
#: alone could not resolve the default -1 % budget with three seeds (the calibration is in
#: benchmarks/README.md). Train, validation and the tokenizer are unchanged by it.
EXTRA_TEST_ROWS = 1922
EXTRA_TEST_SEED = SEED + 1
VOCAB_SIZE = 4096
SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"

_VERBS = (
    "parse",
    "handle",
    "copy",
    "read",
    "load",
    "build",
    "format",
    "process",
    "init",
    "update",
    "decode",
    "encode",
    "render",
    "store",
    "fetch",
    "log",
    "send",
    "recv",
    "append",
    "set",
    "get",
    "scan",
    "apply",
    "check",
    "emit",
    "open",
    "free",
    "dump",
)
_NOUNS = (
    "header",
    "packet",
    "name",
    "path",
    "record",
    "entry",
    "buffer",
    "message",
    "token",
    "field",
    "config",
    "user",
    "session",
    "frame",
    "chunk",
    "label",
    "key",
    "value",
    "request",
    "reply",
    "attr",
    "option",
    "table",
    "line",
    "node",
    "cookie",
    "url",
)
_PREFIXES = (
    "",
    "",
    "net_",
    "cfg_",
    "xml_",
    "http_",
    "usb_",
    "fs_",
    "db_",
    "ui_",
    "snd_",
    "img_",
    "tls_",
    "dev_",
    "proto_",
    "util_",
    "ipc_",
    "vfs_",
    "rtp_",
    "json_",
)
_COMMENTS = (
    "/* bounds checked by caller */",
    "/* XXX: validate length */",
    "// copy into local buffer",
    "/* see RFC 3986 */",
    "/* TODO: handle errors */",
    "// fast path",
    "/* caller holds lock */",
    "/* FIXME: locale */",
    "/* keep in sync with header */",
    "// legacy behaviour",
    "/* safe: sized above */",
    "/* may return early */",
    "// NOTE: not thread safe",
)


def _func_name(rng: random.Random) -> str:
    verb, noun = rng.choice(_VERBS), rng.choice(_NOUNS)
    if rng.random() < 0.25:
        return f"{verb}{noun.capitalize()}{rng.choice(('', 'Ex', '2', 'Impl'))}"
    return f"{rng.choice(_PREFIXES)}{verb}_{noun}{rng.choice(('', '', '_v2', '_int', 's'))}"


def _render_block(
    out: list[str], stmts: Sequence[Stmt], depth: int, sty: dict[str, str], rng: random.Random
) -> None:
    """Append C lines for ``stmts`` at ``depth`` in the brace style ``sty``."""
    ind = sty["indent"]
    for st in stmts:
        pad = ind * depth
        if isinstance(st, str):
            if st.endswith(":") and not st.startswith(("case", "default")):
                out.append(st)  # goto label, flush left
            else:
                if rng.random() < 0.06 and not st.startswith(" "):
                    out.append(pad + rng.choice(_COMMENTS))
                out.append(pad + st)
            continue
        head = st.head.replace("if (", sty["if"]).replace("for (", sty["for"])
        head = head.replace("while (", sty["while"])
        single = len(st.body) == 1 and isinstance(st.body[0], str) and st.tail is None
        if single and head.startswith("if") and rng.random() < 0.3:
            body0 = st.body[0]
            assert isinstance(body0, str)
            if rng.random() < 0.5:
                out.append(f"{pad}{head} {body0}")
            else:
                out += [pad + head, pad + ind + body0]
            continue
        if sty["brace"] == "allman":
            out += [pad + head, pad + "{"]
        else:
            out.append(f"{pad}{head} {{")
        _render_block(out, st.body, depth + 1, sty, rng)
        out.append(f"{pad}}} {st.tail}" if st.tail else pad + "}")


def _render(sn: Snippet, fname: str, rng: random.Random) -> str:
    """Lay out one function with a random style: indentation, braces, spacing, comments."""
    kw = rng.random() < 0.8
    sty = {
        "indent": rng.choice(("    ", "    ", "\t", "  ", "        ")),
        "brace": rng.choice(("kr", "kr", "allman")),
        "if": "if (" if kw else "if(",
        "for": "for (" if kw else "for(",
        "while": "while (" if kw else "while(",
    }
    ret = sn.ret if sn.ret.endswith("*") else sn.ret + " "
    static = "static " if rng.random() < 0.5 else ""
    params = ", ".join(sn.params) or "void"
    lines: list[str] = []
    if rng.random() < 0.25:
        lines.append(f"/* {fname}: {rng.choice(_VERBS)} the {rng.choice(_NOUNS)} */")
    if rng.random() < 0.3:
        lines += [f"{static}{ret.rstrip()}", f"{fname}({params})"]
    else:
        lines.append(f"{static}{ret}{fname}({params})")
    if sty["brace"] == "allman" or rng.random() < 0.7:
        lines.append("{")
    else:
        lines[-1] += " {"
    _render_block(lines, sn.body, 1, sty, rng)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _n_distractors(rng: random.Random) -> int:
    """Mostly a few, sometimes many: gives a long tail of function lengths."""
    u = rng.random()
    if u < 0.65:
        return rng.randint(0, 2)
    if u < 0.93:
        return rng.randint(2, 5)
    return rng.randint(6, 14)


def _one(rng: random.Random, vul: bool) -> dict[str, object]:
    ctx = Ctx(rng)
    if vul or rng.random() < TWIN_RATE:
        bug = rng.choice(sorted(TEMPLATES))
        sn = TEMPLATES[bug](ctx, vul, rng.random() < HARD_RATE)
        n_extra = _n_distractors(rng)
    else:
        bug = "generic"
        sn = Snippet("int", [f"int {ctx.name('int')}"], ["return 0;"], "none", False)
        n_extra = _n_distractors(rng) + 2
    groups: list[list[Stmt]] = [[st] for st in sn.body]
    for _ in range(n_extra):  # never after the final return, never inside another distractor
        groups.insert(rng.randint(0, max(len(groups) - 1, 0)), distractor(ctx, sn.ret))
    sn.body = [st for g in groups for st in g]
    text = _render(sn, _func_name(rng), rng)
    return {"func_before": text, "vul": int(vul), "bug_class": bug if vul else "none"}


def generate(
    n_rows: int = N_ROWS, *, seed: int = SEED, positive_rate: float = POSITIVE_RATE
) -> list[dict[str, object]]:
    """Generate ``n_rows`` distinct labelled C functions.

    Args:
        n_rows: number of rows (functions) to return.
        seed: seeds everything; the same seed gives identical rows.
        positive_rate: share of vulnerable rows (exactly ``round(n_rows * positive_rate)``).

    Returns:
        Rows with ``func_before`` (str), ``vul`` (0/1) and ``bug_class`` ("none" if safe).
    """
    rng = random.Random(seed)
    n_pos = round(n_rows * positive_rate)
    labels = [True] * n_pos + [False] * (n_rows - n_pos)
    rng.shuffle(labels)
    rows: list[dict[str, object]] = []
    seen: set[object] = set()
    for vul in labels:
        row = _one(rng, vul)
        while row["func_before"] in seen:
            row = _one(rng, vul)
        seen.add(row["func_before"])
        rows.append(row)
    return rows


def split_rows(
    rows: Sequence[dict[str, object]], *, seed: int = SEED
) -> dict[str, list[dict[str, object]]]:
    """Split rows ~70/10/20 stratified by bug class (and so by label)."""
    parts = stratified_indices(
        [r["bug_class"] for r in rows], list(SPLIT_FRACTIONS.values()), seed=seed
    )
    return {name: [rows[i] for i in idx] for name, idx in zip(SPLIT_FRACTIONS, parts, strict=True)}


def extra_test_rows(
    rows: Sequence[dict[str, object]], n: int = EXTRA_TEST_ROWS, *, seed: int = EXTRA_TEST_SEED
) -> list[dict[str, object]]:
    """``n`` more test rows from ``seed``, none equal to a row of ``rows``, shuffled.

    Exactly ``round(n * POSITIVE_RATE)`` of them are vulnerable, as in every split.
    """
    seen = {r["func_before"] for r in rows}
    fresh = [r for r in generate(2 * n, seed=seed) if r["func_before"] not in seen]
    n_pos = round(n * POSITIVE_RATE)
    pos = [r for r in fresh if r["vul"]][:n_pos]
    neg = [r for r in fresh if not r["vul"]][: n - n_pos]
    if len(pos) + len(neg) < n:
        raise ValueError(f"only {len(pos) + len(neg)} distinct extra rows for {n}")
    out = pos + neg
    random.Random(seed).shuffle(out)
    return out


def train_tokenizer(texts: Sequence[str], *, vocab_size: int = VOCAB_SIZE) -> str:
    """Train a byte-level BPE on ``texts`` and return its ``tokenizer.json`` text.

    ``[PAD]`` is id 0 and a post-processor wraps every sequence in ``[CLS] ... [SEP]``.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer=trainer)
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return tok.to_str(pretty=False)


def _jsonl_gz(rows: Sequence[dict[str, object]]) -> bytes:
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def write_embedded(
    out_dir: Path = EMBEDDED_DIR, *, seed: int = SEED, n_rows: int = N_ROWS
) -> dict[str, int]:
    """Write the three ``vulnsynth-<split>.jsonl.gz`` files and ``tokenizer.json``.

    Returns:
        Row count per split.
    """
    rows = generate(n_rows, seed=seed)
    splits = split_rows(rows, seed=seed)
    splits["test"] = splits["test"] + extra_test_rows(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in splits.items():
        (out_dir / f"vulnsynth-{name}.jsonl.gz").write_bytes(_jsonl_gz(rows))
    texts = [str(r["func_before"]) for r in splits["train"]]
    (out_dir / "tokenizer.json").write_text(train_tokenizer(texts), encoding="utf-8")
    return {name: len(rows) for name, rows in splits.items()}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: regenerate the embedded dataset and tokenizer."""
    parser = argparse.ArgumentParser(
        prog="python -m greensearch.data.synthetic",
        description="Regenerate the embedded vulnsynth dataset.",
    )
    parser.add_argument("--out", type=Path, default=EMBEDDED_DIR, help="output directory")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rows", type=int, default=N_ROWS)
    args = parser.parse_args(argv)
    counts = write_embedded(args.out, seed=args.seed, n_rows=args.rows)
    print(json.dumps({"out": str(args.out), "rows": counts}))
    return 0
