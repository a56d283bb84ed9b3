"""System-phase knobs: settings of the machine, held only for the duration of one run.

The paper's power limit was set by hand outside its code and is missing from some of its
runs. Here it is a ``plan.run_contexts`` entry: set on entry, read back to verify, and
restored on exit whatever happens inside (a crashed stage included).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from typing import Any

from greensearch.exceptions import ConfigError, GreensearchError, KnobUnavailableError
from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Requirement, Value

__all__ = ["KNOBS", "power_limit"]

logger = logging.getLogger(__name__)


def _load_nvml() -> Any:
    try:
        import pynvml
    except ImportError as err:
        raise KnobUnavailableError(
            "knob 'power_limit' needs NVML (pip install nvidia-ml-py) and an NVIDIA GPU"
        ) from err
    return pynvml


@contextlib.contextmanager
def power_limit(watts: int, *, nvml: Any = None) -> Iterator[dict[int, int]]:
    """Cap every NVML-visible GPU at ``watts`` and restore each previous limit on exit.

    Args:
        watts: The board power limit to hold during the run.
        nvml: The NVML module (``pynvml`` by default; a ``FakeNvml`` in tests).

    Yields:
        The previous limit in milliwatts, by GPU index.

    Raises:
        ConfigError: ``watts`` is outside a GPU's allowed range, or a GPU reads back a
            different limit than was set.
        KnobUnavailableError: NVML is missing or refuses (e.g. not root).
    """
    nvml = _load_nvml() if nvml is None else nvml
    previous: dict[int, int] = {}
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as err:
        raise KnobUnavailableError(f"knob 'power_limit': NVML init failed ({err})") from err
    try:
        _set_all(nvml, watts, previous)
        yield dict(previous)
    finally:
        try:
            _restore(nvml, previous)
        finally:
            nvml.nvmlShutdown()


def _set_all(nvml: Any, watts: int, previous: dict[int, int]) -> None:
    """Check every GPU's range, then set and read back; ``previous`` fills as GPUs change."""
    target_mw = watts * 1000
    try:
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(nvml.nvmlDeviceGetCount())]
        ranges = [nvml.nvmlDeviceGetPowerManagementLimitConstraints(h) for h in handles]
    except nvml.NVMLError as err:
        raise KnobUnavailableError(
            f"knob 'power_limit': NVML cannot read power limits ({err})"
        ) from err
    for low, high in ranges:  # check every GPU before changing any
        if not low <= target_mw <= high:
            raise ConfigError(
                f"knob 'power_limit': {watts} W is outside this GPU's range "
                f"[{low / 1000:g}, {high / 1000:g}] W; pick a value in it"
            )
    for index, handle in enumerate(handles):
        try:
            before = nvml.nvmlDeviceGetPowerManagementLimit(handle)
            nvml.nvmlDeviceSetPowerManagementLimit(handle, target_mw)
        except nvml.NVMLError as err:
            raise KnobUnavailableError(
                f"knob 'power_limit': NVML refused to set {watts} W on GPU {index} ({err}); "
                "setting power limits needs root"
            ) from err
        previous[index] = before
        actual = nvml.nvmlDeviceGetPowerManagementLimit(handle)
        if actual != target_mw:
            raise ConfigError(
                f"knob 'power_limit': GPU {index} reads back {actual / 1000:g} W after "
                f"setting {watts} W; the driver did not apply it"
            )


def _restore(nvml: Any, previous: dict[int, int]) -> None:
    """Put back every limit we changed; try all GPUs before reporting a failure."""
    failed: list[str] = []
    for index, limit_mw in previous.items():
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            nvml.nvmlDeviceSetPowerManagementLimit(handle, limit_mw)
            if nvml.nvmlDeviceGetPowerManagementLimit(handle) != limit_mw:
                failed.append(f"GPU {index} did not return to {limit_mw / 1000:g} W")
        except nvml.NVMLError as err:
            failed.append(f"GPU {index} ({limit_mw / 1000:g} W): {err}")
    if failed:
        message = (
            "could not restore the GPU power limit: "
            + "; ".join(failed)
            + "; reset it with nvidia-smi -pl"
        )
        logger.error(message)
        raise GreensearchError(message)


def _apply_power_limit(plan: RunPlan, value: Value) -> None:
    plan.run_contexts.append(functools.partial(power_limit, value["watts"]))
    plan.note(
        f"power_limit: GPU board power capped at {value['watts']} W for the run, "
        "previous limit restored afterwards"
    )


KNOBS: tuple[Knob, ...] = (
    Knob(
        name="power_limit",
        phase="system",
        targets=("compute",),
        costs=("compute",),
        description="cap GPU board power at W watts via NVML for the run (trades time for "
        "power); read back to verify, restored afterwards even on a crash",
        params=(Param("watts", int, 100, low=1, high=2000),),
        search_values=("100", "150", "200"),
        needs=(Requirement("nvml"), Requirement("root")),
        apply=_apply_power_limit,
        numerics=False,  # clocks, not arithmetic
    ),
)
