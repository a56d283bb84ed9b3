from __future__ import annotations

import json
from pathlib import Path

import pytest

from greensearch.cli import main

TABLE1 = Path(__file__).parents[1] / "analysis" / "data" / "table1.csv"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_synergy_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "synergy", "--csv", str(TABLE1), "--json")
    assert code == 0, err
    doc = json.loads(out)
    bundles = {b["variant"]: b for b in doc["bundles"]}
    # 1 - (1 - .488)(1 - .466)(1 - .384): V18, V8, V11 measured alone
    assert bundles["V26"]["expected_saving_pct"] == pytest.approx((1 - 0.512 * 0.534 * 0.616) * 100)
    assert bundles["V26"]["verdict"] == "antagonistic"
    assert bundles["V25"]["verdict"] == "not_judgeable"
    assert bundles["V25"]["expected_saving_pct"] is None  # NaN becomes null
    assert doc["noise"]["method"] == "equivalent_pairs"
    assert doc["assume_neutral_unmeasured"] is False


def test_synergy_text_marks_assumed_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(
        capsys, "synergy", "--csv", str(TABLE1), "--assume-neutral", "--noise-pct", "0.5"
    )
    assert code == 0
    assert out.startswith(
        "noise: noise 0.5% given; band 2σ·sqrt(1 + k) pp for a bundle of k measured knobs, "
        "less where rows repeat\n"
    )
    v25 = next(line for line in out.splitlines() if line.startswith("V25 "))
    assert v25.split()[-1] == "antagonistic*"
    # sigma 0.5 %: V25's two measured knobs (grad_accumulation assumed) -> 2 x 0.5 x sqrt 3 pp
    assert v25.split()[-2] == "1.73"
    assert (
        "V25: grad_accumulation=2,grad_checkpointing,precision=fp16 — assumed "
        "grad_accumulation=2 neutral" in out
    )


def test_synergy_errors_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, err = _run(capsys, "synergy", "--csv", str(tmp_path / "x.csv"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "not found" in err
    code, _, err = _run(capsys, "synergy", "--csv", str(TABLE1), "--noise-pct", "-1")
    assert code == 2 and "--noise-pct must be a non-negative number" in err
