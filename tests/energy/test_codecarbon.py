"""The real CodeCarbonMeter on this machine (no RAPL, no GPU: CodeCarbon's models)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from greensearch.energy import CodeCarbonMeter, Meter, measure_idle_power

from ._contract import MeterContract

CPU_TDP_W = 50.0
RAM_W = 7.0


def busy(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


@pytest.fixture(scope="module")
def forced() -> CodeCarbonMeter:
    """Forced powers make the model's output checkable by hand."""
    return CodeCarbonMeter(force_cpu_power_w=CPU_TDP_W, force_ram_power_w=RAM_W)


class TestCodeCarbonContract(MeterContract):
    def make(self, tmp_path: Path) -> Meter:
        return CodeCarbonMeter()


def test_is_estimated_here_and_says_which_model(forced: CodeCarbonMeter) -> None:
    assert (forced.name, forced.method) == ("codecarbon", "estimated")
    assert forced.component_methods == {"cpu": "estimated", "ram": "estimated"}
    assert "cpu_load model, 50.0 W" in forced.details["cpu"]
    assert "7.0 W constant" in forced.details["ram"]


def test_default_model_is_estimated_with_positive_energy() -> None:
    meter = CodeCarbonMeter()
    with meter.window("s") as w:
        busy(0.05)
    m = w.measurement
    assert m is not None and m.method == "estimated" and m.energy_j > 0
    assert set(m.components_j) == {"cpu", "ram"}


class ScriptedClock:
    """A clock that moves only when the test says, so a window lasts exactly that long."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_ram_energy_is_forced_power_times_duration() -> None:
    clock = ScriptedClock()
    meter = CodeCarbonMeter(force_cpu_power_w=CPU_TDP_W, force_ram_power_w=RAM_W, clock=clock)
    for seconds in (0.05, 0.2, 30.0):
        meter.begin("s")
        clock.now += seconds
        m = meter.end("s")
        assert m.duration_s == pytest.approx(seconds, rel=1e-9)
        assert m.components_j["ram"] == pytest.approx(RAM_W * seconds, rel=1e-6)


def test_cpu_power_stays_within_the_model_floor_and_tdp() -> None:
    clock = ScriptedClock()
    meter = CodeCarbonMeter(force_cpu_power_w=CPU_TDP_W, force_ram_power_w=RAM_W, clock=clock)
    meter.begin("s")
    busy(0.2)  # whatever load the machine has: the model's power lies in its range
    clock.now += 0.2
    m = meter.end("s")
    cpu_w = m.components_j["cpu"] / m.duration_s
    assert 0.1 * CPU_TDP_W * (1 - 1e-9) <= cpu_w <= CPU_TDP_W * (1 + 1e-9)


def test_idle_is_the_models_idle_estimate_without_sleeping(
    forced: CodeCarbonMeter, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    watts = measure_idle_power(forced, seconds=2.0)
    assert slept == []
    assert watts == pytest.approx(RAM_W + 0.1 * CPU_TDP_W)
    assert "model idle estimate" in forced.details["idle"]
    forced.begin("s")
    busy(0.1)
    m = forced.end("s")
    assert m.idle_energy_j == pytest.approx(watts * m.duration_s)
    assert m.net_energy_j == pytest.approx(max(m.energy_j - m.idle_energy_j, 0.0))
    forced._idle_power_w = None  # module fixture: leave no baseline behind


def test_ram_can_be_left_out() -> None:
    meter = CodeCarbonMeter(include_ram=False)
    meter.begin("s")
    assert set(meter.end("s").components_j) == {"cpu"}


def test_writes_nothing_into_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with CodeCarbonMeter() as meter, meter.window("s"):
        busy(0.02)
    assert list(tmp_path.iterdir()) == []


def test_a_window_edge_costs_well_under_a_millisecond(forced: CodeCarbonMeter) -> None:
    n = 200
    start = time.process_time()  # this process's CPU time: other jobs on the machine do not count
    for _ in range(n):
        forced.begin("s")
        forced.end("s")
    per_window_s = (time.process_time() - start) / n
    assert per_window_s < 2e-3  # ~0.15 ms measured; 1% of a 1 s stage is 10 ms
