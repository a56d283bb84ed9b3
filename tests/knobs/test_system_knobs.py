"""power_limit sets, reads back and always restores the GPU power limit (fake NVML)."""

from __future__ import annotations

import contextlib
import functools

import pytest

from greensearch.config import StudyConfig
from greensearch.energy.testing import FakeNvml
from greensearch.exceptions import ConfigError, GreensearchError, KnobUnavailableError
from greensearch.knobs import RunPlan, default_registry
from greensearch.knobs._system_knobs import power_limit

STUDY = StudyConfig(name="unit", source="<unit>")


class PowerNvml(FakeNvml):
    """FakeNvml plus the power-management calls, in milliwatts like NVML."""

    def __init__(
        self,
        limits_mw: list[int],
        *,
        low_mw: int = 70_000,
        high_mw: int = 250_000,
        floor_mw: int = 0,
    ) -> None:
        super().__init__([0] * len(limits_mw))
        self.limits_mw = list(limits_mw)
        self.low_mw, self.high_mw, self.floor_mw = low_mw, high_mw, floor_mw
        self.sets: list[tuple[int, int]] = []

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: int) -> tuple[int, int]:
        self._maybe_fail("nvmlDeviceGetPowerManagementLimitConstraints")
        return self.low_mw, self.high_mw

    def nvmlDeviceGetPowerManagementLimit(self, handle: int) -> int:
        self._maybe_fail("nvmlDeviceGetPowerManagementLimit")
        return self.limits_mw[handle]

    def nvmlDeviceSetPowerManagementLimit(self, handle: int, limit_mw: int) -> None:
        self._maybe_fail("nvmlDeviceSetPowerManagementLimit")
        self.sets.append((handle, limit_mw))
        self.limits_mw[handle] = max(limit_mw, self.floor_mw)  # a driver that clamps


def test_plan_adds_one_run_context_and_nothing_else() -> None:
    registry = default_registry()
    plan = RunPlan(study=STUDY)
    for item in registry.resolve({"power_limit": "100"}, study=STUDY, check_available=False):
        item.knob.apply(plan, item.value)
    base = RunPlan(study=STUDY)
    assert len(plan.run_contexts) == 1
    factory = plan.run_contexts[0]
    assert isinstance(factory, functools.partial)
    assert (factory.func, factory.args) == (power_limit, (100,))
    plan.run_contexts, plan.notes = [], []
    assert plan == base


def test_sets_reads_back_and_restores() -> None:
    nvml = PowerNvml([200_000, 180_000])
    with power_limit(100, nvml=nvml) as previous:
        assert nvml.limits_mw == [100_000, 100_000]
        assert previous == {0: 200_000, 1: 180_000}
    assert nvml.limits_mw == [200_000, 180_000]
    assert nvml.sets == [(0, 100_000), (1, 100_000), (0, 200_000), (1, 180_000)]
    assert (nvml.init_calls, nvml.shutdown_calls) == (1, 1)


def test_restores_when_the_run_crashes() -> None:
    nvml = PowerNvml([200_000])
    with pytest.raises(RuntimeError, match="stage blew up"), power_limit(100, nvml=nvml):
        assert nvml.limits_mw == [100_000]
        raise RuntimeError("stage blew up")
    assert nvml.limits_mw == [200_000]
    assert nvml.shutdown_calls == 1


def test_restores_through_the_plan_like_run_once() -> None:
    """run_once enters plan.run_contexts in an ExitStack; a crash inside still restores."""
    nvml = PowerNvml([200_000])
    plan = RunPlan(study=STUDY)
    default_registry().get("power_limit").apply(plan, {"watts": 150})
    factory = plan.run_contexts[0]
    with pytest.raises(KeyboardInterrupt), contextlib.ExitStack() as stack:
        stack.enter_context(factory(nvml=nvml))
        assert nvml.limits_mw == [150_000]
        raise KeyboardInterrupt
    assert nvml.limits_mw == [200_000]


