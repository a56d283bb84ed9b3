"""Measurement arithmetic, carbon intensity and ReplayMeter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from greensearch.energy import Measurement, carbon_intensity_kg_per_kwh
from greensearch.energy.testing import ReplayMeter
from greensearch.exceptions import ConfigError, MeasurementError

from ._contract import usa_kg_per_kwh


def rec(key: str, energy_j: float, idle_energy_j: float = 0.0) -> Measurement:
    return Measurement(
        key, 2.0, energy_j, idle_energy_j, {"cpu": energy_j}, 0.0, "rapl", "measured"
    )


def test_units_and_net_energy() -> None:
    m = rec("train", 7200.0, idle_energy_j=3600.0)
    assert m.energy_kwh == 0.002
    assert m.net_energy_j == 3600.0 and m.net_energy_kwh == 0.001
    assert rec("x", 5.0, idle_energy_j=8.0).net_energy_j == 0.0  # never negative


def test_measurement_is_frozen_and_round_trips_through_json() -> None:
    m = rec("train", 3.0)
    with pytest.raises(AttributeError):
        m.energy_j = 1.0  # type: ignore[misc]
    assert Measurement.from_dict(json.loads(json.dumps(m.to_dict()))) == m


def test_carbon_intensity_comes_from_codecarbon_offline_data() -> None:
    assert carbon_intensity_kg_per_kwh("usa") == pytest.approx(usa_kg_per_kwh())
    with pytest.raises(ConfigError, match="'ZZZ'"):
        carbon_intensity_kg_per_kwh("ZZZ")


def test_replay_returns_recordings_in_order_per_key(tmp_path: Path) -> None:
    path = tmp_path / "m.jsonl"
    records = [rec("train", 1.0), rec("eval", 2.0), rec("train", 3.0)]
    path.write_text("".join(json.dumps(r.to_dict()) + "\n" for r in records))
    meter = ReplayMeter.from_jsonl(path)
    assert (meter.name, meter.method) == ("rapl", "measured")
    got = []
    for key in ("train", "eval", "train"):
        with meter.window(key) as w:
            pass
        got.append(w.measurement)
    assert got == records
    with pytest.raises(MeasurementError, match="no recording left for window 'train'"):
        meter.begin("train")
    with pytest.raises(MeasurementError, match="not open"):
        meter.end("eval")
