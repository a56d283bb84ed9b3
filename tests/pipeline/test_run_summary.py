"""``greensearch.run`` returns a typed summary; ``to_dict()`` is the ``run --json`` document."""

from __future__ import annotations

from typing import Any

import pytest

import greensearch
import greensearch.energy
import greensearch.pipeline
from greensearch.pipeline import RunSummary

SUMMARY: dict[str, Any] = {
    "variant": "v1",
    "knobs": "seq_len=128",
    "repeats": 2,
    "energy_kwh": 0.25,
    "duration_s": 40.0,
    "co2_kg": 0.1,
    "metrics": {"f1": 0.75, "degenerate": False},
    "meter": {"name": "rapl", "method": "measured"},
    "stages": {"train": {"energy_kwh": 0.2, "duration_s": 30.0}},
}


class _Meter:
    closed = False

    def close(self) -> None:
        _Meter.closed = True


def test_run_returns_the_typed_summary_of_run_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[Any, ...]] = []

    def run_variant(cfg: Any, bundle: Any, **kw: Any) -> dict[str, Any]:
        calls.append((cfg.name, dict(bundle), kw["repeats"]))
        return SUMMARY

    monkeypatch.setattr(greensearch.pipeline, "run_variant", run_variant)
    monkeypatch.setattr(greensearch.energy, "make_meter", lambda name: _Meter())
    got = greensearch.run(None, "seq_len=128", repeats=2, idle_seconds=0)
    assert isinstance(got, RunSummary)
    assert [call[1:] for call in calls] == [({"seq_len": "128"}, 2)]
    assert (got.knobs, got.repeats, got.f1, got.meter, got.method) == (
        "seq_len=128",
        2,
        0.75,
        "rapl",
        "measured",
    )
    assert got.energy_kwh == 0.25 and got.stages["train"]["duration_s"] == 30.0
    assert got.to_dict() == SUMMARY and _Meter.closed
