"""Real processes against real storage: kill -9 and resume (SQLite), two workers (PostgreSQL)."""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from optuna.storages import RetryHeartbeatStaleTrialCallback

from greensearch.record import TrialRecord, attrs_of
from greensearch.schema import Phase, TrialAttr

ROOT = Path(__file__).resolve().parents[2]


def _worker(storage: str, calls: Path, *extra: str) -> subprocess.Popen[str]:
    """``python -m tests.search.worker`` on ``storage``, logging its measurements to ``calls``."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.search.worker",
            "--storage",
            storage,
            "--calls",
            str(calls),
            *extra,
        ],
        cwd=ROOT,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _calls(path: Path) -> list[str]:
    return [json.loads(line)["knobs"] for line in path.read_text().splitlines()]


def _wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.2)


def _kill_when_hung(proc: subprocess.Popen[str], calls: Path) -> None:
    """Kill -9 a worker started with ``--hang-at`` once it hangs inside that measurement."""
    hung = calls.with_suffix(".hung")
    _wait_for(hung.exists, timeout=180)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    hung.unlink()


def test_kill_9_mid_trial_then_rerun_loses_nothing(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = tmp_path / "calls.jsonl"
    _kill_when_hung(_worker(storage, calls, "--hang-at", "4"), calls)  # in the 4th measurement
    study = optuna.load_study(study_name="t", storage=storage)
    before = {
        t.number: attrs_of(t)
        for t in study.get_trials()
        if t.state == optuna.trial.TrialState.COMPLETE
    }
    running = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.RUNNING]
    assert len(before) >= 3 and len(running) == 1
    killed = running[0]

    rerun = _worker(storage, calls)
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    study = optuna.load_study(study_name="t", storage=storage)
    trials = {t.number: t for t in study.get_trials()}
    # no completed trial lost or changed
    for number, attrs in before.items():
        assert trials[number].state == optuna.trial.TrialState.COMPLETE
        assert attrs_of(trials[number])["energy_kwh"] == attrs["energy_kwh"]
    # the killed trial was marked failed by the heartbeat and retried
    assert trials[killed.number].state == optuna.trial.TrialState.FAIL
    retries = [
        t
        for t in trials.values()
        if RetryHeartbeatStaleTrialCallback.retried_trial_number(t) == killed.number
    ]
    assert len(retries) == 1 and retries[0].state == optuna.trial.TrialState.COMPLETE
    assert attrs_of(retries[0])["knobs"] == killed.user_attrs["knobs"] == _calls(calls)[3]
    assert json.loads(out)["oracle"] == "compile,prune=2,trim"


def test_kill_9_in_a_final_round_then_rerun_measures_only_what_is_missing(
    tmp_path: Path,
) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = tmp_path / "calls.jsonl"
    # 6 search trials (the seeds), then the finals in 2 rounds of 3 runs: the baseline and
    # 2 finalists. The kill lands in round 1's third run, after two runs were stored.
    _kill_when_hung(_worker(storage, calls, "--hang-at", "9", "--n-trials", "6"), calls)
    assert sorted(_final_runs(storage)) == ["0:0:", f"0:0:{_calls(calls)[7]}"]
    in_flight = _calls(calls)[8]
    n_before = len(_calls(calls))

    rerun = _worker(storage, calls, "--n-trials", "6")
    out, err = rerun.communicate(timeout=180)
    assert rerun.returncode == 0, err
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    finals = [
        t
        for t in trials
        if t.user_attrs.get("phase") == "final" and t.state == optuna.trial.TrialState.COMPLETE
    ]
    assert len(finals) == 3 and len({t.user_attrs["knobs"] for t in finals}) == 3
    assert all(attrs_of(t)["repeats"] == 2 for t in finals)
    # Only the killed run and round 2 ran again: round 2 in reverse, the baseline last.
    again = _calls(calls)[n_before:]
    assert again == [in_flight, in_flight, _calls(calls)[7], ""]
    assert json.loads(out)["oracle"] in {t.user_attrs["knobs"] for t in finals}


POSTGRES = os.environ.get("GREENSEARCH_TEST_POSTGRES")


def test_two_workers_share_one_postgres_study(tmp_path: Path) -> None:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must provide GREENSEARCH_TEST_POSTGRES (.ci/run starts PostgreSQL)")
        pytest.skip("set GREENSEARCH_TEST_POSTGRES to a PostgreSQL URL (.ci/run starts one)")
    name = f"two-workers-{os.getpid()}-{time.time_ns()}"
    calls = tmp_path / "calls.jsonl"
    # A measurement must outlast the 2 s claim poll, as real ones (minutes) do; at 0.3 s one
    # worker could exhaust this small space while the other waited for its baseline.
    common = (
        "--name",
        name,
        "--sleep",
        "1.5",
        "--n-trials",
        "24",
        "--search-only",
        "--barrier",
        str(tmp_path / "barrier"),
        "--parties",
        "2",
        "--overlap",  # each worker holds a knob-set measurement until the other starts one
        "--windows",
        str(tmp_path / "windows.jsonl"),
    )
    a = _worker(POSTGRES, calls, *common, "--seed", "1")
    b = _worker(POSTGRES, calls, *common, "--seed", "2")
    for proc in (a, b):
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    measured = _calls(calls)
    assert len(measured) == len(set(measured)), "a knob set was measured twice"
    study = optuna.load_study(study_name=name, storage=POSTGRES)
    trials = study.get_trials()
    done = [
        t
        for t in trials
        if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        and not TrialRecord.from_trial(t).is_claim  # a seed queued twice: the copy dropped
    ]
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    assert 24 <= len(done) <= 25  # each worker checks the cap after its trial
    reused = [t for t in done if "reused_from" in t.user_attrs]
    measured_trials = [
        t
        for t in done
        if t.state == optuna.trial.TrialState.COMPLETE and "reused_from" not in t.user_attrs
    ]
    assert len(measured_trials) == len(measured)
    assert len(measured_trials) + len(reused) + sum(
        t.state == optuna.trial.TrialState.PRUNED for t in done
    ) == len(done)
    # Both workers measured, and at the same time: some window of one overlaps one of the other.
    windows = [json.loads(line) for line in (tmp_path / "windows.jsonl").read_text().splitlines()]
    by_pid = {pid: [w for w in windows if w["pid"] == pid] for pid in (a.pid, b.pid)}
    assert all(by_pid.values()), {pid: len(w) for pid, w in by_pid.items()}
    assert any(
        wa["start"] < wb["end"] and wb["start"] < wa["end"]
        for wa in by_pid[a.pid]
        for wb in by_pid[b.pid]
    )
    workers = {int(t.user_attrs["worker"].rpartition(":")[2]) for t in measured_trials}
    assert workers == {a.pid, b.pid}


def _finish(proc: subprocess.Popen[str], timeout: float = 180) -> tuple[str, str]:
    """Wait for a worker; on timeout kill it, so a hung worker does not outlive the test."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise


