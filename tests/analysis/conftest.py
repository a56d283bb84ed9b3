"""Fixtures over the copy of the paper's Table I (tests never read ../shared)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from greensearch.analysis import load_paper_csv

TABLE1 = Path(__file__).parent / "data" / "table1.csv"


@pytest.fixture(scope="session")
def table1_path() -> Path:
    return TABLE1


@pytest.fixture(scope="session")
def paper() -> pd.DataFrame:
    return load_paper_csv(TABLE1)


@pytest.fixture(scope="session")
def raw_rows() -> dict[str, dict[str, str]]:
    """The CSV as plain strings keyed by variant, for expectations computed by hand."""
    with TABLE1.open(newline="") as fh:
        return {row["variant"]: row for row in csv.DictReader(fh)}


@pytest.fixture(scope="session")
def replay_journal(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Storage URL of a finished study of the default task on a replayed landscape.

    A journal file: as real a storage as SQLite for ``--storage``, without SQLite's
    per-commit fsyncs (the whole search takes a few seconds).
    """
    from tests.analysis.replay_study import make_study

    url = f"journal:{tmp_path_factory.mktemp('study') / 'replay.journal'}"
    make_study(url)
    return url
