"""Exactly one trial measures a knob set: the lowest-numbered of those that pick it."""

from __future__ import annotations

from typing import Any

import optuna
import pytest

from greensearch.schema import TrialAttr
from greensearch.search import _objective
from greensearch.search._objective import TrialRunner


def _runner() -> TrialRunner:
    # _wait_for_claim reads only the study and the polling settings.
    placeholder: Any = None
    return TrialRunner(
        study_cfg=placeholder, space=placeholder, budget_pct=1.0, meter=None, poll_s=0.0
    )


def _started(study: optuna.Study) -> optuna.Trial:
    trial = study.ask()
    trial.set_user_attr(TrialAttr.STARTED, trial.number)  # reached the objective: not unborn
    return trial


def _pick(trial: optuna.Trial, knobs: str) -> None:
    trial.set_user_attr(TrialAttr.FIDELITY, 0.5)
    trial.set_user_attr(TrialAttr.KNOBS, knobs)


def _study() -> optuna.Study:
    return optuna.create_study(directions=["minimize", "minimize"])


def test_a_trial_waits_for_a_lower_trial_that_picks_the_same_knob_set_after_it_looked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = _study()
    lower, upper = _started(study), _started(study)
    _pick(upper, "trim")  # the higher-numbered trial picks first and looks first
    events: list[str] = []

    def other_worker(_seconds: float) -> None:  # the lower trial's worker, meanwhile
        if not events:
            _pick(lower, "trim")
            events.append("picked")
        else:
            study.tell(lower, [1.0, 0.0])
            events.append("measured")

    monkeypatch.setattr(_objective.time, "sleep", other_worker)
    prior = _runner()._wait_for_claim(upper, "trim", 0.5)
    assert prior is not None and prior.number == lower.number  # reused, not measured again
    assert events == ["picked", "measured"]


def test_a_trial_measures_once_the_lower_trial_picks_another_knob_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = _study()
    lower, upper = _started(study), _started(study)
    _pick(upper, "trim")
    waits: list[float] = []

    def other_worker(seconds: float) -> None:
        waits.append(seconds)
        _pick(lower, "compile")

    monkeypatch.setattr(_objective.time, "sleep", other_worker)
    assert _runner()._wait_for_claim(upper, "trim", 0.5) is None
    assert len(waits) == 1


def test_the_lowest_numbered_trial_never_waits_for_a_higher_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    study = _study()
    lower, upper = _started(study), _started(study)
    _pick(upper, "trim")
    _pick(lower, "trim")

    def no_sleep(_seconds: float) -> None:
        raise AssertionError("the lowest-numbered trial of a knob set measures it at once")

    monkeypatch.setattr(_objective.time, "sleep", no_sleep)
    assert _runner()._wait_for_claim(lower, "trim", 0.5) is None
