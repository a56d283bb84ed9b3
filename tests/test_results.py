"""Item 3 of issue 14: a measured run's record survives a results path that fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ResultsNotSavedError
from greensearch.results import read_records, save_record


def _fallback_of(message: str) -> Path:
    found = re.search(r"saved to '([^']+)' instead", message)
    assert found, message
    return Path(found.group(1))


def test_a_record_that_cannot_go_to_its_file_goes_to_a_named_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    folder = tmp_path / "results"
    folder.mkdir()
    with pytest.raises(ResultsNotSavedError) as err:
        save_record(folder, {"energy_kwh": 0.25})
    message = str(err.value)
    assert message.startswith(f"cannot write the run record to '{folder}' (Is a directory)")
    fallback = _fallback_of(message)
    assert fallback.parent == tmp_path / "tmp"
    assert [r["energy_kwh"] for r in read_records(fallback)] == [0.25]


def test_run_variant_saves_each_record_before_anything_else_can_fail(tmp_path, monkeypatch):
    from greensearch.pipeline import _runner

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setattr(_runner, "run_once", lambda *a, **k: {"energy_kwh": 0.5, "knobs": ""})
    seen = []
    with pytest.raises(ResultsNotSavedError) as err:
        _runner.run_variant(
            StudyConfig(),
            {},
            meter=None,
            repeats=3,
            results_path=tmp_path,  # a folder: the append fails after the first run
            on_repeat=lambda i, r: seen.append(i),
        )
    assert seen == []  # stopped at once: no more energy spent on runs that cannot be kept
    lines = _fallback_of(str(err.value)).read_text().splitlines()
    assert [json.loads(line)["energy_kwh"] for line in lines] == [0.5]
    assert json.loads(lines[0])["repeat"] == 1
