"""Summaries over repeats: exact mean, std, t value and interval, worked out by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest

from greensearch.pipeline import describe, summarize
from greensearch.pipeline._summary import t_critical

# Two-sided 95 % Student-t quantiles (0.975) from the printed tables, 1 and 3 dof.
T95_1DOF = 12.7062
T95_3DOF = 3.1824


def test_t_critical_matches_the_printed_table() -> None:
    assert t_critical(1) == pytest.approx(T95_1DOF, abs=1e-4)
    assert t_critical(3) == pytest.approx(T95_3DOF, abs=1e-4)


def test_describe_gives_the_t_interval_of_four_values() -> None:
    got = describe([1.0, 2.0, 3.0, 4.0])
    std = math.sqrt(5.0 / 3.0)  # squared deviations 2.25 + 0.25 + 0.25 + 2.25 over n - 1 = 3
    half = T95_3DOF * std / 2.0  # t x std / sqrt(4)
    assert got["n"] == 4 and got["mean"] == 2.5
    assert got["std"] == pytest.approx(std, rel=1e-12)
    assert got["ci95_low"] == pytest.approx(2.5 - half, abs=1e-4)
    assert got["ci95_high"] == pytest.approx(2.5 + half, abs=1e-4)


def test_describe_of_one_value_has_no_spread() -> None:
    assert describe([0.7]) == {
        "mean": 0.7,
        "std": None,
        "ci95_low": None,
        "ci95_high": None,
        "n": 1,
    }


def _record(energy: float, f1: float, *, method: str, degenerate: bool = False) -> dict[str, Any]:
    return {
        "knobs": "seq_len=128",
        "energy_kwh": energy,
        "net_energy_kwh": energy - 0.1,
        "duration_s": 10 * energy,
        "co2_kg": energy / 2,
        "metrics": {"f1": f1, "f1_weighted": f1 + 0.1, "accuracy": 0.9, "degenerate": degenerate},
        "stages": {"train": {"energy_kwh": energy / 2, "duration_s": 5 * energy}},
        "meter": {"name": "codecarbon", "method": method},
    }


def test_summarize_means_each_figure_and_keeps_the_runs() -> None:
    runs = [
        _record(1.0, 0.70, method="measured"),
        _record(3.0, 0.80, method="estimated", degenerate=True),
    ]
    s = summarize(runs)
    assert s["energy_kwh"] == 2.0 and s["net_energy_kwh"] == pytest.approx(1.9)
    assert s["duration_s"] == 20.0 and s["co2_kg"] == 1.0
    assert s["metrics"]["f1"] == pytest.approx(0.75)
    assert s["metrics"]["f1_weighted"] == pytest.approx(0.85)
    assert s["stages"] == {"train": {"energy_kwh": 1.0, "duration_s": 10.0}}
    # one estimated run makes the summary estimated; one degenerate run makes it degenerate
    assert s["meter"] == {"name": "codecarbon", "method": "estimated"}
    assert s["metrics"]["degenerate"] is True
    assert s["repeats"] == 2 and s["runs"] == runs and s["knobs"] == "seq_len=128"
    energy = s["stats"]["energy_kwh"]
    assert energy["std"] == pytest.approx(math.sqrt(2.0))  # (1 - 2)² + (3 - 2)² over 1
    assert energy["ci95_high"] - energy["mean"] == pytest.approx(
        T95_1DOF * math.sqrt(2.0) / math.sqrt(2.0), abs=1e-3
    )
    assert s["stats"]["train_energy_kwh"]["mean"] == 1.0
