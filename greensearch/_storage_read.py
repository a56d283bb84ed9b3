"""Open a stored study for reading only: nothing is created, migrated or appended.

``report``, ``plot``, ``synergy`` and ``check`` read what ``optimize`` stored. Opening a
storage the way ``optimize`` does would create Optuna's tables in a 0-byte file (a typo
for a study database becomes one) and migrate an old schema in place.
"""

from __future__ import annotations

import contextlib
import sqlite3
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import quote

from greensearch.exceptions import ConfigError
from greensearch.preflight import storage_file, storage_problem

__all__ = ["open_storage_read_only"]

#: Tables every Optuna RDB storage has; a SQLite file without them holds no study.
_OPTUNA_TABLES = frozenset({"studies", "trials", "version_info"})


def open_storage_read_only(url: str) -> Any:
    """An Optuna storage over ``url`` that cannot write (SQLite opened ``mode=ro``).

    Raises:
        ConfigError: the file is missing, empty or not a study storage, or the server
            refuses the connection (one line, with the reason).
    """
    import optuna
    import sqlalchemy.exc

    problem = storage_problem(url, must_exist=True)
    if problem:
        raise ConfigError(problem)
    file = storage_file(url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if url.startswith("journal:"):
            from optuna.storages.journal import JournalFileBackend

            return optuna.storages.JournalStorage(JournalFileBackend(str(file)))
        kwargs: dict[str, Any] = {}
        if file is not None:
            uri = _read_only_uri(file)
            kwargs = {"creator": lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)}
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs, skip_table_creation=True)
        except (sqlalchemy.exc.SQLAlchemyError, RuntimeError, ImportError) as err:
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConfigError(f"cannot read storage {url!r}: {first}") from err


def _read_only_uri(file: Path) -> str:
    """The SQLite URI opening ``file`` read-only, once it is known to hold Optuna's tables."""
    uri = f"file:{quote(str(file.expanduser().resolve()))}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"--storage file '{file}' cannot be read as SQLite: {err}") from err
    if not _OPTUNA_TABLES <= tables:
        raise ConfigError(
            f"--storage file '{file}' is a SQLite database without Optuna's tables, so it "
            "holds no study; pass the --storage URL that `greensearch optimize` used"
        )
    return uri