def _accounting(storage: str) -> collections.Counter[tuple[str, float, str, str]]:
    """What a study holds, trial by trial, leaving out killed trials that were retried."""
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    retried = {t.system_attrs["failed_trial"] for t in trials if "failed_trial" in t.system_attrs}
    return collections.Counter(
        (t.user_attrs["phase"], t.user_attrs["fidelity"], t.user_attrs["knobs"], t.state.name)
        for t in trials
        if t.number not in retried and t.user_attrs["phase"] != Phase.FINAL_RUN
    )


def _complete(storage: str) -> dict[int, float]:
    study = optuna.load_study(study_name="t", storage=storage)
    return {
        t.number: attrs_of(t)["energy_kwh"]
        for t in study.get_trials()
        if t.state == optuna.trial.TrialState.COMPLETE
    }


def _running_phase(storage: str) -> str | None:
    study = optuna.load_study(study_name="t", storage=storage)
    running = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.RUNNING]
    return running[0].user_attrs.get("phase") if running else None


def _final_runs(storage: str) -> list[str]:
    """The final runs whose records the study holds (``<invocation>:<round>:<knobs>``)."""
    return [
        t.user_attrs[TrialAttr.FINAL_RUN]
        for t in optuna.load_study(study_name="t", storage=storage).get_trials()
        if TrialAttr.FINAL_RECORD in t.user_attrs
    ]


def test_killed_in_the_search_and_in_the_finals_the_study_ends_as_if_never_killed(
    tmp_path: Path,
) -> None:
    """Item 7 of issue 14: kill -9 twice, resume; kept, retried, same accounting."""
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    ref = _worker(reference, tmp_path / "ref-calls.jsonl", "--n-trials", "6")
    ref_out, err = _finish(ref)
    assert ref.returncode == 0, err

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = tmp_path / "calls.jsonl"
    _kill_when_hung(_worker(storage, calls, "--hang-at", "3", "--n-trials", "6"), calls)
    assert _running_phase(storage) == "single"
    kept = _complete(storage)

    # In the final rounds: inside the second full-fidelity run, after the first was stored.
    second = _worker(storage, calls, "--hang-at", "2", "--hang-fidelity", "1", "--n-trials", "6")
    _kill_when_hung(second, calls)
    assert len(_final_runs(storage)) == 1
    assert all(_complete(storage)[n] == e for n, e in kept.items())
    kept = _complete(storage)

    third = _worker(storage, calls, "--n-trials", "6")
    out, err = _finish(third)
    assert third.returncode == 0, err
    after = _complete(storage)
    assert all(after[n] == e for n, e in kept.items())  # every completed trial kept
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    failed = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    killed = [t for t in failed if "deferred" not in t.user_attrs]
    assert [t.user_attrs["phase"] for t in killed] == ["single"]  # finals store runs, not trials
    for t in failed:  # each killed (or deferred) trial retried once, and completed
        retries = [r for r in trials if r.system_attrs.get("failed_trial") == t.number]
        assert [r.state for r in retries] == [optuna.trial.TrialState.COMPLETE]
    assert _accounting(storage) == _accounting(reference)
    assert json.loads(out) == json.loads(ref_out)
    # nothing completed ran twice: the uninterrupted run's runs plus the two killed ones
    assert len(_calls(calls)) == len(_calls(tmp_path / "ref-calls.jsonl")) + 2


def test_killed_in_the_baseline_the_trials_queued_behind_its_retry_do_not_wait_forever(
    tmp_path: Path,
) -> None:
    """The seeds queued after the killed baseline need it; its retry is queued after them."""
    reference = f"sqlite:///{tmp_path / 'reference.db'}"
    ref = _worker(reference, tmp_path / "ref-calls.jsonl", "--n-trials", "6")
    ref_out, err = _finish(ref)
    assert ref.returncode == 0, err

    storage = f"sqlite:///{tmp_path / 'study.db'}"
    calls = tmp_path / "calls.jsonl"
    _kill_when_hung(_worker(storage, calls, "--hang-at", "1", "--n-trials", "6"), calls)
    assert _running_phase(storage) == "baseline"

    rerun = _worker(storage, calls, "--n-trials", "6")
    out, err = _finish(rerun)
    assert rerun.returncode == 0, err
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    deferred = [t for t in trials if "deferred" in t.user_attrs]
    assert deferred and all(t.state == optuna.trial.TrialState.FAIL for t in deferred)
    assert _accounting(storage) == _accounting(reference)
    assert json.loads(out) == json.loads(ref_out)
