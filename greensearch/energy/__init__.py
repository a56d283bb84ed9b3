"""Energy meters for pipeline stages: NVML (GPU), RAPL (CPU/DRAM), CodeCarbon (models).

Typical use::

    meter = make_meter("auto")          # or "nvml" | "rapl" | "codecarbon" (raises if missing)
    measure_idle_power(meter)           # optional: enables net energy
    with meter.window("train") as w:
        train()
    w.measurement.energy_j, w.measurement.method   # "measured" | "estimated"

Importing this package loads neither torch, pynvml nor codecarbon; meters import them
when constructed.
"""

from greensearch.energy._base import (
    Measurement,
    Meter,
    Method,
    Window,
    ZeroEnergyWarning,
    measure_idle_power,
)
from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE, carbon_intensity_kg_per_kwh
from greensearch.energy._codecarbon import CodeCarbonMeter
from greensearch.energy._composite import CompositeMeter
from greensearch.energy._factory import METER_NAMES, make_meter
from greensearch.energy._nvml import NvmlMeter
from greensearch.energy._rapl import RaplMeter
from greensearch.energy._unmetered import UnmeteredMeter

__all__ = [
    "DEFAULT_COUNTRY_ISO_CODE",
    "METER_NAMES",
    "CodeCarbonMeter",
    "CompositeMeter",
    "Measurement",
    "Meter",
    "Method",
    "NvmlMeter",
    "RaplMeter",
    "UnmeteredMeter",
    "Window",
    "ZeroEnergyWarning",
    "carbon_intensity_kg_per_kwh",
    "make_meter",
    "measure_idle_power",
]
