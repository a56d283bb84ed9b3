"""Shared windows: a search trial's windows that its knobs leave alone come from every run
of the same work; the windows it changes stay its own."""

from __future__ import annotations

import optuna
import pytest

from greensearch.knobs import Knob, default_registry
from greensearch.record import TrialRecord, attrs_of
from greensearch.schema import WINDOWS
from greensearch.search import ReplayRunner
from greensearch.search._shared_windows import (
    fill_skipped,
    fillable,
    measures_windows,
    shared_estimate,
    window_kwh,
    work_key,
)
from tests.search.run_search import run_search

REG = default_registry()


def _attrs(knobs: str, kwh: dict[str, float], *, repeats: int = 1, **extra) -> dict:
    """A trial's stored figures: window means at full-run scale (train scaled x4)."""
    stages = {w: {"energy_kwh": e / (4.0 if w == "train" else 1.0)} for w, e in kwh.items()}
    return {
        "knobs": knobs,
        "phase": "single" if knobs else "baseline",
        "fidelity": 0.25,
        "stages": stages,
        "window_scales": {"train": {"energy_kwh": 4.0}},
        "energy_kwh": sum(kwh.values()),
        "energy_kwh_spent": 1.0,
        "repeats": repeats,
        **extra,
    }


def _record(number: int, attrs: dict) -> TrialRecord:
    return TrialRecord.from_attrs(attrs, number=number, values=(attrs["energy_kwh"], 0.0))


BASE = {"tokenize": 2.0, "train": 60.0, "validate": 4.0, "eval": 20.0}


def test_work_keys_follow_each_knobs_declared_windows():
    stack = {"layer_prune": "2:top", "optimizer": "adafactor", "quantization": "int8"}
    assert work_key(REG, stack, "tokenize") == ""  # model and training knobs come later
    assert work_key(REG, stack, "train") == "layer_prune=2:top,optimizer=adafactor"
    assert work_key(REG, stack, "eval") == "layer_prune=2:top,quantization=int8"
    assert work_key(REG, {"seq_len": "96"}, "tokenize") == "seq_len=96"  # undeclared: all
    assert work_key(REG, {"fast_tokenizer": "on"}, "train") == ""
    # one knob, two footprints: nf4 loads a quantized model, int8 is an eval engine
    assert REG.get("quantization").changed_windows("int8") == {"eval"}
    assert REG.get("quantization").changed_windows("nf4") >= {"load", "train", "eval"}
    assert REG.get("seq_len").changed_windows("96") is None


def test_a_knob_declaring_an_unknown_window_is_refused():
    with pytest.raises(ValueError, match="unknown windows"):
        Knob("k", "training", ("compute",), "d", lambda plan, value: None, windows=("trian",))
    assert all(set(k.windows or WINDOWS) <= set(WINDOWS) for k in REG)


def test_a_training_knob_is_judged_on_its_train_window_and_the_rest_comes_from_all_runs():
    base = _record(0, _attrs("", BASE, repeats=3))
    # drift made the single's eval 30 % slow: none of it is the knob's
    own = _attrs("optimizer=adafactor", {**BASE, "train": 54.0, "eval": 26.0})
    out = shared_estimate(REG, {"optimizer": "adafactor"}, own, [base])
    assert out["shared_windows"] == {"tokenize": 4, "validate": 4, "eval": 4}
    assert out["energy_kwh_own"] == pytest.approx(86.0)
    # eval: (3 x 20 + 26) / 4; train stays its own 54
    assert out["energy_kwh"] == pytest.approx(2.0 + 54.0 + 4.0 + (3 * 20 + 26) / 4)
    assert window_kwh(own)["train"] == pytest.approx(54.0)


def test_int8_shares_training_and_a_stack_shares_with_its_core_only_what_it_leaves_alone():
    core = _record(1, _attrs("layer_prune=2:top", {**BASE, "train": 40.0, "eval": 14.0}))
    base = _record(0, _attrs("", BASE, repeats=3))
    other = _record(2, _attrs("optimizer=adafactor", {**BASE, "train": 50.0}))
    own = _attrs("layer_prune=2:top,quantization=int8", {**BASE, "train": 48.0, "eval": 9.0})
    bundle = {"layer_prune": "2:top", "quantization": "int8"}
    out = shared_estimate(REG, bundle, own, [base, core, other])
    # train and validate: the pruned model's work, which int8 leaves alone, so the core's
    # runs share them; tokenize is everyone's; eval (the int8 engine) stays its own
    assert out["shared_windows"] == {"tokenize": 6, "train": 2, "validate": 2}
    assert out["energy_kwh"] == pytest.approx(2.0 + (40 + 48) / 2 + 4.0 + 9.0)


