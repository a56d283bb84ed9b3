"""Trials left running by a process killed before their first heartbeat are retried."""

from __future__ import annotations

import datetime
import os
import socket
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from greensearch.config import StudyConfig
from greensearch.schema import TrialAttr
from greensearch.search import _liveness
from greensearch.search._liveness import UNBORN_S, fail_dead_trials
from greensearch.search._replay import ReplayRunner
from greensearch.search._storage import open_storage, retried_trial_numbers
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search

pytestmark = pytest.mark.filterwarnings("ignore:Heartbeat of storage:UserWarning")


def _study(tmp_path: Path) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'study.db'}")
    return optuna.create_study(study_name="t", storage=storage, directions=["minimize", "minimize"])


def test_only_a_trial_that_never_reached_the_objective_counts_as_unborn(tmp_path: Path) -> None:
    study = _study(tmp_path)
    unborn = study.ask()  # what a process killed between ask() and its first heartbeat leaves
    started = study.ask()
    started.set_user_attr(TrialAttr.STARTED, started.number)

    assert fail_dead_trials(study) == []  # young: still in ask() for all anyone knows
    later = datetime.datetime.now() + datetime.timedelta(seconds=UNBORN_S + 1)
    assert fail_dead_trials(study, now=later) == [unborn.number]

    trials = study.get_trials()
    assert trials[unborn.number].state == TrialState.FAIL
    assert trials[started.number].state == TrialState.RUNNING  # the heartbeat judges it
    assert retried_trial_numbers(trials) == {unborn.number}
    assert [t.state for t in trials if t.number > started.number] == [TrialState.WAITING]
    assert fail_dead_trials(study, now=later) == []  # failed and retried once


def test_a_retry_carries_the_killed_trials_mark_so_its_own_start_still_counts(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path)
    killed = study.ask()
    killed.set_user_attr(TrialAttr.STARTED, killed.number)
    study.tell(killed, state=TrialState.FAIL)
    study.enqueue_trial({}, user_attrs={TrialAttr.STARTED: killed.number})  # Optuna's copy
    retry = study.ask()  # ... and its process killed again, before the objective
    assert retry.number != killed.number
    later = datetime.datetime.now() + datetime.timedelta(seconds=UNBORN_S + 1)
    assert fail_dead_trials(study, now=later) == [retry.number]


def test_a_resume_retries_a_trial_killed_before_its_first_heartbeat(
    tmp_path: Path, clock_meter, monkeypatch: pytest.MonkeyPatch
) -> None:
    replay_study = StudyConfig(name="replay", source="<replay>")
    url = f"sqlite:///{tmp_path / 'study.db'}"

    def search() -> None:
        run_search(
            replay_study,
            n_trials=8,
            storage=url,
            study_name="t",
            fidelity=0.5,
            repeats=1,
            baseline_repeats=1,
            finalists=1,
            meter=clock_meter,
            registry=make_registry(),
            run_fn=ReplayRunner(landscape()),
            seed=0,
        )

    search()
    study = optuna.load_study(study_name="t", storage=url)
    unborn = study.ask()  # a worker killed right after ask(): RUNNING without a heartbeat
    monkeypatch.setattr(_liveness, "UNBORN_S", 0.0)  # instead of waiting a minute

    search()  # used to wait for the unborn trial for six hours

    trials = optuna.load_study(study_name="t", storage=url).get_trials()
    assert trials[unborn.number].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == unborn.number]
    assert len(retries) == 1 and retries[0].state.is_finished()
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    measured = [t for t in trials if t.state == TrialState.COMPLETE]
    assert all(t.user_attrs[TrialAttr.STARTED] == t.number for t in measured)
    assert {t.user_attrs[TrialAttr.WORKER] for t in measured} == {
        f"{socket.gethostname()}:{os.getpid()}"
    }
