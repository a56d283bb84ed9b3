"""The search on a replayed landscape: seeding, constraints, reuse, pruning, result."""

from __future__ import annotations

import math
import re
from pathlib import Path

import optuna
import pytest

from greensearch.exceptions import ConfigError, StageFailedError
from greensearch.record import attrs_of
from greensearch.search._replay import Point, ReplayRunner
from greensearch.search._result import build_result
from greensearch.search._result_text import format_result
from tests.search.landscape import BASE_ENERGY, BASE_F1, landscape, make_registry, true_oracle
from tests.search.run_search import run_search

_STORES: dict[Path, optuna.storages.InMemoryStorage] = {}


def _storage(tmp_path: Path) -> optuna.storages.BaseStorage:
    """One in-memory storage per test (SQLite fsyncs would make these tests slow; the
    SQLite and PostgreSQL paths have their own tests)."""
    return _STORES.setdefault(tmp_path, optuna.storages.InMemoryStorage())


def _run(tmp_path: Path, clock_meter, replay_study, **kw):
    runner = kw.pop("runner", None) or ReplayRunner(landscape(), noise_rel=0.01, seed=1)
    args = dict(
        budget_f1="-1%",
        n_trials=14,
        storage=_storage(tmp_path),
        study_name="t",
        fidelity=0.5,
        repeats=2,
        baseline_repeats=3,
        finalists=2,
        meter=clock_meter,
        registry=make_registry(),
        run_fn=runner,
        seed=0,
    )
    args.update(kw)
    return run_search(replay_study, **args).to_dict(), runner


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


def _energy_of_runs(calls: list[tuple[str, float, int]]) -> float:
    """What the replayed runs cost, from the landscape: the train share scales with steps."""
    points, total = landscape(), 0.0
    for key, fidelity, repeats in calls:
        p = points[key]
        steps = max(1, round(100 * fidelity))  # the replay's 100 planned steps
        total += repeats * p.energy_kwh * ((1 - p.train_share) + p.train_share * steps / 100)
    return total


def test_finds_the_true_oracle_and_reports_it(tmp_path, clock_meter, replay_study):
    runner = ReplayRunner(landscape())  # no noise: every run costs its landscape figure
    result, _ = _run(tmp_path, clock_meter, replay_study, n_trials=20, runner=runner)
    assert result["oracle"]["knobs"] == true_oracle(1.0) == "compile,prune=2,trim"
    assert result["oracle"]["delta_energy_pct"] == pytest.approx((0.5 * 0.7 * 0.8 - 1) * 100, abs=3)
    assert result["oracle"]["repeats"] == 2
    assert result["oracle"]["delta_energy_ci_kind"] == "paired rounds"
    # The replay extrapolates exactly: no finalist contradicts its short run.
    rows = [r for r in result["extrapolation"]["finalists"] if r["knobs"]]
    assert rows and not any(r["contradicts_short_run"] for r in rows)
    assert result["baseline"]["knobs"] == ""
    assert result["n_trials"] == 20
    # the finalists ran at full fidelity, the search trials at 0.5
    assert {f for _, f, _ in runner.calls} == {0.5, 1.0}
    # The search's cost is every run the runner made (reused trials made none), and it
    # pays back after that many times the oracle's full-run saving over the baseline.
    spent = _energy_of_runs(runner.calls)
    assert result["search_energy_kwh"] == pytest.approx(spent)
    points = landscape()
    saving = points[""].energy_kwh - points["compile,prune=2,trim"].energy_kwh
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
    result, _ = _run(
        tmp_path, clock_meter, replay_study, budget_f1="50%", runner=ReplayRunner(land)
    )
    trim = next(t for t in _trials(tmp_path) if t.user_attrs.get("knobs") == "trim")
    assert attrs_of(trim)["feasible"] is False and attrs_of(trim)["constraint"][0] >= 1e6
    assert result["oracle"]["knobs"] != "trim"


