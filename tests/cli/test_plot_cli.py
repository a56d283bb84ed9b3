from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from greensearch.cli import main

TABLE1 = Path(__file__).parents[1] / "analysis" / "data" / "table1.csv"


def _rows() -> dict[str, dict[str, str]]:
    with TABLE1.open(newline="") as fh:
        return {row["variant"]: row for row in csv.DictReader(fh)}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_plot_json_puts_each_variant_in_the_quadrant_its_numbers_imply(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(capsys, "plot", "--csv", str(TABLE1), "--stage", "eval", "--json")
    assert code == 0, err
    doc = json.loads(out)
    rows = _rows()
    assert doc["stage"] == "eval" and doc["time_basis"] == "eval"
    assert len(doc["points"]) == len(rows) == 31
    base_eval = float(rows["V0"]["eval_kwh"])
    for point in doc["points"]:
        row = rows[point["variant"]]
        dt = float(row["delta_eval_time_pct"])
        de = (float(row["eval_kwh"]) / base_eval - 1) * 100
        if point["variant"] == "V0":
            expected = "baseline"
        elif dt < 0 and de < 0:
            expected = "both_down"
        elif dt > 0 and de > 0:
            expected = "both_up"
        else:
            expected = "mixed"
        assert point["quadrant"] == expected, point["variant"]
        assert point["delta_time_pct"] == pytest.approx(dt)
        assert point["delta_energy_pct"] == pytest.approx(de)
    assert doc["oracle"] == "V21"


@pytest.mark.parametrize(
    "spelling", [["--budget-f1", "-1%"], ["--budget-f1=-0.5%"], ["--budget-f1", "5%"]]
)
def test_budget_spellings(capsys: pytest.CaptureFixture[str], spelling: list[str]) -> None:
    code, out, err = _run(
        capsys, "plot", "--csv", str(TABLE1), "--kind", "frontier", "--json", *spelling
    )
    assert code == 0, err
    doc = json.loads(out)
    budget = abs(float(spelling[-1].split("=")[-1].rstrip("%")))
    assert doc["budget_f1_pct"] == -budget  # the user's sign, however it was typed
    feasible = {p["variant"] for p in doc["points"] if p["feasible"]}
    rows = _rows()
    assert feasible == {v for v, r in rows.items() if float(r["delta_f1_pct"]) >= -budget}


def test_outputs_are_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out_html = tmp_path / "stages.html"
    code, out, _ = _run(
        capsys,
        "plot",
        "--csv",
        str(TABLE1),
        "--kind",
        "stages",
        "--variants",
        "V0,V26",
        "-o",
        str(out_html),
    )
    assert code == 0 and out.strip() == f"wrote {out_html}"
    assert "Plotly.newPlot" in out_html.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--budget-f1", "1"], "bad F1 budget '1'"),
        (["--csv", "missing.csv"], "CSV file 'missing.csv' not found"),
        (["--stage", "total"], None),  # sanity: valid options still run
    ],
)
def test_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str | None
) -> None:
    base = ["plot", "--csv", str(TABLE1), "--json"]
    code, _, err = _run(capsys, *base, *argv)
    if message is None:
        assert code == 0
        return
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("greensearch: error: ")
    assert message in err


def test_missing_column_subprocess_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.read_csv(TABLE1).drop(columns=["delta_f1_pct"]).to_csv(bad, index=False)
    proc = subprocess.run(
        [sys.executable, "-m", "greensearch.cli", "plot", "--csv", str(bad), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        f"greensearch: error: {bad}: missing column(s) delta_f1_pct; expected the paper's "
        "Table I format (`greensearch plot --help` lists its columns)"
    ]


def test_nothing_to_do_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "plot", "--csv", str(TABLE1))
    assert code == 2 and "nothing to do" in err


def test_png_without_chromium_exits_2_and_leaves_no_html(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from greensearch.analysis import _plots

    monkeypatch.setattr(_plots, "find_chromium", lambda: None)
    html, png = tmp_path / "f.html", tmp_path / "f.png"
    code, _, err = _run(capsys, "plot", "--csv", str(TABLE1), "-o", str(html), "--png", str(png))
    assert code == 2
    assert err.startswith("greensearch: error: ") and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
