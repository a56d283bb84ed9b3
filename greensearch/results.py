"""Append-only JSON Lines result files: nothing measured is lost when a later run dies.

Each completed run is written as one line and flushed to disk before the next run
starts, so a crash or ``kill -9`` costs at most the run in flight.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_VERSION", "append_record", "read_records"]

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
