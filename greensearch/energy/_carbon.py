"""Grid carbon intensity from CodeCarbon's offline data, so every meter can report CO2.

Offline on purpose: a study must not depend on network access or a live grid API, and the
same energy must always map to the same emissions. The figure is CodeCarbon's yearly
average for the country (``global_energy_mix.json``), not a real-time value.
"""

from __future__ import annotations

import functools

from greensearch.exceptions import ConfigError, MeterUnavailableError

__all__ = ["DEFAULT_COUNTRY_ISO_CODE", "carbon_intensity_kg_per_kwh"]

#: CodeCarbon needs a country for offline tracking and has no default; we use "USA".
DEFAULT_COUNTRY_ISO_CODE = "USA"


@functools.lru_cache(maxsize=32)
def carbon_intensity_kg_per_kwh(country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE) -> float:
    """Return kgCO2eq per kWh for a country, from CodeCarbon's offline energy mix.

    Args:
        country_iso_code: 3-letter ISO code, e.g. ``"USA"``, ``"FRA"``.

    Raises:
        ConfigError: CodeCarbon has no data for the code (it would silently use the world
            average; we refuse instead).
        MeterUnavailableError: CodeCarbon is not installed.
    """
    try:
        from codecarbon.core.emissions import Emissions
        from codecarbon.core.units import Energy
        from codecarbon.external.geography import GeoMetadata
        from codecarbon.input import DataSource
    except ImportError as err:
        raise MeterUnavailableError(
            "codecarbon is not installed (needed for carbon intensity); pip install codecarbon"
        ) from err
    code = country_iso_code.upper()
    source = DataSource()
    if code not in source.get_global_energy_mix_data():
        raise ConfigError(
            f"no CodeCarbon carbon-intensity data for country '{country_iso_code}'; "
            "use a 3-letter ISO code such as 'USA' or 'FRA', or pass carbon_intensity_g_per_kwh"
        )
    engine = Emissions(source)
    return float(engine.get_country_emissions(Energy.from_energy(kWh=1.0), GeoMetadata(code)))