def test_same_knob_set_is_never_measured_twice(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    measured = [(k, f) for k, f, _ in runner.calls if f < 1.0]
    assert len(measured) == len(set(measured))
    assert result["n_reused"] > 0
    # At full fidelity each variant runs once per round (repeats=2), the order reversed in
    # round 2 (baseline, finalists; finalists reversed, baseline), so a drift cancels.
    finals = [(k, n) for k, f, n in runner.calls if f == 1.0]
    keys = list(dict.fromkeys(k for k, _ in finals))
    assert keys[0] == "" and finals == [(k, 1) for k in [*keys, *reversed(keys)]]
    reused = [t for t in _trials(tmp_path) if "reused_from" in t.user_attrs]
    assert all(attrs_of(t)["energy_kwh_spent"] == 0.0 for t in reused)


def test_hard_conflicts_are_never_sampled(tmp_path, clock_meter, replay_study):
    _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    for t in _trials(tmp_path):
        knobs = t.user_attrs.get("knobs", "")
        assert not ("compile" in knobs and "lossy" in knobs), knobs


def test_checker_prunes_combinations_predicted_to_lose(tmp_path, clock_meter, replay_study):
    result, runner = _run(tmp_path, clock_meter, replay_study, n_trials=30, sampler="random")
    pruned = [
        t
        for t in _trials(tmp_path)
        if t.state == optuna.trial.TrialState.PRUNED and t.user_attrs["phase"] != "final_run"
    ]
    assert pruned, "ckpt (+30% alone) makes every bundle with it lose to the bundle without"
    assert all("ckpt" in t.user_attrs["knobs"] for t in pruned)
    assert all(t.user_attrs["pruned_reason"] for t in pruned)
    assert result["n_pruned"] == len(pruned)
    assert not any("ckpt" in k and k != "ckpt" for k, _, _ in runner.calls)


def test_no_prune_measures_what_the_checker_would_skip(tmp_path, clock_meter, replay_study):
    result, runner = _run(
        tmp_path, clock_meter, replay_study, n_trials=30, sampler="random", prune=False
    )
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


@pytest.mark.parametrize(
    ("sampler", "expected"),
    [
        ("tpe", optuna.samplers.TPESampler),
        ("nsga2", optuna.samplers.NSGAIISampler),
        ("random", optuna.samplers.RandomSampler),
        ("grid", optuna.samplers.GridSampler),
        ("gp", optuna.samplers.GPSampler),
    ],
)
def test_every_sampler_runs(tmp_path, clock_meter, replay_study, sampler, expected, monkeypatch):
    made: list[object] = []
    create = optuna.create_study

    def recording(*args, **kwargs):
        made.append(kwargs.get("sampler"))
        return create(*args, **kwargs)

    monkeypatch.setattr(optuna, "create_study", recording)
    # guide=False: the guide would take every turn here, and the sampler must run
    kw = {"sampler": sampler, "n_trials": 10, "guide": False}
    result, _ = _run(tmp_path, clock_meter, replay_study, **kw)
    assert [type(s) for s in made] == [expected]
    assert result["n_trials"] == 10
    assert any(t.user_attrs["phase"] == "sampler" for t in _trials(tmp_path))


@pytest.mark.parametrize(
    "kw",
    [
        {"fidelity": 0},
        {"fidelity": 1.5},
        {"repeats": 0},
        {"sampler": "bogus"},
        {"budget_f1": "1"},
        {"n_trials": 0},
        {"include": ["nope"]},
        {"near_misses": -1},
    ],
)
def test_bad_arguments_are_config_errors(tmp_path, clock_meter, replay_study, kw):
    with pytest.raises(ConfigError):
        _run(tmp_path, clock_meter, replay_study, **kw)


@pytest.fixture
def replay_study():
    """A study config that is never trained (the replay runner answers instead)."""
    from greensearch.config import StudyConfig

    return StudyConfig(name="replay", source="<replay>")


def test_a_degenerate_baseline_stops_the_search_with_the_reason(
    tmp_path, clock_meter, replay_study
):
    from greensearch.exceptions import MeasurementError

    land = dict(landscape())
    land[""] = Point(BASE_ENERGY, 60.0, 0.0, degenerate=True)
    runner = ReplayRunner(land)
    with pytest.raises(MeasurementError, match="baseline learned nothing at fidelity 0.5"):
        _run(tmp_path, clock_meter, replay_study, runner=runner)
    assert [k for k, _, _ in runner.calls] == [""]  # nothing else was measured


def _trim_costs_f1(short_only: bool) -> dict[str, Point]:
    """``trim`` loses 1.1 F1 points more with it than without (short runs only, or always)."""
    points = landscape()
    drop = BASE_F1 * 0.011
    for key, p in points.items():
        if "trim" in key.split(","):
            points[key] = (
                Point(p.energy_kwh, p.duration_s, p.f1, short_run_f1=p.f1 - drop)
                if short_only
                else Point(p.energy_kwh, p.duration_s, p.f1 - drop)
            )
    return points


def _grid3(tmp_path: Path, clock_meter, replay_study, points: dict[str, Point], **kw):
    """Every combination of prune, trim and compile measured (4 seeds, then the grid's 8
    points: Optuna's grid ignores enqueued trials, their repeats are reused), so which
    near misses exist does not hang on a sampler's path. Cheapest feasible at 0.5:
    ``compile,prune=2`` (0.40); cheaper misses: ``compile,prune=2,trim`` (0.28) and
    ``prune=2,trim`` (0.35), both 1.77 % short-run F1 loss."""
    return _run(
        tmp_path,
        clock_meter,
        replay_study,
        runner=ReplayRunner(points),
        n_trials=12,
        sampler="grid",
        prune=False,
        guide=False,
        finalists=1,
        include=["prune", "trim", "compile"],
        **kw,
    )


def test_a_near_miss_is_rechecked_at_full_fidelity_and_can_win(tmp_path, clock_meter, replay_study):
    result, _ = _grid3(tmp_path, clock_meter, replay_study, _trim_costs_f1(short_only=True))
    picked = {f["knobs"]: f["near_miss"] for f in result["finalists"]}
    assert picked == {
        "": False,
        "compile,prune=2,trim": True,  # the default's two near misses
        "prune=2,trim": True,
    }
    assert result["oracle"]["knobs"] == "compile,prune=2,trim"
    # The finalist, dearer than both, waited for them (search._deferral) and was not needed.
    assert [w["knobs"] for w in result["waited"]] == ["compile,prune=2"]
    study = optuna.load_study(study_name="t", storage=_storage(tmp_path))
    text = format_result(build_result(study, fidelity=0.5, budget_f1_pct=-1.0))
    assert re.search(
        r"\n  compile,prune=2: short run x0\.\d\d of the baseline, .*: not needed", text
    )
    assert result["oracle"]["feasible"] and result["oracle"]["delta_f1_pct"] > -1.0


def test_without_near_misses_the_short_runs_verdict_stands(tmp_path, clock_meter, replay_study):
    result, _ = _grid3(
        tmp_path, clock_meter, replay_study, _trim_costs_f1(short_only=True), near_misses=0
    )
    assert [f["knobs"] for f in result["finalists"]] == ["", "compile,prune=2"]
    assert result["oracle"]["knobs"] == "compile,prune=2"


def test_a_near_miss_that_fails_at_full_fidelity_is_not_the_oracle(
    tmp_path, clock_meter, replay_study
):
    result, _ = _grid3(tmp_path, clock_meter, replay_study, _trim_costs_f1(short_only=False))
    near = [f for f in result["finalists"] if f["near_miss"]]
    assert sorted(f["knobs"] for f in near) == ["compile,prune=2,trim", "prune=2,trim"]
    assert not any(f["feasible"] for f in near)
    # The finalist waited for the cheaper near misses; both failed, so it was judged after
    # them, in rounds of its own with the baseline measured again beside it.
    assert [w["knobs"] for w in result["waited"]] == ["compile,prune=2"]
    assert result["oracle"]["knobs"] == "compile,prune=2"
    assert sorted(f["knobs"] for f in result["finalists"]) == [
        "", "", "compile,prune=2", "compile,prune=2,trim", "prune=2,trim"
    ]  # fmt: skip


def _stored(
    study,
    knobs: str,
    energy: float,
    loss: float,
    *,
    fidelity: float = 0.5,
    degenerate: bool = False,
    budget: float = 1.0,
) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            values=[energy, loss],
            user_attrs={
                "knobs": knobs,
                "fidelity": fidelity,
                "phase": "sampler",
                "f1_loss_pct": loss,
                "feasible": loss <= budget and not degenerate,
                "degenerate": degenerate,
            },
        )
    )


