"""Item 2 of issue 14: a search or run that measured nothing leaves nothing behind, and says why."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import MeasurementError, StageFailedError
from greensearch.search._replay import ReplayRunner
from tests.conftest import ClockMeter
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search

ROOT = Path(__file__).resolve().parents[2]


def _search(storage: str, runner: ReplayRunner, name: str = "s") -> object:
    return run_search(
        StudyConfig(name="replay", source="<replay>"),
        n_trials=6,
        storage=storage,
        study_name=name,
        fidelity=0.5,
        repeats=1,
        baseline_repeats=1,
        meter=ClockMeter(),
        registry=make_registry(),
        run_fn=runner,
        guide=False,
    )


def _failing_baseline() -> ReplayRunner:
    return ReplayRunner(landscape(), fail={"": StageFailedError("data", "ValueError: bad row")})


def test_a_failed_baseline_leaves_no_database_and_no_folder(tmp_path):
    folder = tmp_path / "studies"
    with pytest.raises(MeasurementError) as err:
        _search(f"sqlite:///{folder / 's.db'}", _failing_baseline())
    assert str(err.value) == "search stopped: stage 'data' failed: ValueError: bad row"
    assert list(tmp_path.iterdir()) == []


def test_a_failed_baseline_in_a_shared_storage_removes_only_its_own_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    _search(url, ReplayRunner(landscape()), name="kept")
    with pytest.raises(MeasurementError):
        _search(url, _failing_baseline(), name="failed")
    assert optuna.get_all_study_names(url) == ["kept"]


def test_a_failed_run_leaves_no_model_folder(tmp_path, monkeypatch):
    from greensearch.pipeline import _runner

    def crash(study, bundle, *, output_dir, **_):
        Path(output_dir).mkdir(parents=True)
        (Path(output_dir) / "partial.bin").write_text("x")
        raise StageFailedError("train", "RuntimeError: out of memory")

    monkeypatch.setattr(_runner, "run_once", crash)
    with pytest.raises(StageFailedError):
        _runner.run_variant(
            StudyConfig(), {}, meter=None, output_root=tmp_path / "runs", results_path=None
        )
    assert list(tmp_path.iterdir()) == []


def test_no_traceback_from_logs_or_threads_without_debug():
    script = textwrap.dedent(
        """
        import threading
        import optuna
        from greensearch._logs import configure_logging, route_optuna_logs

        configure_logging(0, False)
        route_optuna_logs()
        import warnings
        warnings.warn("a library's two-line warning", UserWarning)
        for line in (431, 437):  # raised again from elsewhere, the registry reset: once
            with warnings.catch_warnings():
                warnings.warn_explicit(
                    "a library's two-line warning", UserWarning, "loader.py", line
                )
        study = optuna.create_study()
        def objective(trial):
            raise ValueError("the real reason")
        study.optimize(objective, n_trials=1, catch=(ValueError,))
        def beat():
            raise RuntimeError("heartbeat lost")
        t = threading.Thread(target=beat, name="heartbeat")
        t.start()
        t.join()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 4, proc.stderr  # a warning, Optuna's two lines on a failed trial, a thread
    assert lines[0].startswith("WARNING py.warnings: ") and lines[0].endswith(
        "UserWarning: a library's two-line warning"
    )
    assert lines[1].startswith("WARNING optuna") and "the real reason" in lines[1]
    assert lines[3] == (
        "greensearch: error in heartbeat: RuntimeError: heartbeat lost (rerun with --debug "
        "for the traceback)"
    )


def test_optimize_whose_baseline_fails_says_why_last_and_leaves_nothing(tmp_path):
    from transformers import ModernBertConfig

    ModernBertConfig(
        hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64
    ).save_pretrained(tmp_path / "model")  # a config but no weights: passes the preflight
    rows = "".join(f'{{"func_before": "int f{i};", "vul": {i % 2}}}\n' for i in range(60))
    (tmp_path / "d.jsonl").write_text(rows)
    (tmp_path / "s.toml").write_text(
        'name = "w"\nmodel = "model"\ntokenizer = "embedded:tok"\ndataset = "d.jsonl"\n'
        "max_length = 32\n"
    )
    before = {p.name for p in tmp_path.iterdir()}
    proc = subprocess.run(
        [sys.executable, "-m", "greensearch", "optimize", "--study", "s.toml"]
        + ["--idle-seconds", "0", "--meter", "codecarbon"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "greensearch: error: search stopped: cannot load model from local path 'model': "
        )
    )
    assert {p.name for p in tmp_path.iterdir()} == before  # no studies/, no results file