def test_reused_finals_older_and_lone_trials_are_not_shared():
    base = _record(0, _attrs("", BASE, repeats=3))
    reused = _record(1, _attrs("", BASE, reused_from=0))
    final = _record(2, {**_attrs("", BASE, repeats=3), "phase": "final"})
    # stored by a version without window scales: its short train window cannot be scaled
    older = _record(3, {k: v for k, v in _attrs("", BASE).items() if k != "window_scales"})
    own = _attrs("seq_len=96", {**BASE, "train": 30.0})
    assert shared_estimate(REG, {"seq_len": "96"}, own, [base, reused, final, older]) == {}
    lr = _attrs("lr_schedule=cosine", BASE)
    out = shared_estimate(REG, {"lr_schedule": "cosine"}, lr, [base, reused, final, older])
    assert out["shared_windows"]["eval"] == 4  # the baseline's 3 runs and its own


def _timed(attrs: dict) -> dict:
    """``attrs`` with each stage's time 10 s per kWh of its short-run energy."""
    for stage in attrs["stages"].values():
        stage["duration_s"] = 10.0 * stage["energy_kwh"]
    attrs["duration_s"] = sum(s["duration_s"] for s in attrs["stages"].values())
    return attrs


def _skipping(knobs: str, kwh: dict[str, float]) -> dict:
    """A trial's figures whose one run left its validation out."""
    ran = {w: e for w, e in kwh.items() if w != "validate"}
    return _timed(_attrs(knobs, ran, skipped_windows=["validate"], energy_kwh_runs=[1.0]))


def test_a_skipped_window_of_work_measured_before_is_the_mean_of_those_runs():
    base = _record(0, _timed(_attrs("", BASE, repeats=3)))
    # a training knob's run that validated: the baseline's validation work, 8 there
    other = _record(1, _timed(_attrs("optimizer=adafactor", {**BASE, "validate": 8.0})))
    own = _skipping("lr_schedule=cosine", {**BASE, "train": 50.0})
    out = fill_skipped(REG, {"lr_schedule": "cosine"}, own, [base, other])
    window = out["stages"]["validate"]
    assert window["energy_kwh"] == pytest.approx((3 * 4.0 + 8.0) / 4)
    assert window["duration_s"] == pytest.approx(10 * (3 * 4.0 + 8.0) / 4)
    assert "mean of 4 earlier run(s) of the same work" in window["estimated"]
    assert out["energy_kwh"] == pytest.approx(2.0 + 50.0 + 20.0 + 5.0)
    assert out["energy_kwh_runs"] == [pytest.approx(1.0 + 5.0)]
    assert out["duration_s"] == pytest.approx(own["duration_s"] + 50.0)
    # the rest of the trial's windows are its own, untouched
    assert {w: s for w, s in out["stages"].items() if w != "validate"} == own["stages"]


def test_a_skipped_window_of_new_work_scales_the_trials_own_eval_by_the_baselines_ratio():
    base = _record(0, _timed(_attrs("", BASE, repeats=3)))  # validate 4 per eval 20
    # an earlier seq_len=96 trial estimated its validation: an estimate is not a run
    earlier = {**_skipping("seq_len=96", {**BASE, "eval": 14.0}), "repeats": 1}
    earlier["stages"]["validate"] = {"energy_kwh": 9.0, "duration_s": 90.0, "estimated": "x"}
    own = _skipping("seq_len=96", {**BASE, "train": 30.0, "eval": 10.0})
    # it predicted a share of the test split: its eval window at full-run scale is 2x
    own["window_scales"]["eval"] = {"energy_kwh": 2.0, "duration_s": 2.0}
    out = fill_skipped(REG, {"seq_len": "96"}, own, [base, _record(1, earlier)])
    window = out["stages"]["validate"]
    assert window["energy_kwh"] == pytest.approx(2 * 10.0 * 4.0 / 20.0)
    assert window["duration_s"] == pytest.approx(2 * 100.0 * 40.0 / 200.0)
    assert "its own eval window x validate/eval of 3 earlier run(s)" in window["estimated"]
    assert "a model" in window["estimated"]
    # the estimate stays the trial's own: no run of the same work shares it
    shared = shared_estimate(REG, {"seq_len": "96"}, {**own, **out}, [base, _record(1, earlier)])
    assert "validate" not in shared.get("shared_windows", {})


def test_a_run_that_skipped_nothing_or_cannot_be_filled_is_left_alone():
    base = _record(0, _timed(_attrs("", BASE, repeats=3)))
    assert fill_skipped(REG, {"seq_len": "96"}, _timed(_attrs("seq_len=96", BASE)), [base]) == {}
    # nothing measured the window yet: no mean, no ratio, no figure made up
    lone = _skipping("lr_schedule=cosine", BASE)
    assert fill_skipped(REG, {"lr_schedule": "cosine"}, lone, []) == {}


