"""The replay runner's noise hook: seeds, drift over its clock, kept predictions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from greensearch.config import StudyConfig
from greensearch.search import Point, ReplayRunner, RunNoise
from greensearch.search._extrapolate import trial_attrs
from greensearch.search._f1_judging import kept_predictions
from greensearch.stats import RunPredictions

STUDY = StudyConfig(name="replay", source="<replay>", seed=42)
POINT = Point(energy_kwh=1.0e-3, duration_s=100.0, f1=0.9, train_share=0.5)
LABELS = [1, 1, 1, 1, 0, 0, 0, 0]


@dataclass
class StepDrift:
    """Doubles energy once 150 s of runs have passed; F1 and predictions by seed."""

    seen: list[tuple[str, float, int, float]] = field(default_factory=list)

    def run(
        self, key: str, point: Point, *, fidelity: float, seed: int, clock_s: float
    ) -> RunNoise:
        self.seen.append((key, fidelity, seed, clock_s))
        wrong = seed - 42  # seed 43 misses one positive, seed 44 two
        classes = [0] * wrong + LABELS[wrong:]
        preds = RunPredictions.from_lists(split_id="s", labels=LABELS, classes=classes, seed=seed)
        return RunNoise(2.0 if clock_s >= 150 else 1.0, 0.5 + seed / 1000, preds)


def test_runs_are_seeded_like_run_variant_and_drift_follows_the_clock():
    noise = StepDrift()
    replay = ReplayRunner({"": POINT}, noise=noise)
    summary = replay(STUDY, {}, repeats=2, fidelity=1.0, first_repeat=1)
    # repeat r trains with seed study.seed + r; the second run starts after the first's 100 s
    assert noise.seen == [("", 1.0, 43, 0.0), ("", 1.0, 44, 100.0)]
    assert [r["seed"] for r in summary["runs"]] == [43, 44]
    assert [r["metrics"]["f1"] for r in summary["runs"]] == [0.543, 0.544]
    short = replay(STUDY, {}, repeats=1, fidelity=0.5)  # at 200 s: drift doubles it
    # fidelity 0.5 of a run half of which is training: 0.75 of the point, times 2
    assert short["energy_kwh"] == pytest.approx(2 * 0.75e-3)
    assert replay.clock_s == pytest.approx(100 + 100 + 2 * 75)


def test_kept_predictions_reach_the_trial_with_their_seeds():
    summary = ReplayRunner({"": POINT}, noise=StepDrift())(STUDY, {}, repeats=2, first_repeat=1)
    runs = kept_predictions(trial_attrs(summary))
    assert [r.seed for r in runs] == [43, 44]
    assert [int((r.classes != r.labels).sum()) for r in runs] == [1, 2]
    assert summary["metrics"]["f1_ci95"] is not None  # the interval over seeds and examples


def test_without_noise_records_keep_no_predictions():
    summary = ReplayRunner({"": POINT})(STUDY, {}, repeats=1)
    assert summary["runs"][0]["seed"] == 42
    assert "predictions" not in summary["runs"][0]
    assert summary["energy_kwh"] == pytest.approx(1.0e-3)


def test_a_short_run_predicts_its_share_of_the_test_split_and_pays_only_for_that():
    replay = ReplayRunner({"": POINT}, test_examples=2883)
    short = replay(STUDY, {}, fidelity=0.25)
    run = short["runs"][0]
    assert (run["eval_examples"], run["test_examples"]) == (721, 2883)
    # half the point is training (x0.25 of it), the eval half predicts 721 of 2883
    spent = POINT.energy_kwh * (0.5 * 0.25 + 0.5 * 721 / 2883)
    assert run["energy_kwh"] == pytest.approx(spent)
    attrs = trial_attrs(short)  # both windows scaled back: the point's full-run energy
    assert attrs["energy_kwh"] == pytest.approx(POINT.energy_kwh)
    assert attrs["energy_kwh_spent"] == pytest.approx(spent)
    full = replay(STUDY, {}, fidelity=1.0)["runs"][0]
    assert full["eval_examples"] == 2883 and full["energy_kwh"] == pytest.approx(1.0e-3)