def test_pick_near_misses_orders_filters_and_caps():
    from greensearch.search._result import pick_near_misses

    study = optuna.create_study(directions=["minimize", "minimize"])
    _stored(study, "", 1.0, 0.0)  # baseline
    _stored(study, "a", 0.6, 0.5)  # the finalist
    _stored(study, "b", 0.5, 1.5)  # near miss
    _stored(study, "c", 0.4, 2.0)  # near miss at exactly twice the budget
    _stored(study, "d", 0.3, 2.01)  # misses by more than the budget
    _stored(study, "e", 0.2, 1.2, degenerate=True)  # predicts one class: never
    _stored(study, "f", 0.7, 1.5)  # costs more than the finalist
    _stored(study, "g", 0.1, 1.5, fidelity=1.0)  # another fidelity
    assert pick_near_misses(study, 0.5, 1.0, 5, ["a"]) == ["c", "b"]
    assert pick_near_misses(study, 0.5, 1.0, 1, ["a"]) == ["c"]
    assert pick_near_misses(study, 0.5, 1.0, 0, ["a"]) == []
    assert pick_near_misses(study, 0.5, 0.0, 5, ["a"]) == []  # a 0 % budget has no margin
    assert pick_near_misses(study, 1.0, 1.0, 5, []) == []  # full runs: no proxy to doubt
    # no feasible bundle: near misses still have to beat the baseline
    assert pick_near_misses(study, 0.5, 1.0, 5, []) == ["c", "b", "f"]
    _stored(study, "h", 1.2, 1.5)
    assert "h" not in pick_near_misses(study, 0.5, 1.0, 9, [])


