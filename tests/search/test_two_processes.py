"""Two processes on one study, search and finals: no run measured twice, one answer.

Item 1 of issue 22: the finals are claimed run by run as search trials are, so two
workers started together share the whole study, on a fresh SQLite file as on PostgreSQL.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import time
from pathlib import Path

import optuna
import pytest

from greensearch._budget import parse_f1_budget
from greensearch.schema import Phase, TrialAttr
from greensearch.search._result import build_result
from tests.search.test_workers import _worker as launch_worker

POSTGRES = os.environ.get("GREENSEARCH_TEST_POSTGRES")
N_TRIALS = 16
_SEEDS = (Phase.BASELINE, Phase.SINGLE)


def _worker(storage: str, name: str, tmp_path: Path, seed: int) -> subprocess.Popen[str]:
    """A worker that meets the other before its first trial and runs search and finals."""
    return launch_worker(
        storage,
        tmp_path / "calls.jsonl",
        "--name",
        name,
        "--windows",
        str(tmp_path / "windows.jsonl"),
        "--barrier",
        str(tmp_path / "barrier"),
        "--parties",
        "2",
        "--overlap",  # each holds a knob-set measurement until the other starts one
        "--sleep",
        "1.0",  # longer than a claim poll's wait, as real runs (minutes) are
        "--n-trials",
        str(N_TRIALS),
        "--seed",
        str(seed),
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
    """The worker's output once it exited 0; a hung worker is killed, not left behind."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    return out


def _run_keys(calls: Path) -> list[tuple[str, float, int]]:
    """Every run measured, as (knobs, fidelity, training seed): a call of 2 repeats is 2 runs."""
    keys = []
    for line in calls.read_text().splitlines():
        call = json.loads(line)
        keys += [(call["knobs"], call["fidelity"], seed) for seed in call["seeds"]]
    return keys


def _two_processes_share_the_study(storage: str, name: str, tmp_path: Path) -> None:
    a = _worker(storage, name, tmp_path, seed=1)
    b = _worker(storage, name, tmp_path, seed=2)
    outs = [json.loads(_finish(proc)) for proc in (a, b)]

    keys = _run_keys(tmp_path / "calls.jsonl")
    twice = [k for k, n in collections.Counter(keys).items() if n > 1]
    assert not twice, f"measured twice: {twice}"

    study = optuna.load_study(study_name=name, storage=storage)
    trials = study.get_trials()
    assert not [t for t in trials if t.state == optuna.trial.TrialState.RUNNING]
    # Both started on a fresh study, and each seed was queued once.
    seeds = [t.user_attrs["knobs"] for t in trials if t.user_attrs.get("phase") in _SEEDS]
    assert sorted(seeds) == sorted(set(seeds)) and "" in seeds
    # The full-fidelity runs measured are exactly the final runs the study stores
    # (``<invocation>:<round>:<knobs>``), each once: none lost, none measured beside them.
    stored = [
        t.user_attrs[TrialAttr.FINAL_RUN] for t in trials if TrialAttr.FINAL_RECORD in t.user_attrs
    ]
    assert len(stored) == len(set(stored))
    finals = sorted((knobs, seed) for knobs, fidelity, seed in keys if fidelity == 1.0)
    assert finals == sorted((run.split(":", 2)[2], int(run.split(":", 2)[1])) for run in stored)
    assert len({knobs for knobs, _ in finals}) >= 2  # the baseline and a finalist, 2 rounds each
    assert {seed for _, seed in finals} == {0, 1}

    # Both measured, at the same time: a window of one overlaps a window of the other.
    windows = [json.loads(line) for line in (tmp_path / "windows.jsonl").read_text().splitlines()]
    by_pid = {pid: [w for w in windows if w["pid"] == pid] for pid in (a.pid, b.pid)}
    assert all(by_pid.values()), {pid: len(w) for pid, w in by_pid.items()}
    assert any(
        wa["start"] < wb["end"] and wb["start"] < wa["end"]
        for wa in by_pid[a.pid]
        for wb in by_pid[b.pid]
    )

    # Both print the answer the finished study gives when read back on its own.
    answer = build_result(study, fidelity=0.5, budget_f1_pct=parse_f1_budget("-1%"))
    assert answer.oracle is not None
    assert [o["oracle"] for o in outs] == [answer.oracle.knobs] * 2


def test_two_processes_on_one_fresh_sqlite_study_measure_each_run_once(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    _two_processes_share_the_study(storage, "t", tmp_path)


def test_two_processes_on_one_postgres_study_measure_each_run_once(tmp_path: Path) -> None:
    if not POSTGRES:
        if os.environ.get("CI"):
            pytest.fail("CI must provide GREENSEARCH_TEST_POSTGRES (.ci/run starts PostgreSQL)")
        pytest.skip("set GREENSEARCH_TEST_POSTGRES to a PostgreSQL URL (.ci/run starts one)")
    name = f"two-processes-{os.getpid()}-{time.time_ns()}"
    _two_processes_share_the_study(POSTGRES, name, tmp_path)
