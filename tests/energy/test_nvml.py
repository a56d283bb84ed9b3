"""NvmlMeter against FakeNvml: arithmetic, wrap-around, short windows, error mapping."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from greensearch.energy import Meter, NvmlMeter, ZeroEnergyWarning, measure_idle_power
from greensearch.energy.testing import FakeNvml, FakeNvmlError
from greensearch.exceptions import MeasurementError, MeterUnavailableError

from ._contract import MeterContract


class TestNvmlContract(MeterContract):
    def make(self, tmp_path: Path) -> Meter:
        self.fake = FakeNvml([1000, 50])
        return NvmlMeter(nvml=self.fake)

    def add_energy(self, meter: Meter, joules: float) -> None:
        self.fake.advance(0, round(joules * 1000))

    def put_near_wrap(self, meter: Meter) -> None:
        self.fake.energy_mj[0] = 2**64 - 1000


def test_counter_1000_to_4000_mj_is_3_joules() -> None:
    fake = FakeNvml([1000])
    meter = NvmlMeter(nvml=fake)
    meter.begin("train")
    fake.energy_mj[0] = 4000
    m = meter.end("train")
    assert m.energy_j == 3.0
    assert m.components_j == {"gpu:0": 3.0}
    assert (m.meter, m.method) == ("nvml", "measured")


def test_two_gpus_sum_and_selection() -> None:
    fake = FakeNvml([0, 0])
    meter = NvmlMeter(nvml=fake)
    meter.begin("s")
    fake.advance(0, 1500)
    fake.advance(1, 2500)
    m = meter.end("s")
    assert m.components_j == {"gpu:0": 1.5, "gpu:1": 2.5} and m.energy_j == 4.0
    only_1 = NvmlMeter(nvml=fake, gpu_indices=[1])
    only_1.begin("s")
    fake.advance(0, 9999)
    fake.advance(1, 500)
    assert only_1.end("s").components_j == {"gpu:1": 0.5}


def test_scripted_wrap_of_unsigned_64_bit_counter() -> None:
    fake = FakeNvml([0])
    meter = NvmlMeter(nvml=fake)
    fake.script(0, [2**64 - 1000, 3000])  # begin read, end read
    meter.begin("w")
    assert meter.end("w").energy_j == 4.0


def test_counter_going_backwards_is_an_error_not_a_huge_wrap() -> None:
    fake = FakeNvml([5000])
    meter = NvmlMeter(nvml=fake)
    meter.begin("w")
    fake.energy_mj[0] = 100  # driver reset
    with pytest.raises(MeasurementError, match="went backwards"):
        meter.end("w")


def test_window_shorter_than_counter_update_warns_and_reports_zero() -> None:
    meter = NvmlMeter(nvml=FakeNvml([7000]))
    meter.begin("tiny")
    with pytest.warns(ZeroEnergyWarning, match="did not move"):
        m = meter.end("tiny")
    assert m.energy_j == 0.0 and m.net_energy_j == 0.0


def test_synchronize_runs_at_both_edges() -> None:
    calls: list[int] = []
    meter = NvmlMeter(nvml=FakeNvml([0]), synchronize=lambda: calls.append(1))
    meter.begin("s")
    assert len(calls) == 1
    with pytest.warns(ZeroEnergyWarning):
        meter.end("s")
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("code", "hint"),
    [(12, "driver library"), (9, "driver is not loaded"), (4, "denied")],
)
def test_init_errors_map_to_meter_unavailable(code: int, hint: str) -> None:
    with pytest.raises(MeterUnavailableError, match=hint) as info:
        NvmlMeter(nvml=FakeNvml([0], init_error=code))
    assert isinstance(info.value.__cause__, FakeNvmlError)
    assert "\n" not in str(info.value)


def test_gpu_without_energy_counter_is_unavailable_and_shuts_nvml_down() -> None:
    fake = FakeNvml([0])
    fake.fail_next("nvmlDeviceGetTotalEnergyConsumption", FakeNvml.NVML_ERROR_NOT_SUPPORTED)
    with pytest.raises(MeterUnavailableError, match="Volta"):
        NvmlMeter(nvml=fake)
    assert fake.shutdown_calls == 1


def test_no_gpu_and_bad_index_are_unavailable() -> None:
    with pytest.raises(MeterUnavailableError, match="no NVIDIA GPU"):
        NvmlMeter(nvml=FakeNvml([]))
    with pytest.raises(MeterUnavailableError, match=r"\[3\] do not exist"):
        NvmlMeter(nvml=FakeNvml([0]), gpu_indices=[3])


def test_read_failure_mid_run_is_a_measurement_error() -> None:
    fake = FakeNvml([0])
    meter = NvmlMeter(nvml=fake)
    meter.begin("s")
    fake.fail_next("nvmlDeviceGetTotalEnergyConsumption", FakeNvml.NVML_ERROR_GPU_IS_LOST)
    with pytest.raises(MeasurementError, match="GPU_IS_LOST") as info:
        meter.end("s")
    assert isinstance(info.value.__cause__, FakeNvmlError)


def test_close_shuts_down_once() -> None:
    fake = FakeNvml([0])
    with NvmlMeter(nvml=fake):
        pass
    assert fake.shutdown_calls == 1


def test_idle_power_is_sampled_from_the_counter() -> None:
    fake = FakeNvml([0])
    meter = NvmlMeter(nvml=fake)
    fake.script(0, [0, 500])  # 0.5 J while sleeping ~0.05 s
    watts = measure_idle_power(meter, seconds=0.05)
    assert 0.5 / 0.5 < watts <= 0.5 / 0.05
    assert "sampled" in meter.details["idle"]
    meter.begin("s")
    fake.advance(0, 2000)
    m = meter.end("s")
    assert m.idle_energy_j == pytest.approx(watts * m.duration_s)


def test_importing_the_package_loads_no_heavy_module() -> None:
    code = (
        "import sys, greensearch.energy, greensearch.energy.testing;"
        "bad = [m for m in ('torch', 'pynvml', 'codecarbon') if m in sys.modules];"
        "assert not bad, bad"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


@pytest.mark.gpu
def test_real_nvml_counts_energy_of_a_busy_gpu() -> None:
    torch = pytest.importorskip("torch")
    meter = NvmlMeter()
    x = torch.randn(4096, 4096, device="cuda")
    with meter.window("matmul") as w:
        for _ in range(200):
            x = x @ x / 4096
    m = w.measurement
    assert m is not None and m.method == "measured" and m.duration_s > 0.05
    assert m.energy_j / m.duration_s > 20.0  # a busy datacentre GPU draws well above 20 W
    meter.close()
