"""CPU package and DRAM energy from Linux powercap RAPL counters (``energy_uj``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from greensearch.energy._base import Meter, warn_if_zero
from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE
from greensearch.exceptions import MeasurementError, MeterUnavailableError

__all__ = ["RaplMeter", "RaplZone", "DEFAULT_POWERCAP_ROOT"]

DEFAULT_POWERCAP_ROOT = Path("/sys/class/powercap")
UJ_TO_J = 1e-6

# intel-rapl:0 is package 0; intel-rapl:0:1 a subzone of it. AMD exposes the same names.
_ZONE_RE = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")


@dataclass(frozen=True, slots=True)
class RaplZone:
    """One RAPL counter we sum: a CPU package or its DRAM subzone."""

    component: str  # "cpu:0" or "ram:0"
    energy_path: Path
    max_energy_range_uj: int


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except PermissionError as err:
        raise MeterUnavailableError(
            f"cannot read {path} (permission denied); run as root or "
            f"`sudo chmod o+r {path.parent.parent}/intel-rapl:*/energy_uj "
            f"{path.parent.parent}/intel-rapl:*:*/energy_uj`"
        ) from err
    except (OSError, ValueError) as err:
        raise MeasurementError(f"cannot read RAPL counter {path}: {err}") from err


def discover_zones(root: Path) -> list[RaplZone]:
    """Find package zones and their ``dram`` subzones under ``root``.

    ``core``/``uncore`` subzones are skipped (already inside the package figure), and so is
    ``psys`` (the whole SoC, which would double count the package).
    """
    zones: list[RaplZone] = []
    if not root.is_dir():
        return zones
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        match = _ZONE_RE.match(entry.name)
        if match is None or not (entry / "energy_uj").exists():
            continue
        package, sub = match.group(1), match.group(2)
        name_file = entry / "name"
        name = name_file.read_text().strip() if name_file.exists() else ""
        if sub is None and name.startswith("package"):
            component = f"cpu:{package}"
        elif sub is not None and name == "dram":
            component = f"ram:{package}"
        else:
            continue
        zones.append(
            RaplZone(component, entry / "energy_uj", _read_int(entry / "max_energy_range_uj"))
        )
    return zones


class RaplMeter(Meter):
    """Measures CPU package (and DRAM, where exposed) energy with RAPL; readings are "measured".

    Caveat: a counter wraps after ``max_energy_range_uj`` (typically ~262 kJ, i.e. tens of
    minutes at full load); one wrap per window is corrected, several cannot be seen.
    """

    name = "rapl"
    method = "measured"

    def __init__(
        self,
        *,
        root: str | Path = DEFAULT_POWERCAP_ROOT,
        country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE,
        carbon_intensity_g_per_kwh: float | None = None,
    ) -> None:
        """Find readable RAPL zones under ``root``.

        Args:
            root: The powercap directory; tests pass a fake tree built in ``tmp_path``.
            country_iso_code: See :class:`Meter`.
            carbon_intensity_g_per_kwh: See :class:`Meter`.

        Raises:
            MeterUnavailableError: No RAPL package zone, or its counter is unreadable.
        """
        super().__init__(
            country_iso_code=country_iso_code,
            carbon_intensity_g_per_kwh=carbon_intensity_g_per_kwh,
        )
        self._root = Path(root)
        self._zones = discover_zones(self._root)
        if not self._zones:
            raise MeterUnavailableError(
                f"no RAPL package zone under {self._root} (no Intel/AMD RAPL, or a VM); "
                "use --meter codecarbon"
            )
        self._read()  # surfaces permission errors now, with the fix
        self._details.update({z.component.split(":")[0]: "measured: RAPL" for z in self._zones})

    @property
    def zones(self) -> tuple[RaplZone, ...]:
        """The counters summed by this meter."""
        return tuple(self._zones)

    def _read(self) -> tuple[int, ...]:
        return tuple(_read_int(z.energy_path) for z in self._zones)

    def _components_j(
        self, start: tuple[int, ...], end: tuple[int, ...], duration_s: float
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for zone, s_uj, e_uj in zip(self._zones, start, end, strict=True):
            if e_uj >= s_uj:
                delta_uj = e_uj - s_uj
            else:  # the counter wrapped at max_energy_range_uj back to 0
                delta_uj = zone.max_energy_range_uj - s_uj + e_uj
                if delta_uj < 0:
                    raise MeasurementError(
                        f"RAPL counter {zone.energy_path} went from {s_uj} to {e_uj} uJ, beyond "
                        f"its range {zone.max_energy_range_uj}; rerun the stage"
                    )
            out[zone.component] = out.get(zone.component, 0.0) + delta_uj * UJ_TO_J
        warn_if_zero(self.name, out, duration_s, "1 ms")
        return out
