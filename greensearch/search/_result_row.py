"""One bundle in a search's answer: the oracle, a finalist, the baseline or a Pareto point."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from greensearch.schema import TrialRow

__all__ = ["EnergyInterval", "ResultRow"]


@dataclass(frozen=True, slots=True)
class EnergyInterval:
    """The 95 % interval of a full-fidelity bundle's ΔEnergy.

    Attributes:
        delta_energy_ci95_pct: ``[low, high]`` in percent (``None``: fewer than two runs).
        kind: ``paired rounds`` or ``runs vs baseline mean`` (``None`` with no interval).
        energy_kwh_ci95: The interval of its energy itself, as stored.
    """

    delta_energy_ci95_pct: list[float] | None
    kind: str | None = None
    energy_kwh_ci95: list[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The keys ``--json`` prints (only the first where there is no interval)."""
        if self.delta_energy_ci95_pct is None:
            return {"delta_energy_ci95_pct": None}
        return {
            "delta_energy_ci95_pct": self.delta_energy_ci95_pct,
            "delta_energy_ci_kind": self.kind,
            "energy_kwh_ci95": self.energy_kwh_ci95,
        }


@dataclass(frozen=True, slots=True)
class ResultRow:
    """A trial's figures as the answer shows them.

    Attributes:
        row: The trial's figures (:class:`~greensearch.schema.TrialRow`).
        energy_interval: Its ΔEnergy interval (full-fidelity rows), else ``None``.
        near_miss: For a finalist: re-measured as an uncertain bundle, not a feasible one.
        promoted: For a finalist: promoted after no earlier finalist was confirmed.
        to_confirm: For the unconfirmed bundle: what would settle its verdict.
        error: For a finalist whose final trial failed: why (its runs reported another
            metric than the baseline's, say); it has no verdict and cannot be the oracle.
    """

    row: TrialRow
    energy_interval: EnergyInterval | None = None
    near_miss: bool | None = None
    promoted: bool | None = None
    to_confirm: str | None = None
    error: str | None = None

    @property
    def knobs(self) -> str:
        """Canonical bundle text (``""``: the baseline)."""
        return self.row["knobs"]

    @property
    def energy_kwh(self) -> float | None:
        """Mean energy of one full run."""
        return self.row["energy_kwh"]

    @property
    def delta_energy_ci95_pct(self) -> list[float] | None:
        """ΔEnergy's 95 % interval in percent, where there is one."""
        ci = self.energy_interval
        return ci.delta_energy_ci95_pct if ci is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The row as ``--json`` prints it."""
        out: dict[str, Any] = dict(self.row)
        if self.near_miss is not None:
            out["near_miss"] = self.near_miss
        if self.promoted:
            out["promoted"] = True
        if self.energy_interval is not None:
            out.update(self.energy_interval.to_dict())
        if self.to_confirm is not None:
            out["to_confirm"] = self.to_confirm
        if self.error is not None:
            out["error"] = self.error
        return out
