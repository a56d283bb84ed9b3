"""Drift anchors: trials compared with a baseline measured near them in time."""

from __future__ import annotations

from dataclasses import dataclass

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.record import TrialRecord
from greensearch.search._anchors import anchor_due, drift_factor
from greensearch.search._replay import Point, ReplayRunner, RunNoise
from tests.search.landscape import BASE_ENERGY, landscape, make_registry, true_oracle
from tests.search.run_search import run_search

STUDY = StudyConfig(name="replay", source="<replay>")


def _rec(number: int, knobs: str, anchor: float | None = None) -> TrialRecord:
    attrs = {"knobs": knobs, "phase": "baseline" if knobs == "" else "single"}
    attrs["energy_kwh_spent"] = 1.0
    if anchor is not None:
        attrs["anchor_energy_kwh"] = anchor
    return TrialRecord.from_attrs(attrs, number=number)


def test_an_anchor_is_due_every_k_measured_trials() -> None:
    history = [_rec(0, "")]
    due = []
    for n in range(1, 8):
        due.append(anchor_due(history, 3))
        history.append(_rec(n, "trim", anchor=2.0 if due[-1] else None))
    # the baseline is the first anchor: trials 1, 2 run none, 3 does, 4, 5 none, 6 does
    assert due == [False, False, True, False, False, True, False]
    assert not anchor_due(history, 0)


def test_the_latest_anchor_scales_the_energy() -> None:
    history = [_rec(0, ""), _rec(1, "trim", anchor=1.25), _rec(2, "compile")]
    assert drift_factor(history[:1], 1.0, None) == 1.0  # the baseline itself is the anchor
    assert drift_factor(history, 1.0, None) == pytest.approx(0.8)  # 1.0 / 1.25
    assert drift_factor(history, 1.0, 2.0) == pytest.approx(0.5)  # its own anchor wins


@dataclass
class _SlowerAfter:
    """The machine runs ``factor`` times slower (and costlier) after the first ``runs``."""

    runs: int
    factor: float
    seen: int = 0

    def run(self, key: str, point: Point, *, fidelity: float, seed: int, clock_s: float):
        self.seen += 1
        return RunNoise(self.factor if self.seen > self.runs else 1.0, point.f1)


def _search(anchor_every: int) -> tuple[dict[str, float], str | None]:
    storage = optuna.storages.InMemoryStorage()
    runner = ReplayRunner(landscape(), noise=_SlowerAfter(runs=3, factor=1.6))
    result = run_search(
        STUDY,
        budget_f1="-1%",
        n_trials=10,
        storage=storage,
        study_name="t",
        fidelity=0.5,
        repeats=1,
        baseline_repeats=3,
        meter=None,
        idle_seconds=0,
        registry=make_registry(),
        run_fn=runner,
        seed=0,
        anchor_every=anchor_every,
    )
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    recs = [TrialRecord.from_trial(t) for t in trials]
    base = next(r for r in recs if r.is_baseline and not r.is_final)
    ratios = {
        r.knobs: r.values[0] / base.values[0]
        for r in recs
        if r.phase == "single" and r.values is not None and r.knobs
    }
    return ratios, result.oracle.knobs if result.oracle else None


def test_anchors_undo_a_machine_that_slowed_after_the_baseline() -> None:
    drifted, drifted_oracle = _search(anchor_every=0)
    anchored, anchored_oracle = _search(anchor_every=1)
    truth = {k: p.energy_kwh / BASE_ENERGY for k, p in landscape().items()}
    # without anchors every single carries the 1.6x slowdown: trim (0.7) looks costly
    assert drifted["trim"] == pytest.approx(0.7 * 1.6)
    # with one anchor before each trial its ratio is the truth
    for key, ratio in anchored.items():
        assert ratio == pytest.approx(truth[key]), key
    assert anchored_oracle == true_oracle(1.0) == "compile,prune=2,trim"
    assert drifted_oracle != anchored_oracle
