"""make_meter: explicit names raise when unavailable; "auto" records its choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from greensearch.energy import CompositeMeter, make_meter
from greensearch.energy.testing import FakeNvml, build_fake_rapl_tree, set_rapl_energy
from greensearch.exceptions import ConfigError, MeterUnavailableError

NO_DRIVER = FakeNvml.NVML_ERROR_LIBRARY_NOT_FOUND


def test_auto_prefers_nvml_plus_rapl_and_is_measured(tmp_path: Path) -> None:
    fake = FakeNvml([0])
    root = build_fake_rapl_tree(tmp_path, [0])
    meter = make_meter("auto", nvml=fake, root=root)
    assert isinstance(meter, CompositeMeter)
    assert (meter.name, meter.method) == ("nvml+rapl", "measured")
    meter.begin("train")
    fake.advance(0, 3000)
    set_rapl_energy(root, "intel-rapl:0", 1_500_000)
    m = meter.end("train")
    assert m.components_j == {"gpu:0": 3.0, "cpu:0": 1.5} and m.energy_j == 4.5
    assert m.details["auto"].startswith("chose nvml+rapl (measured)")
    meter.close()
    assert fake.shutdown_calls == 1


def test_auto_with_gpu_but_no_rapl_is_nvml_plus_codecarbon_estimated(tmp_path: Path) -> None:
    fake = FakeNvml([0])
    meter = make_meter("auto", nvml=fake, root=tmp_path)
    assert (meter.name, meter.method) == ("nvml+codecarbon", "estimated")
    meter.begin("s")
    fake.advance(0, 2000)
    m = meter.end("s")
    assert set(m.components_j) == {"gpu:0", "cpu", "ram"}
    assert m.components_j["gpu:0"] == 2.0
    assert m.details["gpu"].startswith("measured") and m.details["cpu"].startswith("estimated")


def test_auto_without_gpu_or_rapl_is_codecarbon_and_says_why(tmp_path: Path) -> None:
    meter = make_meter("auto", nvml=FakeNvml(init_error=NO_DRIVER), root=tmp_path)
    assert (meter.name, meter.method) == ("codecarbon", "estimated")
    reason = meter.details["auto"]
    assert "nvml: unavailable" in reason and "rapl: unavailable" in reason


def test_auto_without_gpu_but_with_rapl_is_rapl(tmp_path: Path) -> None:
    meter = make_meter(
        "auto", nvml=FakeNvml(init_error=NO_DRIVER), root=build_fake_rapl_tree(tmp_path)
    )
    assert (meter.name, meter.method) == ("rapl", "measured")


def test_named_meters_never_fall_back(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailableError, match="driver library"):
        make_meter("nvml", nvml=FakeNvml(init_error=NO_DRIVER))
    with pytest.raises(MeterUnavailableError, match="no RAPL"):
        make_meter("rapl", root=tmp_path)


def test_bad_name_or_option_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown meter 'zeus'"):
        make_meter("zeus")
    with pytest.raises(ConfigError, match="gpu_indices.*'rapl'"):
        make_meter("rapl", gpu_indices=[0])
    with pytest.raises(ConfigError, match="no CodeCarbon carbon-intensity data for country 'XX'"):
        make_meter("nvml", nvml=FakeNvml([0]), country_iso_code="XX")
