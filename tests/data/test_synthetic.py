"""Tests for the vulnsynth generator and the files it shipped."""

from __future__ import annotations

import gzip
import json
import re
import statistics
from pathlib import Path

import pytest

from greensearch.data import _synthetic as synth
from greensearch.data._split import stratified_indices
from greensearch.data._templates import TEMPLATES

EMBEDDED = Path(synth.__file__).parent / "embedded"
_FUNC_NAME = re.compile(r"(\w+)\((?:const |struct |char |int |size_t |FILE |void)")


def _rows(split: str) -> list[dict[str, object]]:
    with gzip.open(EMBEDDED / f"vulnsynth-{split}.jsonl.gz", "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_same_seed_gives_identical_rows_and_other_seed_differs() -> None:
    a, b = synth.generate(300, seed=7), synth.generate(300, seed=7)
    c = synth.generate(300, seed=8)
    assert a == b
    assert sum(x != y for x, y in zip(a, c, strict=True)) > 250


def test_positive_rate_is_exact_and_columns_match_bigvul() -> None:
    rows = synth.generate(1000, seed=3)
    assert sum(int(r["vul"]) for r in rows) == 200
    assert {tuple(sorted(r)) for r in rows} == {("bug_class", "func_before", "vul")}
    assert all((r["bug_class"] == "none") == (r["vul"] == 0) for r in rows)


def test_every_bug_class_appears_in_vulnerable_rows() -> None:
    rows = synth.generate(1000, seed=3)
    assert {r["bug_class"] for r in rows if r["vul"] == 1} == set(TEMPLATES)


def test_rows_are_distinct_with_varied_identifiers() -> None:
    rows = synth.generate(1000, seed=3)
    texts = [str(r["func_before"]) for r in rows]
    assert len(set(texts)) == 1000
    names = {m.group(1) for t in texts if (m := _FUNC_NAME.search(t))}
    assert len(names) > 600


@pytest.mark.parametrize("bug", sorted(TEMPLATES))
def test_vulnerable_and_fixed_twins_differ(bug: str) -> None:
    import random

    from greensearch.data._templates import Ctx

    for hard in (False, True):
        vul = TEMPLATES[bug](Ctx(random.Random(5)), True, hard)
        safe = TEMPLATES[bug](Ctx(random.Random(5)), False, hard)
        assert (vul.vul, safe.vul, vul.bug_class) == (True, False, bug)
        assert vul.body != safe.body


def test_shipped_files_equal_a_regeneration(tmp_path: Path) -> None:
    counts = synth.write_embedded(tmp_path, n_rows=synth.N_ROWS)
    for name in (
        "vulnsynth-train.jsonl.gz",
        "vulnsynth-validation.jsonl.gz",
        "vulnsynth-test.jsonl.gz",
        "tokenizer.json",
    ):
        assert (tmp_path / name).read_bytes() == (EMBEDDED / name).read_bytes(), name
    assert counts == {"train": 3360, "validation": 479, "test": 961 + synth.EXTRA_TEST_ROWS}


def test_shipped_splits_are_stratified_and_disjoint() -> None:
    splits = {s: _rows(s) for s in ("train", "validation", "test")}
    assert sum(map(len, splits.values())) == synth.N_ROWS + synth.EXTRA_TEST_ROWS
    for rows in splits.values():
        rate = sum(int(r["vul"]) for r in rows) / len(rows)
        assert 0.18 < rate < 0.22
    texts = [{str(r["func_before"]) for r in rows} for rows in splits.values()]
    assert not (texts[0] & texts[1] or texts[0] & texts[2] or texts[1] & texts[2])


def test_shipped_tokenizer_special_tokens_and_lengths() -> None:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(EMBEDDED / "tokenizer.json"))
    ids = [tok.token_to_id(t) for t in synth.SPECIAL_TOKENS]
    assert ids == [0, 1, 2, 3, 4]
    enc = tok.encode("strcpy(buf, src);")
    assert (enc.tokens[0], enc.tokens[-1]) == ("[CLS]", "[SEP]")
    lengths = sorted(len(tok.encode(str(r["func_before"])).ids) for r in _rows("test"))
    assert 90 <= statistics.median(lengths) <= 160
    over_256 = sum(n > 256 for n in lengths) / len(lengths)
    assert 0.02 < over_256 < 0.2  # a max_length trim costs something, but rarely


def test_stratified_indices_keep_label_shares_and_cover_all_rows() -> None:
    labels = [0] * 80 + [1] * 20
    parts = stratified_indices(labels, [0.8, 0.1, 0.1], seed=1)
    assert [len(p) for p in parts] == [80, 10, 10]
    assert [sum(labels[i] for i in p) for p in parts] == [16, 2, 2]
    assert sorted(i for p in parts for i in p) == list(range(100))
    assert parts == stratified_indices(labels, [0.8, 0.1, 0.1], seed=1)
    assert parts != stratified_indices(labels, [0.8, 0.1, 0.1], seed=2)


def test_stratified_indices_give_each_part_a_row_of_a_small_class() -> None:
    parts = stratified_indices([0] * 7 + [1] * 3, [0.8, 0.1, 0.1], seed=0)
    assert [sorted({0 if i < 7 else 1 for i in p}) for p in parts] == [[0, 1]] * 3


def test_extra_test_rows_are_new_and_keep_the_positive_rate() -> None:
    rows = synth.generate(200, seed=1)
    extra = synth.extra_test_rows(rows, 50, seed=2)
    assert len(extra) == 50 and sum(int(r["vul"]) for r in extra) == 10  # round(50 * 0.2)
    texts = {r["func_before"] for r in extra}
    assert len(texts) == 50 and not texts & {r["func_before"] for r in rows}
