"""The search on a replayed landscape: seeding, constraints, reuse, pruning, result."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from greensearch.exceptions import ConfigError, StageFailedError
from greensearch.search._objective import attrs_of
from greensearch.search._replay import Point, ReplayRunner
from greensearch.search._study import optimize
from tests.search.landscape import BASE_ENERGY, landscape, make_registry, true_oracle


_STORES: dict[Path, optuna.storages.InMemoryStorage] = {}


def _storage(tmp_path: Path) -> optuna.storages.BaseStorage:
    """One in-memory storage per test (SQLite fsyncs would make these tests slow; the
    SQLite and PostgreSQL paths have their own tests)."""
    return _STORES.setdefault(tmp_path, optuna.storages.InMemoryStorage())


def _run(tmp_path: Path, clock_meter, replay_study, **kw):
    runner = kw.pop("runner", None) or ReplayRunner(landscape(), noise_rel=0.01, seed=1)
    args = dict(budget_f1="-1%", n_trials=14, storage=_storage(tmp_path),
                study_name="t", fidelity=0.5, repeats=2, baseline_repeats=3, finalists=2,
                meter=clock_meter, registry=make_registry(), run_fn=runner, seed=0)
    args.update(kw)
    return optimize(replay_study, **args), runner


def _trials(tmp_path: Path):
    study = optuna.load_study(study_name="t", storage=_storage(tmp_path))
    return study.get_trials()


def test_seeds_baseline_first_then_each_knob_alone(tmp_path, clock_meter, replay_study):
    _run(tmp_path, clock_meter, replay_study)
    trials = _trials(tmp_path)
    assert trials[0].user_attrs["knobs"] == "" and trials[0].user_attrs["phase"] == "baseline"
    assert attrs_of(trials[0])["repeats"] == 3
    singles = [t.user_attrs["knobs"] for t in trials[1:6]]
    assert singles == ["prune=2", "trim", "compile", "ckpt", "lossy"]
    assert all(t.user_attrs["phase"] == "single" for t in trials[1:6])


def test_finds_the_true_oracle_and_reports_it(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=20)
    assert result["oracle"]["knobs"] == true_oracle(1.0) == "compile,prune=2,trim"
    assert result["oracle"]["delta_energy_pct"] == pytest.approx((0.5 * 0.7 * 0.8 - 1) * 100, abs=3)
    assert result["oracle"]["repeats"] == 2
    assert result["baseline"]["knobs"] == ""
    assert result["n_trials"] == 20
    # the finalists ran at full fidelity, the search trials at 0.5
    assert {f for _, f, _ in runner.calls} == {0.5, 1.0}
    spent = sum(attrs_of(t).get("energy_kwh_spent", 0.0) for t in _trials(tmp_path))
    assert result["search_energy_kwh"] == pytest.approx(spent)
    saving = result["baseline"]["energy_kwh"] - result["oracle"]["energy_kwh"]
    assert result["payback_runs"] == pytest.approx(spent / saving)
    for key in ("oracle", "pareto", "n_trials", "n_pruned", "search_energy_kwh"):
        assert key in result


def test_budget_constraint_marks_lossy_infeasible(tmp_path, clock_meter, replay_study):
    _run(tmp_path, clock_meter, replay_study)
    lossy = next(t for t in _trials(tmp_path) if t.user_attrs.get("knobs") == "lossy")
    assert attrs_of(lossy)["f1_loss_pct"] == pytest.approx(0.20 / 0.90 * 100)
    assert attrs_of(lossy)["feasible"] is False
    assert attrs_of(lossy)["constraint"][0] == pytest.approx(0.20 / 0.90 * 100 - 1.0)


def test_degenerate_model_is_infeasible_whatever_the_budget(tmp_path, clock_meter, replay_study):
    land = dict(landscape())
    land["trim"] = Point(BASE_ENERGY * 0.1, 6.0, 0.95, degenerate=True)
    result, _ = _run(tmp_path, clock_meter, replay_study, budget_f1="50%",
                     runner=ReplayRunner(land))
    trim = next(t for t in _trials(tmp_path) if t.user_attrs.get("knobs") == "trim")
    assert attrs_of(trim)["feasible"] is False and attrs_of(trim)["constraint"][0] >= 1e6
    assert result["oracle"]["knobs"] != "trim"


def test_same_knob_set_is_never_measured_twice(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    measured = [(k, f) for k, f, _ in runner.calls]
    assert len(measured) == len(set(measured))
    assert result["n_reused"] > 0
    reused = [t for t in _trials(tmp_path) if "reused_from" in t.user_attrs]
    assert all(attrs_of(t)["energy_kwh_spent"] == 0.0 for t in reused)


def test_hard_conflicts_are_never_sampled(tmp_path, clock_meter, replay_study):
    _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    for t in _trials(tmp_path):
        knobs = t.user_attrs.get("knobs", "")
        assert not ("compile" in knobs and "lossy" in knobs), knobs


def test_checker_prunes_combinations_predicted_to_lose(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    pruned = [t for t in _trials(tmp_path) if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "ckpt (+30% alone) makes every bundle with it lose to the bundle without"
    assert all("ckpt" in t.user_attrs["knobs"] for t in pruned)
    assert all(t.user_attrs["pruned_reason"] for t in pruned)
    assert result["n_pruned"] == len(pruned)
    assert not any("ckpt" in k and k != "ckpt" for k, _, _ in runner.calls)


def test_no_prune_measures_what_the_checker_would_skip(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random",
                          prune=False)
    assert result["n_pruned"] == 0
    assert any("ckpt" in k and k != "ckpt" for k, _, _ in runner.calls)


def test_a_crashing_knob_fails_its_trial_and_the_study_goes_on(tmp_path, clock_meter, replay_study):
    runner = ReplayRunner(landscape(), fail={"trim": StageFailedError("train", "boom")})
    result, _ = _run(tmp_path, clock_meter, replay_study, runner=runner)
    failed = [t for t in _trials(tmp_path) if t.state == optuna.trial.TrialState.FAIL]
    assert [t.user_attrs["knobs"] for t in failed] == ["trim"]
    assert "boom" in failed[0].user_attrs["error"]
    assert result["n_failed"] == 1 and result["failed"][0]["knobs"] == "trim"
    assert result["oracle"] is not None


def test_rerun_with_same_name_resumes_without_remeasuring(tmp_path, clock_meter, replay_study):
    first, runner1 = _run(tmp_path, clock_meter, replay_study)
    second, runner2 = _run(tmp_path, clock_meter, replay_study)
    assert runner2.calls == []
    assert second["oracle"] == first["oracle"]


@pytest.mark.parametrize("sampler", ["tpe", "nsga2", "random", "grid", "gp"])
def test_every_sampler_runs(tmp_path, clock_meter, replay_study, sampler):
    result, _ = _run(tmp_path, clock_meter, replay_study, sampler=sampler, n_trials=10)
    assert result["n_trials"] == 10


@pytest.mark.parametrize("kw", [{"fidelity": 0}, {"fidelity": 1.5}, {"repeats": 0},
                                {"sampler": "bogus"}, {"budget_f1": "1"}, {"n_trials": 0},
                                {"include": ["nope"]}])
def test_bad_arguments_are_config_errors(tmp_path, clock_meter, replay_study, kw):
    with pytest.raises(ConfigError):
        _run(tmp_path, clock_meter, replay_study, **kw)


@pytest.fixture
def replay_study():
    """A study config that is never trained (the replay runner answers instead)."""
    from greensearch.config import StudyConfig

    return StudyConfig(name="replay", source="<replay>")


def test_a_degenerate_baseline_stops_the_search_with_the_reason(tmp_path, clock_meter,
                                                                replay_study):
    from greensearch.exceptions import MeasurementError

    land = dict(landscape())
    land[""] = Point(BASE_ENERGY, 60.0, 0.0, degenerate=True)
    runner = ReplayRunner(land)
    with pytest.raises(MeasurementError, match="baseline learned nothing at fidelity 0.5"):
        _run(tmp_path, clock_meter, replay_study, runner=runner)
    assert [k for k, _, _ in runner.calls] == [""]  # nothing else was measured
