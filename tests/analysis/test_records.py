from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from greensearch.analysis import COLUMNS, STAGES, from_records, load_paper_csv
from greensearch.exceptions import ConfigError


def test_paper_table_is_normalized(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    assert list(paper.columns) == list(COLUMNS)
    assert len(paper) == len(raw_rows) == 31
    assert paper.loc[paper["is_baseline"], "variant"].tolist() == ["V0"]
    row = paper.set_index("variant").loc["V3"]
    # knobs come from code_bundle (what ran), canonical: sorted, flags bare
    assert row["knobs"] == "group_by_length,lora,lr_schedule=cosine,quantization=nf4"
    assert row["method"] == "reported" and row["repeats"] == 1


def test_paper_degenerate_rows_are_exactly_v2_and_v30(paper: pd.DataFrame) -> None:
    assert sorted(paper.loc[paper["degenerate"], "variant"]) == ["V2", "V30"]
    assert paper["f1"].isna().all()  # the table has only ΔF1


def test_paper_deltas_reported_or_computed(
    paper: pd.DataFrame, raw_rows: dict[str, dict[str, str]]
) -> None:
    v26, v0 = raw_rows["V26"], raw_rows["V0"]
    row = paper.set_index("variant").loc["V26"]
    assert row["delta_energy_pct"] == float(v26["delta_total_pct"])  # reported, kept
    assert row["delta_time_eval_pct"] == float(v26["delta_eval_time_pct"])
    expected_time = (float(v26["total_time_s"]) / float(v0["total_time_s"]) - 1) * 100
    assert row["delta_time_pct"] == pytest.approx(expected_time)
    for stage in STAGES:
        expected = (float(v26[f"{stage}_kwh"]) / float(v0[f"{stage}_kwh"]) - 1) * 100
        assert row[f"delta_energy_{stage}_pct"] == pytest.approx(expected)


def test_missing_columns_are_named(tmp_path: Path, table1_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    pd.read_csv(table1_path).drop(columns=["eval_kwh", "total_time_s"]).to_csv(bad, index=False)
    with pytest.raises(ConfigError, match="missing column\\(s\\) eval_kwh, total_time_s"):
        load_paper_csv(bad)


def test_missing_file_and_non_number(tmp_path: Path, table1_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_paper_csv(tmp_path / "nope.csv")
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(table1_path)
    frame["total_kwh"] = frame["total_kwh"].astype(object)
    frame.loc[3, "total_kwh"] = "lots"
    frame.to_csv(bad, index=False)
    with pytest.raises(ConfigError, match="'total_kwh' holds a non-number"):
        load_paper_csv(bad)


def test_two_baselines_rejected(tmp_path: Path, table1_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    frame = pd.read_csv(table1_path)
    frame.loc[1, "code_bundle"] = ""
    frame.to_csv(bad, index=False)
    with pytest.raises(ConfigError, match="found 2 baseline rows"):
        load_paper_csv(bad)


def _record(
    variant: str, knobs: str, energy: float, seconds: float, f1: float, **extra: Any
) -> dict[str, Any]:
    stages = {
        s: {"energy_kwh": energy / len(STAGES), "duration_s": seconds / len(STAGES)} for s in STAGES
    }
    return {
        "variant": variant,
        "knobs": knobs,
        "stages": stages,
        "energy_kwh": energy,
        "duration_s": seconds,
        "metrics": {"f1": f1, "degenerate": False},
        "repeats": 3,
        "meter": {"name": "nvml", "method": "measured"},
        **extra,
    }


def test_from_records_computes_deltas_against_empty_knobs() -> None:
    df = from_records(
        [
            _record("base", "", 2.0, 100.0, 0.80),
            _record("fp16", "precision=fp16", 1.5, 80.0, 0.78),
            _record("two", "torch_compile, precision=fp16", 1.0, 50.0, 0.80),
        ]
    ).set_index("variant")
    assert df.loc["fp16", "delta_energy_pct"] == pytest.approx(-25.0)
    assert df.loc["fp16", "delta_time_pct"] == pytest.approx(-20.0)
    assert df.loc["fp16", "delta_f1_pct"] == pytest.approx(-2.5)
    assert df.loc["fp16", "delta_energy_eval_pct"] == pytest.approx(-25.0)
    assert df.loc["fp16", "delta_time_train_pct"] == pytest.approx(-20.0)
    assert df.loc["two", "knobs"] == "precision=fp16,torch_compile"
    assert df.loc["fp16", "meter"] == "nvml" and df.loc["fp16", "method"] == "measured"
    assert math.isnan(df.loc["fp16", "energy_kwh_std"])


def test_from_records_rejects_bad_input() -> None:
    with pytest.raises(ConfigError, match="found 0 baseline rows"):
        from_records([_record("a", "precision=fp16", 1.0, 1.0, 0.5)])
    with pytest.raises(ConfigError, match="lacks energy_kwh"):
        from_records([{"variant": "a", "knobs": "", "duration_s": 1.0}])
    rec = _record("base", "", 1.0, 1.0, 0.5)
    rec["stages"]["warmup"] = {"energy_kwh": 1.0}
    with pytest.raises(ConfigError, match="unknown stage\\(s\\) warmup"):
        from_records([rec])


def test_from_records_keeps_the_f1_interval_and_verdict() -> None:
    base = {"variant": "b", "knobs": "", "energy_kwh": 2.0, "duration_s": 10.0}
    knob = {
        "variant": "k",
        "knobs": "seq_len=128",
        "energy_kwh": 1.0,
        "duration_s": 5.0,
        "delta_f1_ci95_pct": [-1.5, 0.75],
        "f1_verdict": "uncertain",
        "n_seeds": 3,
    }
    df = from_records([base, knob]).set_index("variant")
    assert df.loc["k", "delta_f1_ci95_low_pct"] == -1.5
    assert df.loc["k", "delta_f1_ci95_high_pct"] == 0.75
    assert df.loc["k", "f1_verdict"] == "uncertain" and df.loc["k", "n_seeds"] == 3
    assert pd.isna(df.loc["b", "delta_f1_ci95_low_pct"])
