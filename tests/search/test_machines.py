"""A study never mixes machines, and emulated precision is left out of the search.

Machines are faked (a /proc tree in ``tmp_path``), the pipeline is replayed.
"""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.exceptions import MixedMachinesError
from greensearch.knobs import Knob, default_registry
from greensearch.search._machines import BASELINE_MACHINE_ATTR
from greensearch.search._objective import attrs_of
from greensearch.search._replay import ReplayRunner
from greensearch.search._space import build_space
from tests.machines import fake_machine
from tests.search.landscape import landscape, make_registry
from tests.search.run_search import run_search

_STUDY = StudyConfig(name="replay", source="<replay>")


def _optimize(storage, clock_meter, *, machine, stamped, n_trials=8, registry=None, **kw):
    runner = ReplayRunner(landscape(), machine=stamped.to_dict() if stamped else None)
    result = run_search(
        _STUDY,
        budget_f1="-1%",
        n_trials=n_trials,
        storage=storage,
        study_name="t",
        fidelity=0.5,
        repeats=1,
        baseline_repeats=2,
        meter=clock_meter,
        registry=registry or make_registry(),
        run_fn=runner,
        machine=machine,
        **kw,
    )
    return result, runner


def test_the_study_stores_the_machine_that_measured_its_baseline(tmp_path, clock_meter):
    a = fake_machine(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    result, _ = _optimize(storage, clock_meter, machine=a, stamped=a)
    study = optuna.load_study(study_name="t", storage=storage)
    stored = study.user_attrs[BASELINE_MACHINE_ATTR]
    assert stored["fingerprint"] == a.fingerprint
    assert stored["summary"] == "AMD EPYC, 2 cores, torch AVX2, no native bf16/fp16"
    measured = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert measured and {attrs_of(t)["machine"] for t in measured} == {a.fingerprint}
    assert result.machine["fingerprint"] == a.fingerprint


def test_another_machine_is_refused_before_it_measures(tmp_path, clock_meter):
    a = fake_machine(tmp_path / "a")
    b = fake_machine(tmp_path / "b", extra="avx512f avx512_bf16")
    storage = optuna.storages.InMemoryStorage()
    _optimize(storage, clock_meter, machine=a, stamped=a)
    n_before = len(optuna.load_study(study_name="t", storage=storage).get_trials())
    with pytest.raises(MixedMachinesError) as err:
        _optimize(storage, clock_meter, machine=b, stamped=b, n_trials=12)
    assert str(err.value) == (
        f"study 't' measured its baseline on machine {a.fingerprint} (AMD EPYC, 2 cores, "
        f"torch AVX2, no native bf16/fp16) and this is machine {b.fingerprint} (AMD EPYC, "
        "2 cores, torch AVX2, native bf16): energy from two machines cannot share one "
        f"baseline; start a new study on this machine (--study-name t-{b.fingerprint[:6]}) "
        f"or add --allow-mixed-machines to give it its own baseline in t@{b.fingerprint}"
    )
    assert "\n" not in str(err.value)
    assert len(optuna.load_study(study_name="t", storage=storage).get_trials()) == n_before


def test_a_trial_measured_on_another_machine_is_refused_before_it_is_stored(tmp_path, clock_meter):
    """A worker that did not know its machine up front (or joined before the baseline was
    stored) measures on B: the trial is failed with the refusal and the search stops."""
    a = fake_machine(tmp_path / "a")
    b = fake_machine(tmp_path / "b", extra="avx512f avx512_bf16")
    storage = optuna.storages.InMemoryStorage()
    _optimize(storage, clock_meter, machine=a, stamped=a)
    with pytest.raises(MixedMachinesError, match=f"this is machine {b.fingerprint}"):
        _, runner = _optimize(storage, clock_meter, machine=None, stamped=b, n_trials=12)
    study = optuna.load_study(study_name="t", storage=storage)
    on_b = [t for t in study.get_trials() if attrs_of(t).get("machine") == b.fingerprint]
    assert on_b == []  # nothing measured on B was stored as a measurement
    failed = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    assert len(failed) == 1 and "cannot share one baseline" in failed[0].user_attrs["error"]


def test_the_same_machine_resumes(tmp_path, clock_meter):
    a = fake_machine(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    _optimize(storage, clock_meter, machine=a, stamped=a)
    n_before = len(optuna.load_study(study_name="t", storage=storage).get_trials())
    again = fake_machine(tmp_path)  # described anew: same hardware, same fingerprint
    result, runner = _optimize(storage, clock_meter, machine=again, stamped=again)
    assert runner.calls == []  # everything was measured already: nothing is measured again
    trials = optuna.load_study(study_name="t", storage=storage).get_trials()
    assert len(trials) == n_before and result.n_trials == 8
    assert [t.user_attrs["phase"] for t in trials].count("baseline") == 1


def test_build_space_leaves_emulated_bf16_out_unless_included(tmp_path):
    from greensearch.config import load_study

    reg, study = default_registry(), load_study(None)
    avx2 = fake_machine(tmp_path / "avx2")
    space = build_space(reg, study, machine=avx2)
    assert "precision" not in space.choices
    assert space.skipped["precision=bf16"] == (
        "bf16 emulated on this CPU: expect a cost; name precision in --include to search it"
    )
    included = build_space(reg, study, include=["precision", "seq_len"], machine=avx2)
    assert "bf16" in included.choices["precision"]
    native = build_space(reg, study, machine=fake_machine(tmp_path / "zen5", extra="avx512_bf16"))
    assert "bf16" in native.choices["precision"] and "precision=bf16" not in native.skipped


def _with_half(reg):
    """The test registry plus a bf16 flag knob (never sampled unless included)."""
    reg.register(
        Knob(
            "half",
            "training",
            ("precision",),
            "bf16",
            lambda p, v: None,
            value_dtypes={"on": "bf16"},
        )
    )
    return reg


def test_optimize_does_not_seed_emulated_precision_and_says_so(
    tmp_path, clock_meter, caplog, capsys
):
    avx2 = fake_machine(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    with caplog.at_level("WARNING"):
        result, runner = _optimize(
            storage, clock_meter, machine=avx2, stamped=avx2, registry=_with_half(make_registry())
        )
    assert not any("half" in key for key, _, _ in runner.calls)
    note = "bf16 emulated on this CPU: expect a cost; name half in --include to search it"
    assert result.left_out_values == {"half=on": note}
    assert f"left out of the search: half=on ({note})" in caplog.text
    from greensearch.cli._optimize import render

    render(result)
    out = capsys.readouterr().out.splitlines()
    assert f"left out of the search: half=on ({note})" in out
    assert f"measured on: {avx2.summary()} (fingerprint {avx2.fingerprint})" in out


def test_include_names_emulated_precision_and_it_is_seeded(tmp_path, clock_meter):
    avx2 = fake_machine(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    land = landscape()
    land["half"] = land["compile"]
    runner = ReplayRunner(land, machine=avx2.to_dict())
    run_search(
        _STUDY,
        n_trials=3,
        storage=storage,
        study_name="t",
        fidelity=0.5,
        baseline_repeats=2,
        meter=clock_meter,
        registry=_with_half(make_registry()),
        run_fn=runner,
        machine=avx2,
        include=["half", "prune"],
        guide=False,
    )
    assert ("half", 0.5, 1) in runner.calls


def test_a_study_from_before_machine_records_is_named_unknown(tmp_path, clock_meter, caplog):
    storage = optuna.storages.InMemoryStorage()
    _optimize(storage, clock_meter, machine=None, stamped=None)  # an old study: no machine
    study = optuna.load_study(study_name="t", storage=storage)
    assert BASELINE_MACHINE_ATTR not in study.user_attrs
    a = fake_machine(tmp_path)
    with caplog.at_level("WARNING"):
        _optimize(storage, clock_meter, machine=a, stamped=a, n_trials=10)
    assert (
        "study 't' has trials but no recorded baseline machine (made before greensearch "
        "recorded machines): trials from another machine cannot be told apart; this is "
        f"machine {a.fingerprint} ({a.summary()})"
    ) in caplog.text


def test_same_machine_with_other_software_is_allowed_with_a_warning(tmp_path, clock_meter, caplog):
    from dataclasses import replace

    a = fake_machine(tmp_path)
    storage = optuna.storages.InMemoryStorage()
    _optimize(storage, clock_meter, machine=a, stamped=a)
    upgraded = replace(a, torch="2.14.0", cpu_threads_used=1)  # threads are not software here
    assert upgraded.fingerprint == a.fingerprint
    with caplog.at_level("WARNING"):
        result, _ = _optimize(storage, clock_meter, machine=upgraded, stamped=upgraded, n_trials=10)
    assert result.n_trials == 10
    assert (
        "study 't': same machine, other software since its baseline (torch 2.13.0+cpu -> "
        "2.14.0): energy may shift; a new study name measures a fresh baseline"
    ) in caplog.text


def test_allow_mixed_machines_gives_each_machine_its_own_baseline(tmp_path, clock_meter):
    a = fake_machine(tmp_path / "a")
    b = fake_machine(tmp_path / "b", extra="avx512f avx512_bf16")
    storage = optuna.storages.InMemoryStorage()
    first, _ = _optimize(storage, clock_meter, machine=a, stamped=a)
    parent = optuna.load_study(study_name="t", storage=storage)
    n_parent = len(parent.get_trials())
    result, runner = _optimize(
        storage, clock_meter, machine=b, stamped=b, allow_mixed_machines=True
    )
    own = f"t@{b.fingerprint}"
    assert result.study_name == own
    assert result.machine["fingerprint"] == b.fingerprint
    assert runner.calls[0] == ("", 0.5, 2)  # B measured its own baseline first
    sub = optuna.load_study(study_name=own, storage=storage)
    measured = [t for t in sub.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert {attrs_of(t)["machine"] for t in measured} == {b.fingerprint}
    base_b = next(t for t in measured if t.user_attrs["knobs"] == "")
    assert attrs_of(base_b)["delta_energy_pct"] == 0.0  # against itself, not A's baseline
    parent = optuna.load_study(study_name="t", storage=storage)
    assert len(parent.get_trials()) == n_parent  # nothing of B's in A's study
    assert parent.user_attrs["mixed_machines"] is True
    assert parent.user_attrs[f"machine_study:{b.fingerprint}"] == {
        "study": own,
        "summary": b.summary(),
    }
    assert parent.user_attrs[BASELINE_MACHINE_ATTR]["fingerprint"] == a.fingerprint
    # the opt-in is the study's: a third machine without the flag gets its own study too,
    # and A resumes in the study it measured
    c = fake_machine(tmp_path / "c", extra="avx512f amx_tile amx_bf16")
    third, _ = _optimize(storage, clock_meter, machine=c, stamped=c)
    assert third.study_name == f"t@{c.fingerprint}"
    again, _ = _optimize(storage, clock_meter, machine=a, stamped=a, n_trials=10)
    assert again.study_name == "t" and first.study_name == "t"
