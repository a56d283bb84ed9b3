"""``MeterContract``: the checks every meter runs (subclass it in test_<meter>.py)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from greensearch.energy import Meter
from greensearch.exceptions import MeasurementError


def usa_kg_per_kwh() -> float:
    """USA grid intensity read straight from CodeCarbon's data file (independent of our code)."""
    import codecarbon

    path = Path(codecarbon.__file__).parent / "data/private_infra/global_energy_mix.json"
    return json.loads(path.read_text())["USA"]["carbon_intensity"] / 1000.0


@pytest.mark.filterwarnings("ignore::greensearch.energy.ZeroEnergyWarning")
class MeterContract:
    """Window bookkeeping, arithmetic and wrap-around, for any meter.

    Subclasses implement ``make``; counter meters also implement ``add_energy`` (inject
    joules into the fake counters) and ``put_near_wrap`` (counters just below their wrap).
    """

    def make(self, tmp_path: Path) -> Meter:
        raise NotImplementedError

    def add_energy(self, meter: Meter, joules: float) -> None:
        pytest.skip("this meter's energy cannot be injected")

    def put_near_wrap(self, meter: Meter) -> None:
        pytest.skip("this meter has no wrapping counter")

    @pytest.fixture
    def meter(self, tmp_path: Path) -> Meter:
        m = self.make(tmp_path)
        yield m
        m.close()

    def test_duplicate_key_raises(self, meter: Meter) -> None:
        meter.begin("train")
        with pytest.raises(MeasurementError, match="'train' is already open"):
            meter.begin("train")

    def test_unknown_key_raises(self, meter: Meter) -> None:
        with pytest.raises(MeasurementError, match="'eval' is not open"):
            meter.end("eval")

    def test_end_twice_raises_and_key_is_reusable(self, meter: Meter) -> None:
        meter.begin("a")
        meter.end("a")
        with pytest.raises(MeasurementError):
            meter.end("a")
        meter.begin("a")
        assert meter.end("a").key == "a"

    def test_window_records_even_when_block_raises(self, meter: Meter) -> None:
        with pytest.raises(ZeroDivisionError), meter.window("boom") as w:
            1 / 0  # noqa: B018
        assert w.measurement is not None and w.measurement.key == "boom"
        meter.begin("boom")  # the key was released

    def test_fields_are_consistent(self, meter: Meter) -> None:
        meter.begin("s")
        time.sleep(0.01)
        m = meter.end("s")
        assert m.meter == meter.name and m.method == meter.method
        assert m.method in ("measured", "estimated")
        assert m.duration_s >= 0.01
        assert m.energy_j == pytest.approx(sum(m.components_j.values()))
        assert m.energy_kwh == pytest.approx(m.energy_j / 3.6e6)
        assert m.co2_kg == pytest.approx(m.energy_kwh * usa_kg_per_kwh())
        assert m.idle_energy_j == 0.0

    def test_idle_baseline_gives_idle_and_net_energy(self, meter: Meter) -> None:
        meter.set_idle_power(10.0)
        meter.begin("s")
        self.add_energy_or_nothing(meter, 5.0)
        m = meter.end("s")
        assert m.idle_energy_j == pytest.approx(10.0 * m.duration_s)
        assert m.net_energy_j == pytest.approx(max(m.energy_j - 10.0 * m.duration_s, 0.0))

    def add_energy_or_nothing(self, meter: Meter, joules: float) -> None:
        try:
            self.add_energy(meter, joules)
        except pytest.skip.Exception:
            pass

    def test_injected_energy_is_reported(self, meter: Meter) -> None:
        meter.begin("s")
        self.add_energy(meter, 3.0)
        assert meter.end("s").energy_j == pytest.approx(3.0)

    def test_nested_windows_are_independent(self, meter: Meter) -> None:
        meter.begin("outer")
        self.add_energy(meter, 1.0)
        meter.begin("inner")
        self.add_energy(meter, 2.0)
        inner = meter.end("inner")
        self.add_energy(meter, 4.0)
        outer = meter.end("outer")
        assert inner.energy_j == pytest.approx(2.0)
        assert outer.energy_j == pytest.approx(7.0)

    def test_wraparound(self, meter: Meter) -> None:
        self.put_near_wrap(meter)
        meter.begin("w")
        self.add_energy(meter, 3.0)  # crosses the wrap point
        assert meter.end("w").energy_j == pytest.approx(3.0)
