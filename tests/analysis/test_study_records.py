"""A stored study as the variant table: which trial speaks for a knob set, and against what."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest

from greensearch.analysis import load_study_table, study_table, synergy_table
from greensearch.exceptions import ConfigError
from tests.analysis.replay_study import (
    BASE_ENERGY_KWH,
    BASE_F1,
    EFFECTS,
    SORTED_BATCHES,
    make_study,
)


@pytest.fixture(scope="module")
def study() -> optuna.Study:
    storage = optuna.storages.InMemoryStorage()
    make_study(storage, name="s")
    return optuna.load_study(study_name="s", storage=storage)


def _attrs(t: optuna.trial.FrozenTrial) -> dict:
    return {**t.user_attrs.get("measurement", {}), **t.user_attrs}


def test_final_trials_replace_search_estimates(study: optuna.Study) -> None:
    df = study_table(study).set_index("knobs")
    finals = [t for t in study.get_trials() if t.user_attrs.get("phase") == "final"]
    assert len(finals) == 3  # baseline + 2 finalists
    for t in finals:
        row = df.loc[t.user_attrs["knobs"]]
        assert row["variant"] == f"T{t.number}" and row["fidelity"] == 1.0
        assert row["repeats"] == 3 and row["phase"] == "final"
    # one row per knob set; the rest are search trials at the study's fidelity, one run
    assert df.index.is_unique
    search = df.loc[df["phase"] != "final"]
    assert set(search["fidelity"]) == {0.3} and set(search["repeats"]) == {1}
    assert (
        df.loc["", "variant"] == f"T{next(t.number for t in finals if not t.user_attrs['knobs'])}"
    )


def test_deltas_are_against_the_baseline_of_the_same_fidelity(study: optuna.Study) -> None:
    df = study_table(study).set_index("knobs")
    trials = [
        t
        for t in study.get_trials()
        if t.state.name == "COMPLETE" and "reused_from" not in t.user_attrs
    ]
    base = {
        p: next(
            _attrs(t)
            for t in trials
            if t.user_attrs["knobs"] == "" and (t.user_attrs["phase"] == "final") == (p == "final")
        )
        for p in ("final", "search")
    }
    single = next(t for t in trials if t.user_attrs["knobs"] == "dynamic_padding")
    a, b = _attrs(single), base["search"]
    row = df.loc["dynamic_padding"]
    assert row["delta_energy_pct"] == pytest.approx((a["energy_kwh"] / b["energy_kwh"] - 1) * 100)
    assert row["delta_time_pct"] == pytest.approx((a["duration_s"] / b["duration_s"] - 1) * 100)
    # the replayed ratio is 0.80 with 1 % noise on each of the two runs
    assert row["delta_energy_pct"] == pytest.approx(-20.0, abs=4.0)
    assert row["energy_kwh"] == pytest.approx(a["energy_kwh"])
    # stages are extrapolated like the total, so they add up to it
    stages = sum(
        row[f"energy_{s}_kwh"] for s in ("data", "tokenize", "load", "train", "save", "eval")
    )
    assert stages == pytest.approx(row["energy_kwh"])
    assert df.loc["", "energy_kwh"] == pytest.approx(base["final"]["energy_kwh"])
    assert df.loc["", "energy_kwh"] == pytest.approx(BASE_ENERGY_KWH, rel=0.05)


def test_infeasible_degenerate_and_noise_are_carried(study: optuna.Study) -> None:
    df = study_table(study).set_index("knobs")
    # int8 costs 0.012 of 0.80 F1 = 1.5 % > the 1 % budget
    assert df.loc["quantization=int8", "delta_f1_pct"] == pytest.approx(-0.012 / BASE_F1 * 100)
    assert not df.loc["quantization=int8", "feasible"]
    assert df.loc["dynamic_padding", "feasible"]
    assert not df["degenerate"].any()
    base = df.loc[""]
    assert base["energy_kwh_std"] > 0 and math.isnan(df.loc["dynamic_padding", "energy_kwh_std"])
    table = synergy_table(df.reset_index())
    assert table.attrs["noise"]["method"] == "repeats"


def test_synergy_finds_the_modelled_interaction(study: optuna.Study) -> None:
    table = synergy_table(study_table(study)).set_index("knobs")
    key = "dynamic_padding,group_by_length,precision=bf16,torch_compile"
    row = table.loc[key]
    # measured: 0.80 * 0.97 * 0.85 * 0.70 * 0.85; from the singles: 0.80 * 0.97 * 0.70 * 0.85
    ratios = [
        EFFECTS["dynamic_padding"]["on"][0],
        EFFECTS["group_by_length"]["on"][0],
        EFFECTS["precision"]["bf16"][0],
        EFFECTS["torch_compile"]["on"][0],
    ]
    assert row["expected_multiplicative_pct"] == pytest.approx(
        (math.prod(ratios) - 1) * 100, abs=2.5
    )
    assert row["measured_delta_energy_pct"] == pytest.approx(
        (math.prod(ratios) * SORTED_BATCHES - 1) * 100, abs=2.5
    )
    assert row["verdict"] == "synergistic"
    assert table.loc["group_by_length,precision=bf16,torch_compile", "verdict"] == "independent"


def test_unknown_study_and_missing_file_are_config_errors(
    tmp_path: Path, replay_journal: str
) -> None:
    with pytest.raises(ConfigError, match=r"no study named 'nope'.*default-replay"):
        load_study_table(replay_journal, "nope")
    missing = tmp_path / "absent.db"
    with pytest.raises(ConfigError, match="not found"):
        load_study_table(f"sqlite:///{missing}", "x")
    assert not missing.exists()  # reading never creates a database


def test_a_study_without_baseline_is_a_config_error() -> None:
    storage = optuna.storages.InMemoryStorage()
    optuna.create_study(study_name="empty", storage=storage)
    with pytest.raises(ConfigError, match="no completed baseline"):
        load_study_table(storage, "empty")


def test_stages_are_scaled_by_the_searchs_own_train_scale() -> None:
    """A step-timed trial stores its train-window factor per figure; stages must use it
    (not planned / run steps), or they would not add up to the trial's total."""
    from greensearch.analysis._study_records import _figures
    from greensearch.record import TrialRecord

    measurement = {
        "fidelity": 0.1,
        "train_steps": 10,
        "planned_steps": 100,
        "train_scale": {"energy_kwh": 7.0, "duration_s": 6.0},
        "stages": {
            "train": {"energy_kwh": 1.0, "duration_s": 2.0},
            "eval": {"energy_kwh": 0.5, "duration_s": 1.0},
        },
        "energy_kwh": 7.5,
        "duration_s": 13.0,
        "f1": 0.8,
    }
    fig = _figures(TrialRecord.from_attrs({"measurement": measurement}))
    assert fig["stages"]["train"] == {"energy_kwh": 7.0, "duration_s": 12.0}
    assert sum(s["energy_kwh"] for s in fig["stages"].values()) == pytest.approx(7.5)
    old = dict(measurement, train_scale=None)  # studies from before: linear 10x
    assert _figures(TrialRecord.from_attrs({"measurement": old}))["stages"]["train"][
        "energy_kwh"
    ] == pytest.approx(10.0)
    # a trial that predicted a share of the test split scales its eval window back too
    scaled = dict(
        measurement,
        train_scale=None,
        window_scales={
            "train": {"energy_kwh": 6.5, "duration_s": 6.0},
            "eval": {"energy_kwh": 2.0, "duration_s": 2.0},
        },
    )
    stages = _figures(TrialRecord.from_attrs({"measurement": scaled}))["stages"]
    assert stages["eval"] == {"energy_kwh": 1.0, "duration_s": 2.0}
    assert sum(s["energy_kwh"] for s in stages.values()) == pytest.approx(7.5)