def test_near_misses_come_from_models_not_yet_picked():
    """Bundles that train one model share its F1 seed for seed: a second slot on the same
    model is no second chance, so it goes to the next model (``model_of``: the knobs that
    change the numbers; here ``x`` does not)."""
    from greensearch.search._result import pick_near_misses

    study = optuna.create_study(directions=["minimize", "minimize"])
    _stored(study, "", 1.0, 0.0)
    _stored(study, "a", 0.6, 0.5)  # the finalist
    _stored(study, "b", 0.3, 1.5)
    _stored(study, "b,x", 0.28, 1.5)  # b's model, and cheaper
    _stored(study, "a,x", 0.2, 1.5)  # the finalist's model
    _stored(study, "c", 0.4, 1.5)

    def model(key: str) -> str:
        return ",".join(k for k in key.split(",") if k != "x")

    assert pick_near_misses(study, 0.5, 1.0, 2, ["a"]) == ["a,x", "b,x"]
    assert pick_near_misses(study, 0.5, 1.0, 2, ["a"], model) == ["b,x", "c"]


def _baseline_runs(study, runs: list[float]) -> None:
    study.add_trial(
        optuna.trial.create_trial(
            values=[1.0, 0.0],
            user_attrs={
                "knobs": "",
                "fidelity": 0.5,
                "phase": "baseline",
                "f1_loss_pct": 0.0,
                "feasible": True,
                "energy_kwh_runs": runs,
            },
        )
    )


def test_a_near_miss_one_knob_from_a_pick_and_no_cheaper_is_passed_over():
    """Seed 0's live finals judged ``layer_prune=2:top,seq_len=128`` and the same plus
    ``attention=sdpa`` (0.2 % apart): two slots, one answer."""
    from greensearch.search._result import pick_near_misses

    study = optuna.create_study(directions=["minimize", "minimize"])
    _baseline_runs(study, [1.0, 1.02, 0.98])  # 2 % noise: margin 5.7 %
    _stored(study, "p,s", 0.40, 1.5)
    _stored(study, "a,p,s", 0.41, 1.5)  # one knob more, within the noise: passed over
    _stored(study, "t", 0.35, 1.5)  # another stack
    _stored(study, "p,s,x", 0.30, 1.8)  # one knob more and clearly cheaper: kept
    assert pick_near_misses(study, 0.5, 1.0, 3, []) == ["p,s,x", "t", "p,s"]
    assert pick_near_misses(study, 0.5, 1.0, 2, ["p,s"]) == ["p,s,x", "t"]
    # within the noise either way: the finalist keeps its slot, its neighbour goes
    assert pick_near_misses(study, 0.5, 1.0, 3, ["a,p,s"]) == ["p,s,x", "t"]