def test_a_run_skips_validation_only_where_the_window_can_be_filled():
    base = _timed(_attrs("", BASE, repeats=3))
    assert fillable(REG, {"lr_schedule": "cosine"}, "validate", base)  # the baseline's work
    assert fillable(REG, {"layer_prune": "2:top"}, "validate", base)  # its own eval stands in
    # an int8 eval engine predicts with other work than the pruned model validates with
    int8 = {"layer_prune": "2:top", "quantization": "int8"}
    assert not fillable(REG, int8, "validate", base)
    assert fillable(REG, {"quantization": "int8"}, "validate", base)  # validates as the baseline
    # a baseline that never validated (no validation split) leaves nothing to fill from
    unvalidated = _timed(_attrs("", {w: e for w, e in BASE.items() if w != "validate"}))
    assert not fillable(REG, {"lr_schedule": "cosine"}, "validate", unvalidated)


def test_only_runners_that_meter_real_windows_share_them():
    assert measures_windows(None)  # the staged pipeline
    assert not measures_windows(ReplayRunner({}))  # a replay's windows model its total


def test_a_real_search_stores_each_trials_own_and_shared_energy(tiny_study, clock_meter):
    storage = optuna.storages.InMemoryStorage()
    run_search(
        tiny_study,
        budget_f1="-50%",
        n_trials=3,
        storage=storage,
        study_name="w",
        fidelity=0.5,
        baseline_repeats=2,
        meter=clock_meter,
        include=["lr_schedule", "fast_tokenizer"],
        search_only=True,
    )
    done = optuna.load_study(study_name="w", storage=storage).get_trials()
    figures = {t.user_attrs["knobs"]: (t, attrs_of(t)) for t in done}
    base = window_kwh(figures[""][1])
    (ft_trial, ft), (lr_trial, lr) = figures["fast_tokenizer"], figures["lr_schedule=cosine"]
    assert ft_trial.number < lr_trial.number  # the registry's order: data knobs first
    mine_ft, mine_lr = window_kwh(ft), window_kwh(lr)
    # both short runs left validation out: theirs is the baseline's work, its 2 runs' mean
    for a, mine in ((ft, mine_ft), (lr, mine_lr)):
        assert a["skipped_windows"] == ["validate"] and a["stages"]["validate"]["estimated"]
        assert mine["validate"] == pytest.approx(base["validate"])
    # fast_tokenizer changes tokenize only: every other window it ran is the baseline's 2
    # runs and its own
    assert ft["shared_windows"] == {w: 3 for w in mine_ft if w not in ("tokenize", "validate")}
    expected_ft = (
        mine_ft["tokenize"]
        + mine_ft["validate"]
        + sum((2 * base[w] + mine_ft[w]) / 3 for w in ft["shared_windows"])
    )
    # lr_schedule changes train: tokenize is the baseline's and its own (fast_tokenizer's
    # is other work), every other window the baseline's, fast_tokenizer's and its own
    assert lr["shared_windows"] == {
        w: 3 if w == "tokenize" else 4 for w in mine_lr if w not in ("train", "validate")
    }
    expected_lr = (
        mine_lr["train"]
        + mine_lr["validate"]
        + sum(
            (2 * base[w] + mine_lr[w] + (0 if n == 3 else mine_ft[w])) / n
            for w, n in lr["shared_windows"].items()
        )
    )
    for trial, a, mine, expected in (
        (ft_trial, ft, mine_ft, expected_ft),
        (lr_trial, lr, mine_lr, expected_lr),
    ):
        assert a["energy_kwh_own"] == pytest.approx(sum(mine.values()))
        assert a["energy_kwh"] == pytest.approx(expected)
        assert trial.values[0] == pytest.approx(a["energy_kwh"])  # what the search compares


def test_baselines_anchors_and_unshared_searches_validate(tiny_study, clock_meter, tmp_path):
    from greensearch.results import read_records

    for share, name in ((True, "a"), (False, "b")):
        results = tmp_path / f"{name}.jsonl"
        run_search(
            tiny_study,
            budget_f1="-50%",
            n_trials=2,
            storage=optuna.storages.InMemoryStorage(),
            study_name=name,
            fidelity=0.5,
            baseline_repeats=2,
            meter=clock_meter,
            include=["lr_schedule"],
            search_only=True,
            anchor_every=1,
            share_windows=share,
            results_path=results,
        )
        rows = [(r["variant"], r["skipped_windows"]) for r in read_records(results)]
        anchors = [s for v, s in rows if v.endswith("-anchor")]
        assert anchors and all(s == [] for s in anchors)  # an anchor is a baseline run
        assert [s for v, s in rows if v == "trial-0"] == [[], []]  # the baseline's 2 runs
        trials = [s for v, s in rows if v != "trial-0" and not v.endswith("-anchor")]
        assert trials and all(s == (["validate"] if share else []) for s in trials)
