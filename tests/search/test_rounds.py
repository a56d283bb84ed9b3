"""Final rounds: pairs per invocation, resumes that continue, and runs claimed once."""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any

import optuna
import pytest

from greensearch.exceptions import MeasurementError
from greensearch.schema import TrialAttr
from greensearch.search import _rounds
from greensearch.search._replay import ReplayRunner
from greensearch.search._rounds import (
    Invocation,
    holding,
    is_claim,
    plan_invocation,
    run_rounds,
    stored_invocations,
)
from tests.search.fakes import FakeRunner
from tests.search.landscape import landscape


def _study(tmp_path: Path) -> optuna.Study:
    storage = optuna.storages.RDBStorage(
        f"sqlite:///{tmp_path / 'rounds.db'}", engine_kwargs={"connect_args": {"timeout": 60}}
    )
    return optuna.create_study(
        study_name="r", storage=storage, directions=["minimize", "minimize"], load_if_exists=True
    )


def _runs(study: optuna.Study) -> list[str]:
    """The run identities whose records the study holds, in claim order."""
    return [
        t.user_attrs[TrialAttr.FINAL_RUN]
        for t in study.get_trials()
        if is_claim(t) and TrialAttr.FINAL_RECORD in t.user_attrs
    ]


def test_a_resume_with_a_new_finalist_measures_its_own_baseline_rounds(tmp_path):
    study, replay = _study(tmp_path), ReplayRunner(landscape())
    first = plan_invocation(stored_invocations(study), ["", "prune=2"], {})
    assert first == Invocation(0, ("", "prune=2"))
    run_rounds(study, first, FakeRunner(replay))
    # Round 1 baseline first, round 2 baseline last (ABBA).
    assert [c[0] for c in replay.calls] == ["", "prune=2", "prune=2", ""]

    # Hours later the finals hold a new finalist: "trim". The old baseline is not its pair.
    done = {"": {0}, "prune=2": {0}}
    second = plan_invocation(stored_invocations(study), ["", "prune=2", "trim"], done)
    assert second == Invocation(1, ("", "trim"))
    summaries = run_rounds(study, second, FakeRunner(replay)).summaries
    assert [c[0] for c in replay.calls[4:]] == ["", "trim", "trim", ""]
    assert set(summaries) == {"", "trim"} and summaries[""]["repeats"] == 2
    # Each pair is (invocation, round): the new baseline runs sit in generation 1.
    assert _runs(study) == [
        "0:0:", "0:0:prune=2", "0:1:prune=2", "0:1:",
        "1:0:", "1:0:trim", "1:1:trim", "1:1:",
    ]  # fmt: skip
    # Each invocation keeps the level its rounds started at, for a resume to continue at.
    assert stored_invocations(study) == [
        dataclasses.replace(first, confidence=FakeRunner(replay).confidence),
        dataclasses.replace(second, confidence=FakeRunner(replay).confidence),
    ]


def test_a_plain_resume_continues_its_invocation_at_the_next_run(tmp_path):
    study = _study(tmp_path)
    replay = ReplayRunner(landscape())
    calls: list[str] = []

    def killed_on_third(key: str) -> None:
        calls.append(key)
        if len(calls) == 3:
            raise KeyboardInterrupt  # Ctrl-C mid-run of round 2's first run

    replay.on_call = killed_on_third
    invocation = plan_invocation([], ["", "prune=2"], {})
    assert invocation is not None
    with pytest.raises(KeyboardInterrupt):
        run_rounds(study, invocation, FakeRunner(replay))
    # Same finalists, nothing recorded as final yet: the same invocation, not a new one.
    again = plan_invocation(stored_invocations(study), ["", "prune=2"], {})
    assert again is not None
    assert (again.generation, again.keys) == (invocation.generation, invocation.keys)
    # A resume runs at the level stored when the rounds started, whichever phase (and so
    # whichever share of the error rate) the resuming process asks for.
    assert _rounds.stored_level(study, dataclasses.replace(again, confidence=0.99)) == 0.95
    replay.on_call = calls.append
    run_rounds(study, again, FakeRunner(replay))
    assert calls == ["", "prune=2", "prune=2", "prune=2", ""]  # only the interrupted run again
    assert sorted(_runs(study)) == ["0:0:", "0:0:prune=2", "0:1:", "0:1:prune=2"]
    # Everything measured and recorded: nothing left to run.
    assert plan_invocation([again], ["", "prune=2"], {"": {0}, "prune=2": {0}}) is None


