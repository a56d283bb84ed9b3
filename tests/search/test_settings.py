"""SearchSettings: checked once, frozen, and handed whole to extra worker processes."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.search import SearchSettings, _study, _worker, load_registry
from tests.conftest import ClockMeter

# A study not read from any file: the old command line fell back to the embedded study here.
STUDY = StudyConfig(
    name="inline",
    dataset="/data/x.jsonl",
    max_length=64,
    epochs=2.0,
    model_config={"num_hidden_layers": 2, "hidden_size": 64},
    search_exclude=("torch_compile",),
    source="<dict>",
)


def _settings(tmp_path: Path, **kw: Any) -> SearchSettings:
    base: dict[str, Any] = dict(
        study=STUDY,
        budget_f1_pct=-0.5,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        study_name="shared",
        meter="codecarbon",
        results_path=str(tmp_path / "runs.jsonl"),
        baseline_repeats=5,
        repeats=4,
        fidelity=0.4,
        n_workers=3,
        seed=7,
        include=("dynamic_padding", "fast_tokenizer"),
        registry="tests.search.landscape:make_registry",
    )
    base.update(kw)
    return SearchSettings(**base)


def test_settings_round_trip_through_json_unchanged(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert settings.budget_f1_pct == -0.5  # the user's sign, kept
    assert settings.replace(budget_f1_pct=0.5) == settings  # a positive loss means the same
    assert settings.replace(budget_f1_pct="-0.5%") == settings  # and so does the text
    again = SearchSettings.from_json(settings.to_json())
    assert again == settings
    assert again.study == STUDY and again.study.model_config == {
        "num_hidden_layers": 2,
        "hidden_size": 64,
    }


def test_settings_are_frozen(tmp_path: Path) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _settings(tmp_path).seed = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"fidelity": 0}, "--fidelity must be in"),
        ({"repeats": 0}, "--repeats must be at least 1"),
        ({"baseline_repeats": 0}, "--baseline-repeats must be at least 1"),
        ({"finalists": 0}, "--finalists must be at least 1"),
        ({"near_misses": -1}, "--near-misses must be at least 0"),
        ({"sampler": "bogus"}, "unknown sampler 'bogus'"),
        ({"meter": "wattmeter"}, "unknown meter 'wattmeter'"),
        ({"n_trials": 0}, "--n-trials must be at least 1"),
        ({"budget_f1_pct": 101.0}, "bad F1 budget"),
    ],
)
def test_bad_settings_fail_when_made(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings(tmp_path, **change)


class _FakePopen:
    """Records the command a worker would have been started with."""

    started: list[list[str]] = []

    def __init__(self, cmd: list[str], **_: Any) -> None:
        _FakePopen.started.append(cmd)


def test_a_worker_runs_the_main_process_settings(tmp_path: Path, monkeypatch) -> None:
    """Meter, results file, repeats, the inline study and the registry all reach a worker."""
    main = _settings(tmp_path)
    _FakePopen.started = []
    monkeypatch.setattr(subprocess, "Popen", _FakePopen)
    _study._spawn_workers(2, main)
    assert len(_FakePopen.started) == 2
    assert all(cmd[1:3] == ["-m", "greensearch.search._worker"] for cmd in _FakePopen.started)

    received: list[SearchSettings] = []
    monkeypatch.setattr(_study, "optimize", lambda settings: received.append(settings))
    for cmd in _FakePopen.started:
        assert _worker.main(cmd[3:]) == 0
    first, second = received
    assert first.meter == "codecarbon"
    assert first.results_path == str(tmp_path / "runs.jsonl")
    assert first.baseline_repeats == 5 and first.repeats == 4
    assert first.study == STUDY
    assert first.storage == main.storage and first.study_name == "shared"
    assert first.registry == "tests.search.landscape:make_registry"
    assert first.include == ("dynamic_padding", "fast_tokenizer")
    assert first.budget_f1_pct == -0.5 and first.fidelity == 0.4
    # what a worker changes, and nothing else
    assert (first.seed, second.seed) == (8, 9)
    assert first.search_only and first.n_workers == 1 and first.idle_seconds == 0.0
    assert first == main.replace(seed=8, search_only=True, n_workers=1, idle_seconds=0.0)


def test_bad_worker_settings_exit_1_with_one_line(capsys) -> None:
    assert _worker.main(['{"study": {}, "colour": "red"}']) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["greensearch worker: error: unknown search setting(s) colour"]


@pytest.mark.parametrize("given", ["meter", "registry", "run_fn", "storage"])
def test_extra_workers_refuse_objects_they_could_not_receive(tmp_path: Path, given: str) -> None:
    import optuna

    objects: dict[str, Any] = {
        "meter": ClockMeter(),
        "registry": load_registry("tests.search.landscape:make_registry"),
        "run_fn": lambda *a, **k: {},
        "storage": optuna.storages.InMemoryStorage(),
    }
    with pytest.raises(ConfigError, match="--n-workers needs settings the workers can rebuild"):
        _study.optimize(_settings(tmp_path), **{given: objects[given]})


def test_registry_reference_must_name_a_registry() -> None:
    with pytest.raises(ConfigError, match="write module:function"):
        load_registry("tests.search.landscape")
    with pytest.raises(ConfigError, match="returned list"):
        load_registry("builtins:list")
