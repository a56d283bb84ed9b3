"""A run's temporary folder goes however the run ends; a killed run's goes at the next start."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import pytest

from greensearch.pipeline._scratch import KEPT, PREFIX, remove_orphans, scratch_folder


@pytest.fixture
def tmpdir_env(tmp_path, monkeypatch):
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


@pytest.mark.parametrize("error", [RuntimeError("stage crashed"), KeyboardInterrupt()])
def test_a_failed_or_interrupted_run_leaves_no_folder(tmpdir_env, error):
    with pytest.raises(type(error)), scratch_folder(keep=True) as folder:
        (folder / "model.bin").write_bytes(b"x" * 10)
        raise error
    assert list(tmpdir_env.iterdir()) == []


def test_a_kept_model_stays_and_an_unkept_one_goes(tmpdir_env):
    with scratch_folder(keep=True) as kept:
        (kept / "model.bin").write_bytes(b"x")
    with scratch_folder(keep=False) as gone:
        (gone / "model.bin").write_bytes(b"x")
    assert list(tmpdir_env.iterdir()) == [kept]
    assert kept.name.startswith(f"{PREFIX}{os.getpid()}-")


def test_the_folder_of_a_dead_process_is_removed_at_the_next_start(tmpdir_env):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    pid = int(dead.stdout)  # exited: no process has this pid now (reuse is vanishingly rare)
    orphan = tmpdir_env / f"{PREFIX}{pid}-abc"
    (orphan / "sub").mkdir(parents=True)
    live = tmpdir_env / f"{PREFIX}{os.getppid()}-def"  # the test runner's parent: alive
    live.mkdir()
    other = tmpdir_env / "greensearch-run-notapid"
    other.mkdir()
    kept = tmpdir_env / f"{PREFIX}{pid}-kept"  # a model its (finished) caller kept
    kept.mkdir()
    (kept / KEPT).touch()
    assert remove_orphans() == [orphan]
    assert sorted(p.name for p in tmpdir_env.iterdir()) == sorted(
        [live.name, other.name, kept.name]
    )


@pytest.mark.parametrize("error", [ValueError("bad row"), KeyboardInterrupt()])
def test_run_once_without_an_output_dir_leaves_no_folder_when_a_stage_fails(
    tmpdir_env, monkeypatch, error
):
    from greensearch.config import StudyConfig
    from greensearch.pipeline import _runner
    from tests.conftest import ClockMeter

    def crash(state):
        (state.output_dir / "partial.bin").write_bytes(b"x")
        raise error

    monkeypatch.setitem(_runner._STAGE_FUNCS, "data", crash)
    with pytest.raises((_runner.StageFailedError, KeyboardInterrupt)):
        _runner.run_once(StudyConfig(), {}, meter=ClockMeter(), keep_model=True)
    # torch may make its own cache folder there on import; no run folder remains
    assert [p for p in tmpdir_env.iterdir() if p.name.startswith(PREFIX)] == []