def test_two_processes_on_one_study_never_measure_one_run_twice(tmp_path):
    _study(tmp_path)  # create it once; each worker opens its own storage, as a process does
    calls: list[str] = []
    lock = threading.Lock()

    def slow(key: str) -> None:
        with lock:
            calls.append(key)
        time.sleep(0.3)  # a measurement outlasts the claim poll, as real ones do

    invocation = Invocation(0, ("", "prune=2", "trim"))
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            replay = ReplayRunner(landscape(), on_call=slow)
            results.append(run_rounds(_study(tmp_path), invocation, FakeRunner(replay)))
        except BaseException as err:  # reported by the assertion below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 2
    assert sorted(calls) == sorted(["", "prune=2", "trim"] * 2)  # 6 runs, each once
    assert sorted(_runs(_study(tmp_path))) == sorted(
        f"0:{r}:{k}" for r in range(2) for k in invocation.keys
    )
    # Both finish with the same figures: the loser read the winner's records.
    assert results[0] == results[1]


def _held_elsewhere(study: optuna.Study, lock: str) -> int:
    """A live claim on ``lock`` by a process of another host (never found dead from here)."""
    number = _rounds._new_claim(study, lock)
    _rounds.store_on(study, number, TrialAttr.WORKER, "elsewhere:1")
    return number


def _lock_claims(study: optuna.Study, lock: str) -> list[tuple[str, str | None]]:
    return [
        (t.state.name, t.user_attrs.get(TrialAttr.ERROR))
        for t in study.get_trials()
        if t.user_attrs.get(TrialAttr.FINAL_RUN) == lock
    ]


def test_a_lock_runs_its_body_only_after_the_earlier_holder_released_it(tmp_path, monkeypatch):
    # The race it closes: a process read its answer while the other still recorded finals.
    study = _study(tmp_path)
    other = _held_elsewhere(study, "record:0")
    events: list[str] = []

    def other_process(_seconds: float) -> None:  # the holder finishes while this one waits
        events.append("other released")
        _rounds._close(study, other)

    monkeypatch.setattr(_rounds.time, "sleep", other_process)
    with holding(study, "record:0", poll_s=0.0, wait_s=60.0):
        events.append("body")
    assert events == ["other released", "body"]
    assert _lock_claims(study, "record:0") == [("PRUNED", None), ("PRUNED", None)]
    with holding(study, "record:0", poll_s=0.0, wait_s=60.0):  # released: taken at once
        events.append("again")
    assert events[-1] == "again"


def test_a_lock_is_released_when_its_body_fails_or_its_wait_gives_up(tmp_path):
    study = _study(tmp_path)
    with pytest.raises(ZeroDivisionError), holding(study, "record:0", poll_s=0.0, wait_s=60.0):
        _ = 1 / 0
    other = _held_elsewhere(study, "record:0")
    with (
        pytest.raises(MeasurementError, match=f"holding 'record:0' \\(claim trial {other}\\)"),
        holding(study, "record:0", poll_s=0.0, wait_s=0.0),
    ):
        pytest.fail("the body ran while another process held the lock")
    unfinished = "released unfinished: its holder stopped on an error"
    assert _lock_claims(study, "record:0") == [
        ("PRUNED", unfinished),
        ("RUNNING", None),
        ("PRUNED", unfinished),
    ]
