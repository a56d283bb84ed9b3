"""``greensearch knobs``: the registry as JSON and as a table, in registry order, with the
machine first; on faked hardware, emulated precision stays available, with a note."""

from __future__ import annotations

import json

import pytest

from greensearch.cli import main
from greensearch.cli._knobs import knob_rows, render
from greensearch.cli._render import machine_line
from greensearch.knobs import default_registry
from greensearch.machine import describe_machine
from tests.machines import fake_machine


def test_knobs_json_lists_every_knob_with_its_declaration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["knobs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [k.name for k in default_registry()]
    seq_len = next(r for r in rows if r["name"] == "seq_len")
    keys = ("phase", "stage", "targets", "costs", "search_values")
    assert {k: seq_len[k] for k in keys} == {
        "phase": "data",
        "stage": "data",  # the old key, kept: the same phase
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
    assert [(r["phase"], r["stage"]) for r in rows] == [
        (k.phase, k.phase) for k in default_registry()
    ]
    assert {r["name"]: r["phase"] for r in rows}["power_limit"] == "system"
    # the windows each knob's work changes: what the search shares across runs
    by_name = {r["name"]: r for r in rows}
    assert seq_len["windows"] is None and seq_len["value_windows"] == {}
    assert by_name["optimizer"]["windows"] == ["train"]
    assert by_name["quantization"]["value_windows"] == {"int8": ["eval"]}
    # which knobs train the same model (the guide values them as energy on a known model)
    assert by_name["attention"]["numerics"] is False and by_name["seq_len"]["numerics"] is True
    same_model = {name for name, k in by_name.items() if not k["numerics"]}
    assert same_model == {
        "attention",
        "dataloader_workers",
        "dynamic_padding",
        "fast_tokenizer",
        "grad_checkpointing",
        "pin_memory",
        "power_limit",
    }


def test_knobs_table_has_one_line_per_knob(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["knobs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"machine: {machine_line(describe_machine().to_dict())}"
    assert lines[1].split() == ["knob", "phase", "targets", "params", "available", "here"]
    body = lines[3:]  # after the machine, the header and its rule
    assert [line.split()[0] for line in body] == [k.name for k in default_registry()]
    seq_len = next(line for line in body if line.startswith("seq_len "))
    assert seq_len.split()[:4] == ["seq_len", "data", "compute,memory", "TOKENS"]


_NOTE = "bf16 emulated on this CPU: expect a cost"


def _precision(rows):
    return next(r for r in rows if r["name"] == "precision")


def test_bf16_is_marked_emulated_on_an_avx2_only_cpu(tmp_path, capsys):
    rows = knob_rows(fake_machine(tmp_path))  # AVX2, no avx512_bf16 / amx_bf16
    row = _precision(rows)
    assert row["available"] is True
    assert row["emulated_values"]["bf16"] == _NOTE
    render(rows)
    line = next(s for s in capsys.readouterr().out.splitlines() if s.startswith("precision"))
    assert "yes" in line and line.endswith("; " + _NOTE)


def test_no_note_where_the_cpu_has_native_bf16(tmp_path, capsys):
    rows = knob_rows(fake_machine(tmp_path, extra="avx512f avx512_bf16"))
    assert _precision(rows)["emulated_values"] == {}
    render(rows)
    assert "emulated" not in capsys.readouterr().out
