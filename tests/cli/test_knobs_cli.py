"""``greensearch knobs``: the registry as JSON and as a table, in registry order."""

from __future__ import annotations

import json

import pytest

from greensearch.cli import main
from greensearch.knobs import default_registry


def test_knobs_json_lists_every_knob_with_its_declaration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["knobs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [k.name for k in default_registry()]
    seq_len = next(r for r in rows if r["name"] == "seq_len")
    assert {k: seq_len[k] for k in ("stage", "targets", "costs", "search_values")} == {
        "stage": "data",
        "targets": ["compute", "memory"],
        "costs": [],
        "search_values": ["128", "96"],
    }
    assert seq_len["params"] == [
        {"name": "tokens", "type": "int", "default": 128, "choices": None, "low": 8, "high": 32768}
    ]
    assert seq_len["available"] is True and seq_len["reason"] is None
    precision = next(r for r in rows if r["name"] == "precision")
    assert precision["params"][0]["choices"] == ["fp16", "bf16"]
    # availability is this machine's, but it is always either available or explained
    assert all(r["available"] or r["reason"] for r in rows)


def test_knobs_table_has_one_line_per_knob(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["knob", "stage", "targets", "params", "available", "here"]
    body = lines[2:]  # after the header and its rule
    assert [line.split()[0] for line in body] == [k.name for k in default_registry()]
    seq_len = next(line for line in body if line.startswith("seq_len "))
    assert seq_len.split()[:4] == ["seq_len", "data", "compute,memory", "TOKENS"]
