"""Append-only JSON Lines result files: nothing measured is lost when a later run dies.

Each completed run is written as one line and flushed to disk before the next run
starts, so a crash or ``kill -9`` costs at most the run in flight.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from greensearch.exceptions import ResultsNotSavedError

__all__ = ["SCHEMA_VERSION", "append_record", "save_record", "read_records"]

#: Bumped whenever a record's fields change meaning.
SCHEMA_VERSION = 1


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append one record as a JSON line and fsync it."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"schema_version": SCHEMA_VERSION, **record}, sort_keys=True)
    with file.open("a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def save_record(path: str | Path, record: dict[str, Any]) -> None:
    """Append a measured record; if ``path`` cannot take it, keep it in a fallback file.

    A run's energy is spent by the time its record exists, so a results path that fails
    (a folder, a full disk, no permission) must not lose it.

    Raises:
        ResultsNotSavedError: ``path`` failed; the message names it and the fallback file
            that holds the record instead.
    """
    try:
        append_record(path, record)
    except OSError as err:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        fallback = Path(tempfile.gettempdir()) / f"greensearch-unsaved-{stamp}-{os.getpid()}.jsonl"
        try:
            append_record(fallback, record)
        except OSError as err2:
            raise ResultsNotSavedError(
                f"cannot write the run record to '{path}' ({err.strerror or err}) nor to the "
                f"fallback '{fallback}' ({err2.strerror or err2}); the measurement is lost"
            ) from err
        raise ResultsNotSavedError(
            f"cannot write the run record to '{path}' ({err.strerror or err}); it was saved "
            f"to '{fallback}' instead: append that file to your results"
        ) from err


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the records of a results file, skipping a torn last line from a killed writer."""
    with Path(path).open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                continue
