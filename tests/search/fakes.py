"""Fakes shared by the search tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from tests.search.landscape import make_registry

__all__ = ["FakeRunner"]


@dataclass
class FakeRunner:
    """What ``run_rounds`` reads of a TrialRunner; ``run_fn`` records every measurement."""

    run_fn: Any
    repeats: int = 2
    max_rounds: int = 2  # fixed rounds: the sequential looks are tested in test_sequential.py
    confidence: float = 0.95
    budget_pct: float = 1.0
    study_cfg: Any = None
    meter: Any = None
    results_path: Any = None
    space: Any = field(default_factory=lambda: SimpleNamespace(registry=make_registry()))
    poll_s: float = 0.02
    wait_timeout_s: float = 60.0

    def warm(self) -> None:
        """Nothing to warm."""
