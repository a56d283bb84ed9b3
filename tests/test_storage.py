"""Opening storages: starters racing on a fresh file, files that are not ours, read-only use."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from greensearch.analysis import open_study
from greensearch.cli import main
from greensearch.exceptions import ConfigError
from greensearch.search import _storage
from greensearch.search._storage import open_storage

ROOT = Path(__file__).resolve().parents[1]

#: One starter: meet the other at a barrier folder, then open the storage and the study.
_STARTER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import optuna
    from greensearch.search._storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for url, barrier in zip(sys.argv[1::2], sys.argv[2::2]):
        Path(barrier).mkdir(exist_ok=True)
        (Path(barrier) / str(os.getpid())).touch()
        deadline = time.monotonic() + 120
        while len(os.listdir(barrier)) < 2:
            if time.monotonic() > deadline:
                sys.exit("the other starter never arrived (it failed)")
            time.sleep(0.001)
        study = optuna.create_study(
            study_name="conc", storage=open_storage(url), load_if_exists=True,
            directions=["minimize", "minimize"],
        )
        print(study._study_id)
    """
)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_starters_on_a_fresh_sqlite_file_both_open_the_one_study(tmp_path):
    # Each pair meets at a barrier just before opening, so both see the file without
    # tables; unserialised, about one pair in three failed ("table ... already exists").
    argv = []
    for i in range(6):
        argv += [f"sqlite:///{tmp_path / f's{i}.db'}", str(tmp_path / f"barrier{i}")]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    for proc, (_, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, err
    ids = [out.split() for out, _ in outs]
    assert ids[0] == ids[1] == ["1"] * 6  # one study per file, the same for both
    for i in range(6):
        assert optuna.get_all_study_names(f"sqlite:///{tmp_path / f's{i}.db'}") == ["conc"]


@pytest.mark.filterwarnings("ignore:Heartbeat of storage")  # ask() outside optimize()
def test_two_studies_on_one_sqlite_file_never_pop_the_same_queued_trial(tmp_path, monkeypatch):
    # Optuna pops a queued trial by reading it as WAITING, then writing RUNNING, in one
    # transaction. Study B tries its own pop at the worst moment, after A read the trial
    # and before A wrote it: unlocked, both popped trial 0, both measured it, and the
    # second to finish died with "Cannot tell a COMPLETE trial".
    url = f"sqlite:///{tmp_path / 's.db'}"
    a = optuna.create_study(study_name="s", storage=open_storage(url))
    a.enqueue_trial({"x": 1.0})
    a.enqueue_trial({"x": 2.0})
    monkeypatch.setattr(_storage, "SQLITE_LOCK_WAIT_S", 0.1)  # B gives up a held lock soon
    b = optuna.load_study(study_name="s", storage=open_storage(url))
    between: list[int | str] = []
    backend = a._storage._backend
    check = backend.check_trial_is_updatable  # A's transaction has read the trial here

    def b_pops_between(trial_id, state):
        if not between:
            try:
                between.append(b.ask().number)
            except optuna.exceptions.StorageInternalError as err:
                between.append(str(err.__cause__).splitlines()[0])
        return check(trial_id, state)

    monkeypatch.setattr(backend, "check_trial_is_updatable", b_pops_between)
    first = a.ask().number
    monkeypatch.undo()
    second = b.ask().number
    assert between == ["(sqlite3.OperationalError) database is locked"]
    assert [first, second] == [0, 1]  # each queued trial popped once


def test_a_text_file_given_as_journal_is_refused_and_left_byte_identical(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n", encoding="utf-8")
    before = _digest(notes)
    with pytest.raises(ConfigError) as err:
        open_storage(f"journal:{notes}")
    assert str(err.value) == (
        f"--storage file '{notes}' is not an Optuna journal; it is left untouched. "
        "Give a new file name or the storage `greensearch optimize` made"
    )
    assert _digest(notes) == before
    db = tmp_path / "notes.db"
    db.write_text("not sqlite", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not a SQLite database"):
        open_storage(f"sqlite:///{db}")
    assert db.read_text(encoding="utf-8") == "not sqlite"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("journal:", "--storage 'journal:' names no file; use journal:FILE"),
        ("sqlite:///", "--storage 'sqlite:///' names no file; use sqlite:///FILE.db"),
        (
            "sqlite:///:memory:",
            "--storage 'sqlite:///:memory:' keeps the study in memory: it is lost at exit and "
            "cannot be resumed or reported; use sqlite:///FILE.db",
        ),
    ],
)
def test_a_storage_url_without_a_file_is_refused_in_one_line(url, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as err:
        open_storage(url)
    assert str(err.value) == message
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["report", "plot", "synergy", "check"])
def test_read_commands_leave_an_empty_file_byte_identical(command, tmp_path, capsys):
    empty = tmp_path / "empty.db"
    empty.touch()
    extra = {"report": ["-o", str(tmp_path / "r.html")], "plot": ["-o", str(tmp_path / "r.html")]}
    extra["check"] = ["--knobs", "precision=bf16"]
    code = main(
        [command, "--storage", f"sqlite:///{empty}", "--study-name", "s", *extra.get(command, [])]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        f"greensearch: error: storage file '{empty}' is empty, so it holds no study; pass "
        "the --storage URL that `greensearch optimize` used\n"
    )
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_reading_a_study_changes_no_byte_of_its_file(tmp_path):
    db = tmp_path / "s.db"
    url = f"sqlite:///{db}"
    study = optuna.create_study(study_name="s", storage=url)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    del study
    before, listing = _digest(db), sorted(tmp_path.iterdir())
    read = open_study(url, "s")
    assert len(read.get_trials()) == 2
    with pytest.raises(ConfigError, match="no study named 'other'"):
        open_study(url, "other")
    assert _digest(db) == before and sorted(tmp_path.iterdir()) == listing


def test_a_sqlite_file_without_optuna_tables_is_not_a_study(tmp_path):
    import sqlite3

    db = tmp_path / "other.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = _digest(db)
    with pytest.raises(ConfigError, match="without Optuna's tables"):
        open_study(f"sqlite:///{db}", "s")
    assert _digest(db) == before
