"""One variant's runs as a typed summary: what :func:`greensearch.run` returns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greensearch.schema import StageFigures

__all__ = ["RunSummary"]


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The mean figures of a variant's repeated runs, with every run kept.

    Attributes:
        variant: The variant's label (``None``: unnamed).
        knobs: Canonical bundle text (``""``: the baseline).
        repeats: Number of runs.
        energy_kwh: Mean energy of one run.
        duration_s: Mean wall time of one run.
        co2_kg: Mean emissions of one run.
        f1: Mean test F1.
        degenerate: Some run predicted one class only (its F1 says nothing).
        meter: The meter's name.
        method: ``measured``, or ``estimated`` where any figure was.
        stages: Mean energy and time per stage.
        summary: The whole summary, as ``greensearch run --json`` prints it.
    """

    variant: str | None
    knobs: str
    repeats: int
    energy_kwh: float
    duration_s: float
    co2_kg: float
    f1: float
    degenerate: bool
    meter: str
    method: str
    stages: Mapping[str, StageFigures]
    summary: Mapping[str, Any]

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> RunSummary:
        """The typed view of ``summarize``'s dict."""
        metrics, meter = summary["metrics"], summary["meter"]
        return cls(
            variant=summary.get("variant"),
            knobs=str(summary.get("knobs", "")),
            repeats=int(summary["repeats"]),
            energy_kwh=float(summary["energy_kwh"]),
            duration_s=float(summary["duration_s"]),
            co2_kg=float(summary["co2_kg"]),
            f1=float(metrics["f1"]),
            degenerate=bool(metrics["degenerate"]),
            meter=str(meter.get("name")),
            method=str(meter.get("method")),
            stages=summary["stages"],
            summary=summary,
        )

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON (what ``greensearch run --json`` prints)."""
        return dict(self.summary)
