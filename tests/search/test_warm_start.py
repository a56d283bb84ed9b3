"""--warm-start: a search that begins from an earlier study's measurements."""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.search._replay import ReplayRunner
from tests.machines import fake_machine
from tests.search.landscape import landscape, make_registry, true_oracle
from tests.search.run_search import run_search

STUDY = StudyConfig(name="replay", source="<replay>")


def _search(storage, name: str, runner: ReplayRunner, **kw):
    return run_search(
        STUDY,
        budget_f1="-1%",
        n_trials=10,
        storage=storage,
        study_name=name,
        fidelity=0.5,
        repeats=1,
        baseline_repeats=3,
        meter=None,
        idle_seconds=0,
        registry=make_registry(),
        run_fn=runner,
        seed=0,
        **kw,
    )


def test_a_warm_start_measures_none_of_the_earlier_search_again() -> None:
    storage = optuna.storages.InMemoryStorage()
    first = ReplayRunner(landscape(), noise_rel=0.01, seed=1)
    _search(storage, "first", first)
    second = ReplayRunner(landscape(), noise_rel=0.01, seed=2)
    result = _search(storage, "second", second, warm_start="first")
    # the 10 search trials came from the first study; only the finals ran again
    assert {fidelity for _, fidelity, _ in second.calls} == {1.0}
    assert result.oracle is not None and result.oracle.knobs == true_oracle(1.0)
    study = optuna.load_study(study_name="second", storage=storage)
    assert study.user_attrs["greensearch:warm_start"] == "first"


def test_a_warm_start_from_another_machine_or_task_is_refused(tmp_path) -> None:
    storage = optuna.storages.InMemoryStorage()
    here = fake_machine(tmp_path / "a")
    other = fake_machine(tmp_path / "b", extra="avx512f avx512_bf16")
    assert here.fingerprint != other.fingerprint
    _search(storage, "first", ReplayRunner(landscape(), noise_rel=0.01), machine=here)
    with pytest.raises(ConfigError, match="measured on machine .*energy is only comparable"):
        _search(
            storage,
            "other-machine",
            ReplayRunner(landscape()),
            warm_start="first",
            machine=other,
        )
    other_task = StudyConfig(name="replay", source="<replay>", epochs=7)
    with pytest.raises(ConfigError, match="another task"):
        run_search(
            other_task,
            storage=storage,
            study_name="other-task",
            fidelity=0.5,
            meter=None,
            idle_seconds=0,
            registry=make_registry(),
            run_fn=ReplayRunner(landscape()),
            warm_start="first",
            machine=here,
        )
    with pytest.raises(ConfigError, match="no study 'nope'"):
        _search(storage, "third", ReplayRunner(landscape()), warm_start="nope")


def test_a_warm_start_from_short_runs_scored_on_the_whole_test_split_is_refused(
    monkeypatch,
) -> None:
    """An older version's short runs predicted every test example: they cannot pair with
    this version's short runs, so the warm start stops before anything runs."""
    from greensearch.schema import StudyAttr

    storage = optuna.storages.InMemoryStorage()
    with monkeypatch.context() as older:  # an older version: the rule not stored
        older.setattr(StudyAttr, "SHORT_RUN_EVAL", "not_stored_then")
        _search(storage, "first", ReplayRunner(landscape(), noise_rel=0.01))
    runner = ReplayRunner(landscape())
    with pytest.raises(ConfigError, match="whole test split, this version on the fidelity's"):
        _search(storage, "second", runner, warm_start="first")
    assert runner.calls == []