def test_finalist_slots_no_short_run_filled_go_to_uncertain_bundles():
    from greensearch.search._result import pick_final_candidates

    study = optuna.create_study(directions=["minimize", "minimize"])
    _stored(study, "", 1.0, 0.0)  # baseline
    _stored(study, "b", 0.5, 1.5)  # uncertain (within twice the budget)
    _stored(study, "c", 0.4, 2.0)
    _stored(study, "d", 0.45, 1.8)
    # nothing feasible: the finalist slot goes to the next uncertain bundle
    assert pick_final_candidates(study, 0.5, 1.0, 1, 1) == ([], ["c", "d"])
    assert pick_final_candidates(study, 0.5, 1.0, 2, 1) == ([], ["c", "d", "b"])
    assert pick_final_candidates(study, 0.5, 1.0, 1, 0) == ([], [])  # verdicts stand
    _stored(study, "a", 0.6, 0.5)  # feasible: it is the finalist, one uncertain beside it
    assert pick_final_candidates(study, 0.5, 1.0, 1, 1) == (["a"], ["c"])
    assert pick_final_candidates(study, 0.5, 1.0, 2, 1) == (["a"], ["c", "d"])


def test_replay_noise_never_makes_a_run_free_or_negative():
    runner = ReplayRunner({"": Point(1.0, 10.0, 0.9)}, noise_rel=2.0, seed=0)
    runs = runner(None, {}, repeats=200)["runs"]
    energies = [r["energy_kwh"] for r in runs]
    assert min(energies) == pytest.approx(0.05) and max(energies) > 1.5  # noisy, truncated
    assert all(r["duration_s"] > 0 for r in runs)


def test_the_dashboard_names_both_objectives_with_units(tmp_path, clock_meter, replay_study):
    _run(tmp_path, clock_meter, replay_study)
    study = optuna.load_study(study_name="t", storage=_storage(tmp_path))
    assert study.metric_names == ["energy (kWh)", "F1 loss (%)"]


@pytest.mark.parametrize("sampler", ["tpe", "gp", "nsga2"])
def test_model_based_samplers_run_their_models(
    tmp_path, clock_meter, replay_study, sampler, monkeypatch
):
    """Past their start-up trials (TPE 5, GP 10, NSGA-II's first generation of 10) the
    samplers propose from their model: ``sample_relative`` returns parameters."""
    from greensearch.search import _study

    modelled: list[int] = []
    make = _study.make_sampler

    def spying(name, space, seed):  # type: ignore[no-untyped-def]
        made = make(name, space, seed)
        relative = made.sample_relative

        def counted(study, trial, search_space):  # type: ignore[no-untyped-def]
            params = relative(study, trial, search_space)
            if params:
                modelled.append(trial.number)
            return params

        made.sample_relative = counted
        return made

    monkeypatch.setattr(_study, "make_sampler", spying)
    result, _ = _run(tmp_path, clock_meter, replay_study, sampler=sampler, n_trials=26, guide=False)
    assert result["n_trials"] == 26
    assert modelled, f"{sampler} never proposed from its model in 20 sampler trials"
    assert min(modelled) >= 6  # the seeds (baseline + 5 knobs alone) are enqueued, not sampled


def test_an_interaction_the_model_does_not_assume_is_measured_learned_and_avoided(
    tmp_path, clock_meter, replay_study
):
    """prune and trim together save far less than their product (x1.8): the model's first
    guess (compile,prune,trim at 0.28) is wrong; measuring it must correct the model, and
    the answer must be the true minimum of this landscape, not of the model."""
    from greensearch.search._checking import checker_from_study
    from tests.search.landscape import ANTAGONISM

    points = landscape(ANTAGONISM)
    truth = true_oracle(1.0, points)
    assert truth == "compile,prune=2" and true_oracle(1.0) == "compile,prune=2,trim"
    result, runner = _run(
        tmp_path, clock_meter, replay_study, runner=ReplayRunner(points), n_trials=16
    )
    assert result["oracle"]["knobs"] == truth
    measured = {k for k, f, _ in runner.calls if f == 0.5}
    assert "compile,prune=2,trim" in measured  # the model's pick was tried, at search fidelity
    study = optuna.load_study(study_name="t", storage=_storage(tmp_path))
    pair = checker_from_study(make_registry(), study, 0.5).interactions()[("prune=2", "trim")]
    # the model splits a combination's residual (log 1.8 here, no noise) evenly over its
    # k(k-1)/2 pairs and averages the shares over the measured combinations holding the pair
    holding = [k.split(",") for k in measured if {"prune=2", "trim"} <= set(k.split(","))]
    shares = [math.log(1.8) / (len(c) * (len(c) - 1) / 2) for c in holding]
    assert pair.n_combinations == len(holding) >= 1
    assert pair.kind == "antagonistic"
    assert pair.energy_factor == pytest.approx(math.exp(sum(shares) / len(shares)))