@pytest.mark.parametrize("watts", [50, 300])
def test_out_of_range_is_rejected_before_any_change(watts: int) -> None:
    nvml = PowerNvml([200_000, 200_000])
    with (
        pytest.raises(ConfigError, match=rf"power_limit.*{watts} W.*\[70, 250\] W"),
        power_limit(watts, nvml=nvml),
    ):
        pass
    assert nvml.sets == []
    assert nvml.limits_mw == [200_000, 200_000]
    assert nvml.shutdown_calls == 1


def test_read_back_mismatch_raises_and_restores() -> None:
    nvml = PowerNvml([200_000], floor_mw=120_000)
    with (
        pytest.raises(ConfigError, match=r"reads back 120 W after setting 100 W"),
        power_limit(100, nvml=nvml),
    ):
        pass
    assert nvml.limits_mw == [200_000]
    assert nvml.sets == [(0, 100_000), (0, 200_000)]


def test_permission_denied_is_unavailable_and_changes_nothing() -> None:
    nvml = PowerNvml([200_000, 200_000])
    nvml.fail_next("nvmlDeviceSetPowerManagementLimit", FakeNvml.NVML_ERROR_NO_PERMISSION)
    with pytest.raises(KnobUnavailableError, match="needs root"), power_limit(100, nvml=nvml):
        pass
    assert nvml.limits_mw == [200_000, 200_000]


def test_second_gpu_refusing_restores_the_first() -> None:
    nvml = PowerNvml([200_000, 190_000])
    nvml.fail_next("nvmlDeviceSetPowerManagementLimit", FakeNvml.NVML_ERROR_UNKNOWN)
    nvml.fail_next("nvmlDeviceGetPowerManagementLimit", FakeNvml.NVML_ERROR_UNKNOWN)
    # first Get fails: GPU 0 is never changed, nothing to restore
    with pytest.raises(KnobUnavailableError), power_limit(100, nvml=nvml):
        pass
    assert nvml.limits_mw == [200_000, 190_000]
    nvml = PowerNvml([200_000, 190_000])
    real_set = nvml.nvmlDeviceSetPowerManagementLimit

    def set_fails_on_gpu1(handle: int, limit_mw: int) -> None:
        if handle == 1 and limit_mw == 100_000:
            raise FakeNvml.NVMLError(FakeNvml.NVML_ERROR_NO_PERMISSION)
        real_set(handle, limit_mw)

    nvml.nvmlDeviceSetPowerManagementLimit = set_fails_on_gpu1  # type: ignore[method-assign]
    with pytest.raises(KnobUnavailableError, match="GPU 1"), power_limit(100, nvml=nvml):
        pass
    assert nvml.limits_mw == [200_000, 190_000]


def test_failed_restore_is_reported_not_swallowed() -> None:
    nvml = PowerNvml([200_000])
    with (
        pytest.raises(GreensearchError, match="could not restore.*200 W"),
        power_limit(100, nvml=nvml),
    ):
        nvml.fail_next("nvmlDeviceSetPowerManagementLimit", FakeNvml.NVML_ERROR_NO_PERMISSION)
    assert nvml.shutdown_calls == 1


def test_nvml_init_failure_is_unavailable() -> None:
    nvml = PowerNvml([200_000])
    nvml.init_error = FakeNvml.NVML_ERROR_DRIVER_NOT_LOADED
    with pytest.raises(KnobUnavailableError, match="NVML init failed"), power_limit(100, nvml=nvml):
        pass


def test_unavailable_here_with_reason() -> None:
    knob = default_registry().get("power_limit")
    reason = knob.unavailable_reason()
    if reason is None:
        pytest.skip("this machine has NVML and root")
    assert "NVML" in reason or "root" in reason
    with pytest.raises(KnobUnavailableError, match=r"power_limit=100.*unavailable here"):
        default_registry().plan(STUDY, {"power_limit": "100"})
