"""Items 4 and 5 of issue 14: --n-trials counts every trial; a resume keeps its settings."""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, PreflightError
from greensearch.record import TrialRecord
from greensearch.search._replay import ReplayRunner
from tests.conftest import ClockMeter
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search


def _search(storage, runner=None, **kw):
    args = {
        "n_trials": 6,
        "storage": storage,
        "study_name": "s",
        "fidelity": 0.5,
        "repeats": 1,
        "baseline_repeats": 1,
        "meter": ClockMeter(),
        "registry": make_registry(),
        "run_fn": runner or ReplayRunner(landscape()),
    }
    args.update(kw)
    return run_search(StudyConfig(name="replay", source="<replay>"), **args)


def test_fewer_trials_than_seeds_is_refused_with_the_number_needed(tmp_path):
    url = f"sqlite:///{tmp_path / 'studies' / 's.db'}"
    runner = ReplayRunner(landscape())
    with pytest.raises(PreflightError) as err:
        _search(url, runner, n_trials=1)
    assert err.value.problems == [
        "--n-trials 1 is fewer than the 6 seed trials (the baseline and each of 5 knobs "
        "alone, which the search needs first); use --n-trials 6 or more, or --include "
        "fewer knobs"
    ]
    assert runner.calls == [] and list(tmp_path.iterdir()) == []


def test_n_trials_counts_the_seeds(tmp_path):
    runner = ReplayRunner(landscape())
    result = _search(optuna.storages.InMemoryStorage(), runner, n_trials=6)
    search = [key for key, fidelity, _ in runner.calls if fidelity == 0.5]
    assert search == ["", "prune=2", "trim", "compile", "ckpt", "lossy"]
    assert result.n_trials == 6


def test_resume_with_other_settings_is_refused_with_what_differs():
    storage = optuna.storages.InMemoryStorage()
    _search(storage, budget_f1="-1%")
    runner = ReplayRunner(landscape())
    with pytest.raises(ConfigError) as err:
        _search(storage, runner, budget_f1="-2%", fidelity=0.25, exclude=["lossy"])
    assert str(err.value) == (
        "study 's' was searched with other settings: --budget-f1 was -1, now -2; --fidelity "
        "was 0.5, now 0.25; knob space (--include/--exclude, the study's search_exclude, "
        "this machine) changed: lossy dropped; rerun with the same settings, pick a new "
        "--study-name, or pass --accept-changed-settings"
    )
    assert runner.calls == []
    stored = optuna.load_study(study_name="s", storage=storage).user_attrs
    assert stored["budget_f1_pct"] == -1.0 and stored["fidelity"] == 0.5


def test_resuming_short_runs_that_predicted_the_whole_test_split_is_refused(monkeypatch):
    """A study measured before short runs predicted a share of the test split did not
    store the rule; its short runs cannot pair with new ones, so the resume says so."""
    from greensearch.schema import StudyAttr

    storage = optuna.storages.InMemoryStorage()
    with monkeypatch.context() as older:  # an older version: the rule not stored
        older.setattr(StudyAttr, "SHORT_RUN_EVAL", "not_stored_then")
        _search(storage)
    runner = ReplayRunner(landscape())
    with pytest.raises(ConfigError, match="the test examples a short run predicts"):
        _search(storage, runner)
    assert runner.calls == []
    _search(storage, accept_changed_settings=True)  # a user can still say go on
    attrs = optuna.load_study(study_name="s", storage=storage).user_attrs
    assert attrs["short_run_eval"].startswith("the fidelity's share of the test split")


def test_an_accepted_change_is_recorded_in_the_study():
    storage = optuna.storages.InMemoryStorage()
    _search(storage, budget_f1="-1%")
    _search(storage, budget_f1="-2%", accept_changed_settings=True)
    attrs = optuna.load_study(study_name="s", storage=storage).user_attrs
    assert attrs["budget_f1_pct"] == -2.0
    assert [c["changes"] for c in attrs["settings_changes"]] == [["--budget-f1 was -1, now -2"]]


def test_resume_with_another_confidence_is_refused():
    storage = optuna.storages.InMemoryStorage()
    _search(storage)
    runner = ReplayRunner(landscape())
    with pytest.raises(ConfigError, match="--confidence was 0.95, now 0.8;"):
        _search(storage, runner, confidence=0.8)
    assert runner.calls == []


def test_a_study_that_stored_its_budget_as_a_positive_loss_resumes_and_reads():
    storage = optuna.storages.InMemoryStorage()
    _search(storage, budget_f1="-2%")
    study = optuna.load_study(study_name="s", storage=storage)
    study.set_user_attr("budget_f1_pct", 2.0)  # the other sign, as older studies hold it
    runner = ReplayRunner(landscape())
    result = _search(storage, runner, budget_f1="-2%")
    assert result.budget_f1_pct == -2.0
    assert [k for k, fidelity, _ in runner.calls if fidelity == 0.5] == []  # nothing re-run


def test_resume_with_another_meter_is_refused():
    storage = optuna.storages.InMemoryStorage()
    _search(storage)
    other = ClockMeter()
    other.name = "rapl"
    with pytest.raises(ConfigError, match="--meter was 'fake', now 'rapl'"):
        _search(storage, meter=other)


def test_resume_after_editing_the_study_file_is_refused_with_the_keys_that_changed():
    storage = optuna.storages.InMemoryStorage()
    _search(storage)
    edited = StudyConfig(name="replay", source="<replay>", epochs=2.0, max_length=128)
    with pytest.raises(ConfigError) as err:
        run_search(
            edited,
            n_trials=6,
            storage=storage,
            study_name="s",
            fidelity=0.5,
            repeats=1,
            baseline_repeats=1,
            meter=ClockMeter(),
            registry=make_registry(),
            run_fn=ReplayRunner(landscape()),
        )
    assert "the study file's settings changed: epochs 1 -> 2, max_length 192 -> 128;" in str(
        err.value
    )


@pytest.mark.parametrize("stopped", ["trim", "ckpt"])
def test_a_ctrl_c_trial_is_retried_and_n_trials_is_met(tmp_path, stopped):
    # SQLite, as the CLI uses: a completed baseline keeps the study when Ctrl-C stops
    # the search (InMemoryStorage would not outlive the process anyway).
    storage = f"sqlite:///{tmp_path / 's.db'}"
    first = ReplayRunner(landscape(), fail={stopped: KeyboardInterrupt()})
    with pytest.raises(KeyboardInterrupt):
        _search(storage, first, n_trials=8, guide=False)
    seeds = ["", "prune=2", "trim", "compile", "ckpt", "lossy"]
    assert [key for key, _, _ in first.calls] == seeds[: seeds.index(stopped) + 1]
    again = ReplayRunner(landscape())
    result = _search(storage, again, n_trials=8, guide=False)
    search = [key for key, fidelity, _ in again.calls if fidelity == 0.5]
    # the seeds left (the stopped one's retry among them) before the sampler's trials
    rest = seeds[seeds.index(stopped) :]
    assert sorted(search[: len(rest)]) == sorted(rest)
    trials = optuna.load_study(study_name="s", storage=storage).get_trials()
    ended = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    searched = [t for t in trials if TrialRecord.from_trial(t).in_search and t.state in ended]
    assert len(searched) == 8  # the interrupted trial did not use up one of --n-trials
    assert result.n_trials == 8
    stopped_trials = [t for t in trials if t.user_attrs.get("interrupted")]
    assert [t.user_attrs["knobs"] for t in stopped_trials] == [stopped]
    assert sum(t.user_attrs.get("knobs") == stopped for t in trials) == 2
