"""RaplMeter against a fake powercap tree in tmp_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from greensearch.energy import Meter, RaplMeter, ZeroEnergyWarning
from greensearch.energy.testing import build_fake_rapl_tree, set_rapl_energy
from greensearch.exceptions import MeterUnavailableError

from ._contract import MeterContract

MAX_UJ = 10_000_000


class TestRaplContract(MeterContract):
    def make(self, tmp_path: Path) -> Meter:
        self.root = build_fake_rapl_tree(
            tmp_path / "powercap", [1_000_000], max_energy_range_uj=MAX_UJ
        )
        self.energy_uj = 1_000_000
        return RaplMeter(root=self.root)

    def add_energy(self, meter: Meter, joules: float) -> None:
        self.energy_uj = (self.energy_uj + round(joules * 1e6)) % MAX_UJ
        set_rapl_energy(self.root, "intel-rapl:0", self.energy_uj)

    def put_near_wrap(self, meter: Meter) -> None:
        self.energy_uj = MAX_UJ - 1000
        set_rapl_energy(self.root, "intel-rapl:0", self.energy_uj)


def test_package_1_to_4_million_uj_is_3_joules_and_dram_is_ram(tmp_path: Path) -> None:
    root = build_fake_rapl_tree(tmp_path, [1_000_000], dram_uj=[500_000])
    meter = RaplMeter(root=root)
    assert [z.component for z in meter.zones] == ["cpu:0", "ram:0"]  # core, mmio skipped
    meter.begin("train")
    set_rapl_energy(root, "intel-rapl:0", 4_000_000)
    set_rapl_energy(root, "intel-rapl:0:1", 1_250_000)
    m = meter.end("train")
    assert m.components_j == {"cpu:0": 3.0, "ram:0": 0.75}
    assert m.energy_j == 3.75 and (m.meter, m.method) == ("rapl", "measured")


def test_two_packages(tmp_path: Path) -> None:
    root = build_fake_rapl_tree(tmp_path, [0, 0])
    meter = RaplMeter(root=root)
    meter.begin("s")
    set_rapl_energy(root, "intel-rapl:0", 2_000_000)
    set_rapl_energy(root, "intel-rapl:1", 500_000)
    assert meter.end("s").components_j == {"cpu:0": 2.0, "cpu:1": 0.5}


def test_wrap_uses_max_energy_range(tmp_path: Path) -> None:
    root = build_fake_rapl_tree(tmp_path, [9_000_000], max_energy_range_uj=MAX_UJ)
    meter = RaplMeter(root=root)
    meter.begin("w")
    set_rapl_energy(root, "intel-rapl:0", 2_000_000)  # 1 J to the wrap, 2 J after
    assert meter.end("w").energy_j == pytest.approx(3.0)


def test_counter_that_did_not_move_warns(tmp_path: Path) -> None:
    meter = RaplMeter(root=build_fake_rapl_tree(tmp_path, [42]))
    meter.begin("tiny")
    with pytest.warns(ZeroEnergyWarning):
        assert meter.end("tiny").energy_j == 0.0


def test_missing_rapl_is_unavailable_with_a_fix(tmp_path: Path) -> None:
    with pytest.raises(MeterUnavailableError, match="no RAPL package zone.*codecarbon"):
        RaplMeter(root=tmp_path / "nothing")


def test_unreadable_counter_says_run_as_root_or_chmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = build_fake_rapl_tree(tmp_path, [0], mode=0o000)
    if os.geteuid() == 0:  # root reads mode-000 files: simulate the kernel's refusal
        real = Path.read_text

        def deny(self: Path, *args: object, **kwargs: object) -> str:
            if self.name == "energy_uj":
                raise PermissionError(13, "Permission denied", str(self))
            return real(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(Path, "read_text", deny)
    with pytest.raises(MeterUnavailableError, match="run as root or .*chmod") as info:
        RaplMeter(root=root)
    assert "\n" not in str(info.value)
