"""Item 6 of issue 14: each process sets its torch threads to its share of the cores."""

from __future__ import annotations

import pytest

from greensearch import _threads
from greensearch.config import StudyConfig
from greensearch.search import _study


@pytest.mark.parametrize(
    ("workers", "cores", "share"), [(1, 2, 2), (2, 2, 1), (3, 2, 1), (2, 8, 4)]
)
def test_each_worker_gets_its_share_of_the_cores(workers, cores, share, monkeypatch):
    monkeypatch.delenv(_threads.THREADS_ENV, raising=False)
    assert _threads.thread_share(workers, cores=cores) == share


def test_a_parent_s_split_wins(monkeypatch):
    monkeypatch.setenv(_threads.THREADS_ENV, "3")
    assert _threads.thread_share(1, cores=8) == 3


def test_the_process_sets_torch_threads_and_the_run_record_keeps_them(monkeypatch):
    import torch

    from greensearch.machine import describe_machine

    monkeypatch.delenv(_threads.THREADS_ENV, raising=False)
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    before = torch.get_num_threads()
    try:
        assert _threads.use_thread_share(2) == 1
        assert torch.get_num_threads() == 1
        assert describe_machine().cpu_threads_used == 1
    finally:
        torch.set_num_threads(before)


def test_spawned_workers_get_their_share_of_the_cores(monkeypatch):
    from greensearch.search import SearchSettings

    started = []

    class FakePopen:
        def __init__(self, cmd, **kw):
            started.append((cmd, kw["env"]))

    monkeypatch.setattr(_study.subprocess, "Popen", FakePopen)
    settings = SearchSettings(study=StudyConfig(), storage="sqlite:///s.db", meter="rapl")
    _study._spawn_workers(1, settings, threads=1)
    [(cmd, env)] = started
    assert env[_threads.THREADS_ENV] == "1"
    assert SearchSettings.from_json(cmd[-1]).meter == "rapl"
