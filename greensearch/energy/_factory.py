"""``make_meter``: build a named meter, or pick the best available one and say which."""

from __future__ import annotations

import logging
from typing import Any

from greensearch.energy._base import Meter
from greensearch.energy._codecarbon import CodeCarbonMeter
from greensearch.energy._composite import CompositeMeter
from greensearch.energy._nvml import NvmlMeter
from greensearch.energy._rapl import RaplMeter
from greensearch.exceptions import ConfigError, MeterUnavailableError

__all__ = ["METER_NAMES", "make_meter"]

log = logging.getLogger(__name__)

METER_NAMES = ("auto", "nvml", "rapl", "codecarbon")

_COMMON = {"country_iso_code", "carbon_intensity_g_per_kwh"}
_OPTIONS: dict[str, set[str]] = {
    "nvml": {"gpu_indices", "nvml", "synchronize"},
    "rapl": {"root"},
    "codecarbon": {
        "include_gpu",
        "include_ram",
        "gpu_ids",
        "force_cpu_power_w",
        "force_ram_power_w",
    },
}


def _pick(options: dict[str, Any], name: str) -> dict[str, Any]:
    allowed = _OPTIONS[name] | _COMMON
    return {k: v for k, v in options.items() if k in allowed}


def make_meter(name: str = "auto", **options: Any) -> Meter:
    """Build a meter by name; ``"auto"`` picks the best one available and records why.

    ``"auto"``: NVML for the GPUs when it works, combined with RAPL (or else CodeCarbon's
    CPU/RAM models) for the host; with no GPU, RAPL alone if readable, else CodeCarbon.
    The choice shows in every reading (``meter``, ``method``, ``details["auto"]``) and is
    logged. A meter named explicitly is never replaced: it raises if unavailable.

    Args:
        name: ``"auto"``, ``"nvml"``, ``"rapl"`` or ``"codecarbon"``.
        **options: Keyword options of the meters: ``country_iso_code``,
            ``carbon_intensity_g_per_kwh`` (all); ``gpu_indices``, ``nvml``, ``synchronize``
            (NVML); ``root`` (RAPL); ``include_gpu``, ``include_ram``, ``gpu_ids``,
            ``force_cpu_power_w``, ``force_ram_power_w`` (CodeCarbon).

    Raises:
        ConfigError: Unknown meter name or option (or one that does not apply to ``name``).
        MeterUnavailableError: The named meter cannot run here.
    """
    if name not in METER_NAMES:
        raise ConfigError(f"unknown meter '{name}'; choose one of {', '.join(METER_NAMES)}")
    known = set().union(*_OPTIONS.values()) | _COMMON
    allowed = known if name == "auto" else _OPTIONS[name] | _COMMON
    bad = sorted(set(options) - allowed)
    if bad:
        raise ConfigError(
            f"option(s) {', '.join(bad)} do not apply to meter '{name}'; "
            f"valid: {', '.join(sorted(allowed))}"
        )
    if name == "nvml":
        return NvmlMeter(**_pick(options, "nvml"))
    if name == "rapl":
        return RaplMeter(**_pick(options, "rapl"))
    if name == "codecarbon":
        return CodeCarbonMeter(**_pick(options, "codecarbon"))
    return _auto(options)


def _auto(options: dict[str, Any]) -> Meter:
    notes: list[str] = []
    gpu: Meter | None = None
    try:
        gpu = NvmlMeter(**_pick(options, "nvml"))
        notes.append("nvml: ok")
    except MeterUnavailableError as err:
        notes.append(f"nvml: unavailable ({err})")
    host: Meter
    try:
        host = RaplMeter(**_pick(options, "rapl"))
        notes.append("rapl: ok")
    except MeterUnavailableError as err:
        notes.append(f"rapl: unavailable ({err})")
        cc_options = _pick(options, "codecarbon")
        if gpu is not None:
            cc_options["include_gpu"] = False  # NVML already meters the GPUs
        try:
            host = CodeCarbonMeter(**cc_options)
        except MeterUnavailableError:
            if gpu is not None:
                gpu.close()
            raise
        notes.append(f"codecarbon: {host.method}")
    meter: Meter = host
    if gpu is not None:
        meter = CompositeMeter([gpu, host], **{k: options[k] for k in _COMMON if k in options})
    meter._details["auto"] = f"chose {meter.name} ({meter.method}); " + "; ".join(notes)
    log.info("energy meter: %s", meter._details["auto"])
    return meter
