"""``greensearch report`` and the study input of plot/synergy/check, on a replayed study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greensearch.analysis import load_study_table
from greensearch.cli import main
from tests.analysis.replay_study import make_study

NAME = "default-replay"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A replayed study of the default task in a journal file (no training, no meter)."""
    storage = f"journal:{tmp_path_factory.mktemp('cli') / 'study.journal'}"
    make_study(storage, name=NAME)
    return storage


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_html_and_prints_one_json(capsys, url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out_file = tmp_path / "report.html"
    code, out, err = _run(
        capsys, "report", "--storage", url, "--study-name", NAME, "-o", str(out_file), "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    assert doc["written"] == str(out_file) and out_file.stat().st_size > 1_000_000
    # the replayed landscape's true feasible minimum (see tests/analysis/test_report.py)
    assert doc["oracle"]["knobs"] == "dynamic_padding,group_by_length,precision=bf16,torch_compile"
    assert doc["meter"]["methods"] == {"estimated": doc["n_points"]}


def test_report_text_says_estimated(capsys, url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = _run(
        capsys, "report", "--storage", url, "--study-name", NAME, "-o", str(tmp_path / "r.html")
    )
    assert code == 0 and "ESTIMATED, not measured" in out


@pytest.mark.parametrize(
    "command",
    [
        ["report", "-o", "r.html"],
        ["plot", "--json"],
        ["synergy"],
        ["check", "--knobs", "torch_compile"],
    ],
)
def test_unknown_study_is_one_line_exit_2(capsys, url: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(capsys, *command, "--storage", url, "--study-name", "nope")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("greensearch: error: no study named 'nope'")
    assert NAME in err  # the message lists the studies that do exist


def test_plot_reads_a_study(capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(
        capsys, "plot", "--storage", url, "--study-name", NAME, "--stage", "total", "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    table = load_study_table(url, NAME).set_index("variant")
    assert len(doc["points"]) == len(table)
    for p in doc["points"]:
        row = table.loc[p["variant"]]
        assert p["fidelity"] == row["fidelity"] and p["repeats"] == row["repeats"]
        if p["is_baseline"]:
            assert p["quadrant"] == "baseline"
        else:
            both_down = row["delta_time_pct"] < 0 and row["delta_energy_pct"] < 0
            assert (p["quadrant"] == "both_down") == both_down, p["variant"]
    assert doc["budget_f1_pct"] == -1.0  # the study's own budget, in the user's sign


def test_synergy_reads_a_study_with_measured_noise(capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    code, out, err = _run(capsys, "synergy", "--storage", url, "--study-name", NAME, "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["noise"]["method"] == "repeats"
    verdicts = {b["knobs"]: b["verdict"] for b in doc["bundles"]}
    assert verdicts["dynamic_padding,group_by_length,precision=bf16,torch_compile"] == "synergistic"


def test_check_learns_from_a_study(capsys, url: str) -> None:  # type: ignore[no-untyped-def]
    knobs = "dynamic_padding,group_by_length,precision=bf16,torch_compile"
    code, out, err = _run(
        capsys, "check", "--knobs", knobs, "--storage", url, "--study-name", NAME, "--json"
    )
    assert code == 0, err
    doc = json.loads(out)
    table = load_study_table(url, NAME).set_index("knobs")
    [measured] = doc["measured"]  # its own trial is shown, not learned from
    assert measured["variant"] == table.loc[knobs, "variant"]
    assert measured["energy_ratio"] == pytest.approx(1 + table.loc[knobs, "delta_energy_pct"] / 100)
    base = table.loc[""]
    assert doc["noise"]["noise_rel"] == pytest.approx(base["energy_kwh_std"] / base["energy_kwh"])
    assert "baseline runs" in doc["noise"]["detail"]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["synergy", "--csv", "x.csv", "--storage", "journal:x", "--study-name", "s"], "not both"),
        (["plot", "--json", "--storage", "journal:x"], "add --study-name"),
        (["synergy"], "no results given"),
    ],
)
def test_bad_source_options_exit_2(capsys, argv: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = _run(capsys, *argv)
    assert code == 2 and message in err
