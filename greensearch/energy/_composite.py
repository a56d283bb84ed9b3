"""Several meters read as one: NVML for the GPUs plus RAPL or CodeCarbon for CPU/RAM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from greensearch.energy._base import Meter
from greensearch.energy._carbon import DEFAULT_COUNTRY_ISO_CODE
from greensearch.exceptions import ConfigError

__all__ = ["CompositeMeter"]


class CompositeMeter(Meter):
    """Reads every part at each edge and merges their components.

    ``method`` is "measured" only if every part is; ``details`` keeps each component's own
    method, so a GPU-measured, CPU-estimated reading says exactly that.
    """

    def __init__(
        self,
        parts: Sequence[Meter],
        *,
        country_iso_code: str = DEFAULT_COUNTRY_ISO_CODE,
        carbon_intensity_g_per_kwh: float | None = None,
    ) -> None:
        """Combine ``parts`` (at least one); the name joins theirs, e.g. ``"nvml+rapl"``.

        Raises:
            ConfigError: No parts were given.
        """
        if not parts:
            raise ConfigError("CompositeMeter needs at least one meter; pass e.g. [NvmlMeter()]")
        super().__init__(
            country_iso_code=country_iso_code,
            carbon_intensity_g_per_kwh=carbon_intensity_g_per_kwh,
        )
        self._parts = list(parts)
        self.name = "+".join(p.name for p in self._parts)
        self.method = "measured" if all(p.method == "measured" for p in parts) else "estimated"
        for part in self._parts:
            self._details.update({k: v for k, v in part.details.items() if k != "carbon"})

    @property
    def parts(self) -> tuple[Meter, ...]:
        """The combined meters, in reading order."""
        return tuple(self._parts)

    def _sync(self) -> None:
        for part in self._parts:
            part._sync()

    def _read(self) -> tuple[Any, ...]:
        return tuple(part._read() for part in self._parts)

    def _components_j(
        self, start: tuple[Any, ...], end: tuple[Any, ...], duration_s: float
    ) -> dict[str, float]:
        out: dict[str, float] = {}
        for part, s, e in zip(self._parts, start, end, strict=True):
            for component, joules in part._components_j(s, e, duration_s).items():
                out[component] = out.get(component, 0.0) + joules
        return out

    def _sample_idle_power_w(self, seconds: float) -> tuple[float, str]:
        results = [part._sample_idle_power_w(seconds) for part in self._parts]
        how = "; ".join(
            f"{p.name}: {text}" for p, (_, text) in zip(self._parts, results, strict=True)
        )
        return sum(w for w, _ in results), how

    def close(self) -> None:
        """Close every part."""
        super().close()
        for part in self._parts:
            part.close()
