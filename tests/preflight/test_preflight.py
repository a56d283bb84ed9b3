"""Item 1 of issue 14: one preflight, every problem at once, one line each, exit 2, no files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from greensearch.exceptions import ConfigError, PreflightError
from greensearch.preflight import (
    Preflight,
    file_problem,
    folder_problem,
    preflight_read,
    preflight_run,
    storage_problem,
)
from greensearch.preflight._inputs import check_dataset
from tests.conftest import TINY_ARCH

ROOT = Path(__file__).resolve().parents[2]


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greensearch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )


def _errors(proc: subprocess.CompletedProcess[str]) -> list[str]:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert all(line.startswith("greensearch: error: ") for line in lines), proc.stderr
    return [line.removeprefix("greensearch: error: ") for line in lines]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _rows(n: int = 40) -> list[dict[str, object]]:
    return [{"func_before": f"int f{i}(void);", "vul": i % 2} for i in range(n)]


def test_optimize_reports_every_problem_of_a_bad_study_and_creates_nothing(tmp_path):
    (tmp_path / "bad.jsonl").write_text(
        '{"func_before": "int a;", "vul": 0}\n{"func_before": "int b;", "vul": 1\n[1, 2]\n'
    )
    (tmp_path / "study.toml").write_text(
        'name = "bad"\ndataset = "bad.jsonl"\nepochs = "one"\n'
        '[model_config]\nhiden_size = 64\nnum_hidden_layers = "4"\n'
    )
    before = _tree(tmp_path)
    proc = _cli(tmp_path, "-q", "optimize", "--study", "study.toml", "--seed", "-1")
    assert _errors(proc) == [
        "'epochs' in study 'study.toml' must be a number, got 'one'",
        "unknown key 'hiden_size' in [model_config] of study 'study.toml' (ModernBertConfig "
        "has no such field); did you mean 'hidden_size'?",
        "'num_hidden_layers' in [model_config] of study 'study.toml' must be an integer, "
        "got '4' (str)",
        "--seed must be in 0..4294967295 (the sampler's range), got -1",
        "cannot read 'bad.jsonl': line 2 is not valid JSON (Expecting ',' delimiter, "
        "column 35); line 3 is a JSON array, not an object; expect one JSON object per line",
    ]
    assert _tree(tmp_path) == before  # no studies/, no database, no results file


def test_run_into_an_existing_folder_exits_2_within_seconds_and_writes_nothing(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "afile").write_text("x")
    before = _tree(tmp_path)
    started = time.monotonic()
    proc = _cli(tmp_path, "run", "--results", "out", "--output-dir", "afile", "--repeats", "0")
    assert _errors(proc) == [
        "--repeats must be at least 1, got 0",
        "--results 'out' is a folder; give a file path",
        "--output-dir 'afile' is a file, not a folder; give a folder path",
    ]
    assert time.monotonic() - started < 60  # seconds of imports, no training
    assert _tree(tmp_path) == before


def test_read_commands_check_storage_and_outputs_before_opening_anything(tmp_path):
    (tmp_path / "f").write_text("x")
    before = _tree(tmp_path)
    proc = _cli(
        tmp_path,
        "report",
        "--storage",
        "sqlite:///missing.db",
        "--study-name",
        "s",
        "-o",
        "f/report.html",
        "--budget-f1",
        "1",
    )
    assert _errors(proc) == [
        "storage file 'missing.db' not found; pass the --storage URL that `greensearch "
        "optimize` used",
        "bad F1 budget '1'; write the accepted F1 loss in percent, e.g. -1% or 0.5%",
        "-o 'f/report.html' cannot be created: 'f' is a file, not a folder",
    ]
    assert _tree(tmp_path) == before


def test_run_preflight_checks_knobs_against_the_model_and_the_data(tiny_study, tmp_path):
    study = tiny_study.replace(dataset=str(_jsonl(tmp_path / "d.jsonl", [{"x": 1}] * 3)))
    with pytest.raises(PreflightError) as err:
        preflight_run(
            study, knobs="layer_prune=9:bottom,seq_len=4", results_path=tmp_path / "r.jsonl"
        )
    assert err.value.problems[:2] == [  # every bad knob, not only the first
        "knob 'layer_prune=9:bottom' removes 9 of the model's 4 layers; use N <= 3",
        "knob 'seq_len': tokens must be in [8, 32768], got '4'",
    ]
    assert len(err.value.problems) == 3
    assert err.value.problems[2].startswith("text column 'func_before' not found in dataset")


def test_dataset_problems_name_the_line_and_the_bad_label(tmp_path):
    rows = _rows()
    rows[3] = {"func_before": "int x;", "vul": [1]}
    pf = Preflight()
    from greensearch.config import StudyConfig

    check_dataset(pf, StudyConfig(dataset=str(_jsonl(tmp_path / "l.jsonl", rows))))
    assert pf.problems == [
        f"label column of dataset '{tmp_path / 'l.jsonl'}' holds list values such as [1], "
        "not one class per row; set label_column to a column of class values"
    ]


def test_repairs_are_one_note_each_with_counts(tmp_path):
    rows = [{"func_before": f"int f{i};", "vul": "yes" if i % 2 else "no"} for i in range(40)]
    rows += [{"func_before": None, "vul": "no"}, {"func_before": "int g;", "vul": None}]
    path = _jsonl(tmp_path / "n.jsonl", rows)
    pf = Preflight()
    from greensearch.config import StudyConfig

    check_dataset(pf, StudyConfig(dataset=str(path)))
    assert pf.problems == []
    assert pf.notes == [
        f"dataset '{path}' split 'train': dropped 2 of 42 rows with no text or label "
        "(empty or blank counts as none)",
        f"dataset '{path}': labels mapped to classes 'no'->0, 'yes'->1 (40 rows)",
    ]


def test_paths_are_judged_without_creating_anything(tmp_path):
    (tmp_path / "file").write_text("x")
    assert file_problem(tmp_path / "new" / "deeper" / "r.jsonl", "--results") is None
    assert folder_problem(tmp_path / "new" / "runs", "--output-dir") is None
    assert file_problem(tmp_path / "file" / "r.jsonl", "--results") == (
        f"--results '{tmp_path / 'file' / 'r.jsonl'}' cannot be created: "
        f"'{tmp_path / 'file'}' is a file, not a folder"
    )
    assert storage_problem("sqlite://x.db") == (
        "bad --storage 'sqlite://x.db'; a SQLite URL has three slashes: sqlite:///FILE.db"
    )
    assert storage_problem("redis://h") is not None and storage_problem("postgresql://h/db") is None
    assert not (tmp_path / "new").exists()


def test_read_preflight_passes_good_input(tmp_path):
    import optuna

    optuna.create_study(study_name="s", storage=f"sqlite:///{tmp_path / 's.db'}")
    preflight_read(
        storage=f"sqlite:///{tmp_path / 's.db'}",
        study_name="s",
        outputs={"-o": str(tmp_path / "r")},
    )
    with pytest.raises(PreflightError) as err:
        preflight_read(storage=f"sqlite:///{tmp_path / 's.db'}", csv=str(tmp_path / "t.csv"))
    assert err.value.problems == [
        "give either --csv or --storage/--study-name, not both",
        f"CSV file '{tmp_path / 't.csv'}' not found; pass an existing file to --csv",
    ]


@pytest.fixture
def tiny_study():
    from greensearch.config import StudyConfig

    return StudyConfig(name="tiny", max_length=64, model_config=dict(TINY_ARCH), source="<tiny>")


def test_optimize_names_every_misspelt_knob_and_creates_no_storage(tmp_path):
    from greensearch.config import StudyConfig
    from greensearch.search import preflight_settings
    from tests.search.landscape import make_registry
    from tests.search.run_search import run_search

    knobs = {"include": ("prun", "trimm"), "exclude": ("x",)}
    storage = f"sqlite:///{tmp_path / 'db' / 's.db'}"
    misspelt = [
        "unknown knob 'prun'; did you mean prune? `greensearch knobs` lists them",
        "unknown knob 'trimm'; did you mean trim? `greensearch knobs` lists them",
        "unknown knob 'x'; `greensearch knobs` lists them",
    ]
    with pytest.raises(PreflightError) as err:  # the CLI's door: settings and knobs at once
        preflight_settings(
            StudyConfig(), registry=make_registry(), storage=storage, seed=2**32, **knobs
        )
    assert err.value.problems == [
        "--seed must be in 0..4294967295 (the sampler's range), got 4294967296",
        *misspelt,
    ]
    with pytest.raises(PreflightError) as err:  # optimize's own preflight
        run_search(
            StudyConfig(),
            registry=make_registry(),
            run_fn=lambda *a, **k: {},
            storage=storage,
            **knobs,
        )
    assert err.value.problems == misspelt
    assert list(tmp_path.iterdir()) == []


def test_a_class_missing_from_a_split_is_a_note_with_its_count(tmp_path):
    from greensearch.config import StudyConfig

    folder = tmp_path / "data"
    folder.mkdir()
    _jsonl(folder / "train.jsonl", [{"t": f"x{i}", "y": i % 3} for i in range(30)])
    _jsonl(folder / "test.jsonl", [{"t": f"z{i}", "y": i % 2} for i in range(10)])
    pf = Preflight()
    check_dataset(pf, StudyConfig(dataset=str(folder), text_column="t", label_column="y"))
    assert pf.problems == []
    assert pf.notes == [
        f"split 'test' of dataset '{folder}' has no rows of class(es) '2' (10 rows in all); "
        "its F1 leaves them out"
    ]


def test_study_files_that_used_to_crash_late_or_unexpectedly_are_problems(tmp_path):
    from greensearch.config import load_study

    (tmp_path / "latin1.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (tmp_path / "inf.toml").write_text("epochs = inf\nlearning_rate = nan\n")
    with pytest.raises(PreflightError) as err:
        preflight_run(tmp_path / "inf.toml")
    assert err.value.problems[:2] == [
        f"'epochs' in study '{tmp_path / 'inf.toml'}' must be a finite number, got inf",
        f"'learning_rate' in study '{tmp_path / 'inf.toml'}' must be a finite number, got nan",
    ]
    with pytest.raises(ConfigError, match="is not UTF-8 text: invalid continuation byte"):
        load_study(tmp_path / "latin1.toml")


def test_a_dataset_is_loaded_once_per_process_until_its_file_changes(tmp_path, monkeypatch):
    import greensearch.data
    from greensearch.config import StudyConfig

    path = _jsonl(tmp_path / "d.jsonl", _rows())
    loads = []
    real = greensearch.data.load_splits
    monkeypatch.setattr(
        greensearch.data, "load_splits", lambda *a, **k: loads.append(1) or real(*a, **k)
    )
    study = StudyConfig(dataset=str(path))
    for _ in range(2):
        check_dataset(Preflight(), study)
    assert len(loads) == 1  # the CLI's preflight and optimize()'s share one load
    _jsonl(path, _rows(42))
    check_dataset(Preflight(), study)
    assert len(loads) == 2


def test_blank_labels_and_texts_are_dropped_with_a_note(tmp_path):
    from greensearch.config import StudyConfig

    rows = _rows(40) + [
        {"func_before": "int z;", "vul": ""},
        {"func_before": "   ", "vul": 1},
        {"func_before": "", "vul": 0},
    ]
    rows = [{**r, "vul": str(r["vul"]) if r["vul"] != "" else ""} for r in rows]
    path = _jsonl(tmp_path / "b.jsonl", rows)
    pf = Preflight()
    check_dataset(pf, StudyConfig(dataset=str(path)))
    assert pf.problems == []
    assert pf.notes[0] == (
        f"dataset '{path}' split 'train': dropped 3 of 43 rows with no text or label "
        "(empty or blank counts as none)"
    )
    assert "'0'->0, '1'->1 (40 rows)" in pf.notes[1]  # no '' class
    blank = _jsonl(tmp_path / "blank.jsonl", [{"func_before": " ", "vul": i % 2} for i in range(9)])
    pf = Preflight()
    check_dataset(pf, StudyConfig(dataset=str(blank)))
    assert pf.problems == [
        f"dataset '{blank}' has no rows with a text and a label; check the file or hub id"
    ]


def test_a_study_file_with_a_byte_order_mark_is_read(tmp_path):
    from greensearch.config import load_study

    path = tmp_path / "bom.toml"
    path.write_bytes(b'\xef\xbb\xbfname = "bom"\nepochs = 2\n')
    study = load_study(path)
    assert (study.name, study.epochs) == ("bom", 2)


def test_model_config_values_are_checked_as_the_model_will(tmp_path):
    from greensearch.config import StudyConfig
    from greensearch.preflight._inputs import check_model_config

    def problems(**config: object) -> list[str]:
        pf = Preflight()
        check_model_config(pf, StudyConfig(model_config=config, source="s.toml"))
        return pf.problems

    assert problems(classifier_pooling="mean") == []
    assert problems(classifier_pooling="bogus") == [
        "[model_config] of study 's.toml' is refused by ModernBertConfig: Field "
        "'classifier_pooling' expected one of ('cls', 'mean'), got bogus"
    ]
    assert problems(hidden_activation="gelux") == [
        "'hidden_activation' in [model_config] of study 's.toml' must be an activation "
        "name, got 'gelux'; did you mean 'gelu'?"
    ]
