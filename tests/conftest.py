"""Shared fixtures: a tiny study that trains in seconds, and a deterministic meter."""

from __future__ import annotations

import gzip
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from greensearch.config import StudyConfig

EMBEDDED = Path(__file__).resolve().parents[1] / "greensearch" / "data" / "embedded"

#: Architecture small enough for a test to train in a few seconds on 2 cores.
TINY_ARCH = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 2,
    "local_attention": 32,
}


@dataclass(frozen=True)
class FakeMeasurement:
    """Shaped like ``greensearch.energy.Measurement``: 10 W of pretend power."""

    key: str
    duration_s: float
    energy_j: float
    idle_energy_j: float
    co2_kg: float
    meter: str = "fake"
    method: str = "estimated"
    components_j: dict[str, float] = field(default_factory=dict)


class ClockMeter:
    """A meter whose energy is 10 W x wall time: deterministic arithmetic for tests."""

    name = "fake"
    method = "estimated"
    idle_power_w = 1.0

    def __init__(self) -> None:
        self.open: dict[str, float] = {}
        self.closed: list[FakeMeasurement] = []

    def begin(self, key: str) -> None:
        assert key not in self.open, f"duplicate window {key}"
        self.open[key] = time.perf_counter()

    def end(self, key: str) -> FakeMeasurement:
        duration = time.perf_counter() - self.open.pop(key)
        m = FakeMeasurement(key, duration, 10.0 * duration, 1.0 * duration, 1e-7 * duration)
        self.closed.append(m)
        return m

    def close(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _logging_as_found() -> Any:
    """Puts the root logger back as each test found it.

    A test that runs the CLI in this process configures logging for it (``-q`` raises the
    root level to ERROR), a library may disable the loggers that exist, and a later test
    reading warnings through ``caplog`` would then see none.
    """
    import logging
    import threading

    def loggers() -> dict[str, logging.Logger]:
        found = logging.root.manager.loggerDict.items()
        return {name: lg for name, lg in found if isinstance(lg, logging.Logger)}

    root = logging.getLogger()
    level, handlers, hook = root.level, list(root.handlers), threading.excepthook
    before = {name: (lg.level, lg.disabled, lg.propagate) for name, lg in loggers().items()}
    yield
    root.setLevel(level)
    root.handlers[:] = handlers
    threading.excepthook = hook
    logging.captureWarnings(False)
    # a library's logging.config call disables every logger that existed (and a CLI run
    # can change their levels): greensearch's own loggers must reach caplog again
    for name, lg in loggers().items():
        # a logger first made during the test (greensearch's own parent logger is one)
        # starts over at NOTSET
        was_level, lg.disabled, lg.propagate = before.get(name, (logging.NOTSET, False, True))
        lg.setLevel(was_level)  # through setLevel: it clears the loggers' level caches


def positive_f1(record: dict[str, Any]) -> float:
    """F1 of the positive class, counted from the test predictions a run record keeps."""
    from greensearch.stats import RunPredictions

    kept = RunPredictions.from_run_record(record)
    assert kept is not None, "the run kept no predictions"
    tp = int(((kept.classes == 1) & (kept.labels == 1)).sum())
    fp = int(((kept.classes == 1) & (kept.labels == 0)).sum())
    fn = int(((kept.classes == 0) & (kept.labels == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


@pytest.fixture
def trainers(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every Hugging Face Trainer that builds its optimizer while the test runs, in order."""
    from transformers import Trainer

    built: list[Any] = []
    create = Trainer.create_optimizer

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(self)
        return create(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "create_optimizer", recording)
    return built


@pytest.fixture
def clock_meter() -> ClockMeter:
    """A fresh deterministic meter."""
    return ClockMeter()


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-row CSV drawn from the embedded dataset (same columns as BigVul)."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for split in ("train", "test"):
        with gzip.open(EMBEDDED / f"vulnsynth-{split}.jsonl.gz", "rt", encoding="utf-8") as f:
            rows.extend(json.loads(line) for line in f)
    frame = pd.DataFrame(rows)[["func_before", "vul"]]
    pos = frame[frame.vul == 1].head(90)
    neg = frame[frame.vul == 0].head(210)
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    pd.concat([pos, neg]).sample(frac=1.0, random_state=0).to_csv(path, index=False)
    return path


@pytest.fixture
def tiny_study(tiny_csv: Path) -> StudyConfig:
    """A study that runs all six stages in a few seconds."""
    return StudyConfig(
        name="tiny",
        dataset=str(tiny_csv),
        max_length=64,
        epochs=1.0,
        batch_size=16,
        eval_batch_size=64,
        learning_rate=1e-3,
        model_config=dict(TINY_ARCH),
        source="<tiny>",
    )
