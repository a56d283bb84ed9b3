"""Optuna storage from a URL: SQLite under ``studies/`` by default, any RDB, or a journal.

RDB storages get a heartbeat, so a worker killed with ``kill -9`` leaves a trial that the
next worker marks failed and retries instead of one stuck in RUNNING forever.

Several processes on one SQLite file need every storage transaction to take the file's
write lock when it begins (``BEGIN IMMEDIATE``). Optuna's compare-and-set steps read a
row and then write it in one transaction, relying on ``SELECT ... FOR UPDATE``, which
SQLite ignores, and the ``sqlite3`` module begins a transaction only at the first write:
without the lock two processes both read a queued trial as ``WAITING`` and both pop it,
so both measure it and the second to finish dies with "Cannot tell a COMPLETE trial".
"""

from __future__ import annotations

import contextlib
import os
import re
import time
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.exceptions import ConfigError

if TYPE_CHECKING:
    from optuna.trial import FrozenTrial

__all__ = [
    "GRACE_S",
    "HEARTBEAT_S",
    "default_storage_url",
    "open_storage",
    "retried_trial_numbers",
    "retry_callback",
]

#: Seconds between a running trial's heartbeats, and silence after which it counts as dead.
HEARTBEAT_S = 2
GRACE_S = 8

#: Seconds a SQLite transaction waits for another process's write lock before failing.
SQLITE_LOCK_WAIT_S = 60.0

_ATTEMPTS = 5
_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def default_storage_url(
    study_name: str, root: str | Path = "studies", *, create: bool = True
) -> str:
    """``sqlite:///studies/<name>.db`` (relative to the working directory).

    ``create=False`` makes no folder: the preflight names the URL before anything exists.
    """
    folder = Path(root)
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / (_NAME.sub('_', study_name) + '.db')}"


def retry_callback() -> Any:
    """Optuna's callback that queues one retry of a trial failed for a dead process."""
    import optuna

    with warnings.catch_warnings():  # the retry callback is "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)


def open_storage(url: str) -> Any:
    """Open an Optuna storage with heartbeats and one automatic retry of a dead trial.

    ``journal:PATH`` opens a journal file; anything else is an RDB URL (sqlite, postgresql,
    mysql). Raises ConfigError with the driver's one-line reason when it cannot connect.
    """
    import optuna
    import sqlalchemy.exc

    from greensearch.preflight import storage_problem

    problem = storage_problem(url)  # a file that is not ours is refused before it is written
    if problem:
        raise ConfigError(problem)
    retry = retry_callback()
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        path = url.removeprefix("journal:")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return optuna.storages.JournalStorage(JournalFileBackend(path))
    file = None
    if url.startswith("sqlite:///"):  # SQLite makes the file, not its folder
        file = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
        file.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(_ATTEMPTS):
        try:
            with _creating(file), warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                storage = optuna.storages.RDBStorage(
                    url,
                    heartbeat_interval=HEARTBEAT_S,
                    grace_period=GRACE_S,
                    heartbeat_stale_trial_callback=retry,
                    engine_kwargs=_sqlite_engine_kwargs() if file else None,
                )
            if file is not None:
                _begin_immediate(storage.engine)
            return storage
        except (
            sqlalchemy.exc.IntegrityError,
            sqlalchemy.exc.ProgrammingError,
            sqlalchemy.exc.OperationalError,
            optuna.exceptions.StorageInternalError,
        ) as err:
            # Workers starting together on an empty server database race to create its
            # tables ("already exists", a duplicate key); the loser finds them made on the
            # next attempt. Anything else (a refused connection) is the user's to fix.
            if attempt == _ATTEMPTS - 1 or not _is_creation_race(err):
                raise ConfigError(f"cannot open storage {url!r}: {_first_line(err)}") from err
            time.sleep(0.5 * (attempt + 1))
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as err:
            first = _first_line(err)
            hint = " (pip install 'psycopg[binary]')" if "DB access module" in first else ""
            raise ConfigError(f"cannot open storage {url!r}: {first}{hint}") from err
    raise AssertionError("unreachable")


def _sqlite_engine_kwargs() -> dict[str, Any]:
    """The ``sqlite3`` module left to begin no transaction itself (``_begin_immediate`` does)."""
    return {"connect_args": {"timeout": SQLITE_LOCK_WAIT_S, "isolation_level": None}}


def _begin_immediate(engine: Any) -> None:
    """Begin every transaction of ``engine`` holding the SQLite file's write lock.

    Serialises the storage's transactions across processes, so each read-then-write
    (popping a queued trial, telling a running one) is atomic as it is on PostgreSQL. The
    tables were made under ``_creating``'s lock before this applies.
    """
    from sqlalchemy import event

    def begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    event.listen(engine, "begin", begin)


@contextlib.contextmanager
def _creating(file: Path | None) -> Iterator[None]:
    """Hold an exclusive lock on a SQLite file while Optuna creates or checks its tables.

    Two processes starting together on a fresh file would both see no table and both
    create them. ``flock`` is separate from SQLite's own (``fcntl``) locks, so it
    serialises only this start-up, never the trials.
    """
    if file is None or os.name != "posix":
        yield
        return
    import fcntl

    fd = os.open(file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


_RACE = ("already exists", "duplicate", "unique constraint", "database is locked")


def _is_creation_race(err: BaseException) -> bool:
    """Whether ``err`` (or its cause) is another starter having created the tables first."""
    text = f"{err} {err.__cause__ or ''}".lower()
    return any(word in text for word in _RACE)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def retried_trial_numbers(trials: Iterable[FrozenTrial]) -> set[int]:
    """Numbers of the dead trials that the heartbeat callback has enqueued a retry of.

    Through Optuna's public ``retried_trial_number`` (marked experimental), not the
    system attribute it happens to read.
    """
    import optuna

    retry = optuna.storages.RetryHeartbeatStaleTrialCallback
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        numbers = (retry.retried_trial_number(t) for t in trials)
        return {n for n in numbers if n is not None}
