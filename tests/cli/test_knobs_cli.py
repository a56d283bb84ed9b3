"""``greensearch knobs`` on faked hardware: emulated precision stays available, with a note."""

from __future__ import annotations

from greensearch.cli._knobs import knob_rows, render
from tests.machines import fake_machine

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
