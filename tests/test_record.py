"""The trial record: the one reader and writer of a trial's stored attributes."""

from __future__ import annotations

import re
from pathlib import Path

import optuna

import greensearch
from greensearch.record import TrialRecord, queued_attrs, retry_attrs
from greensearch.schema import TrialRow

ROOT = Path(greensearch.__file__).parent
#: ``x.user_attrs`` / ``x.set_user_attr(`` on anything but a study (``study``, ``ostudy``,
#: ``trial.study``): a study's own settings have their own keys (``StudyAttr``).
_TRIAL_ATTRS = re.compile(r"(?<!study)\.(user_attrs\b|set_user_attr\()")


def _trial(**user_attrs: object) -> optuna.trial.FrozenTrial:
    return optuna.trial.create_trial(
        state=optuna.trial.TrialState.COMPLETE, values=[2.0, 0.5], user_attrs=user_attrs
    )


def test_a_stored_trial_reads_as_typed_fields_with_its_measurement_merged():
    trial = _trial(
        phase="final",
        fidelity=1,
        knobs="seq_len=128",
        energy_kwh=2.0,
        f1_verdict="feasible",
        measurement={"energy_kwh_runs": [1.5, 2.5], "rounds": True, "f1_resolution_pct": 0.4},
    )
    record = TrialRecord.from_trial(trial)
    assert (record.phase, record.fidelity, record.knobs) == ("final", 1.0, "seq_len=128")
    assert record.is_final and not record.is_baseline
    assert record.values == (2.0, 0.5) and record.state == optuna.trial.TrialState.COMPLETE
    assert record.energy_kwh_runs == [1.5, 2.5] and record.rounds
    assert record.f1_resolution_pct == 0.4 and record.f1_verdict == "feasible"
    assert record.energy_kwh_spent == 0.0 and record.reused_from is None  # never stored
    assert TrialRecord.from_attrs(record.to_attrs(), number=record.number) == record.replace(
        state=None, values=None
    )


def test_queued_attrs_read_back_as_the_queued_trial():
    attrs = queued_attrs("final", 1.0, "", near_miss=True, rounds=True)
    record = TrialRecord.from_attrs(attrs)
    assert record.is_baseline and record.is_final and record.near_miss and record.rounds


def test_only_the_record_reads_or_writes_a_trials_user_attrs():
    readers = sorted(
        f"{path.relative_to(ROOT.parent)}:{n}"
        for path in ROOT.rglob("*.py")
        if path != ROOT / "record.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _TRIAL_ATTRS.search(line)
    )
    assert readers == []


def test_the_pattern_tells_a_trial_from_a_study():
    assert _TRIAL_ATTRS.search("t.user_attrs.get('knobs')")
    assert _TRIAL_ATTRS.search("trial.set_user_attr('error', e)")
    assert not _TRIAL_ATTRS.search("ostudy.user_attrs.get(StudyAttr.FIDELITY)")
    assert not _TRIAL_ATTRS.search("trial.study.set_user_attr(key, value)")


def test_an_interrupted_trial_is_retried_without_the_marks_of_its_failure():
    trial = optuna.trial.create_trial(
        state=optuna.trial.TrialState.FAIL,
        user_attrs={"phase": "search", "knobs": "seq_len=128", "interrupted": True, "error": "x"},
    )
    assert TrialRecord.from_trial(trial).interrupted
    assert not TrialRecord.from_trial(_trial(knobs="")).interrupted
    assert retry_attrs(trial) == {"phase": "search", "knobs": "seq_len=128"}


def test_the_deciding_bound_and_the_bootstrap_share_are_top_level_for_the_dashboard():
    from greensearch.schema import TOP_LEVEL_ATTRS

    shown = list(TOP_LEVEL_ATTRS)
    assert shown.index("f1_decided_by") == shown.index("delta_f1_ci95_pct") + 1
    assert "f1_bootstrap_share" in shown and "p_f1_within_budget" not in shown
    # an older study's share, stored under its old name, reads as the bootstrap share
    assert TrialRecord.from_attrs({"p_f1_within_budget": 0.9}).f1_bootstrap_share == 0.9


def test_a_trial_row_holds_its_figures_and_a_verdict_only_where_it_has_knobs():
    trial = _trial(
        phase="final",
        fidelity=1,
        knobs="seq_len=128",
        energy_kwh=2.0,
        delta_f1_pct=-0.5,
        f1_verdict="uncertain",
        feasible=True,
        look={"rounds": 4, "confidence": 0.99, "confirmed": False, "stopped": "the last look"},
        measurement={"repeats": 4, "n_seeds": 4, "delta_f1_ci95_pct": [-1.5, 0.5]},
    )
    row = TrialRecord.from_trial(trial).to_row()
    assert set(row) == set(TrialRow.__annotations__)
    assert (row["trial"], row["knobs"], row["fidelity"], row["energy_kwh"]) == (
        trial.number,
        "seq_len=128",
        1.0,
        2.0,
    )
    assert (row["delta_f1_pct"], row["f1_verdict"], row["rounds_ended"]) == (
        -0.5,
        "uncertain",
        "the last look",
    )
    assert (row["repeats"], row["n_seeds"], row["delta_f1_ci95_pct"]) == (4, 4, [-1.5, 0.5])
    assert row["delta_time_pct"] is None and row["method"] is None  # never stored
    # a trial stored before verdicts: its point estimate's flag; no knobs, no verdict
    old = TrialRecord.from_trial(_trial(knobs="prune=2", feasible=False)).to_row()
    assert old["f1_verdict"] == "infeasible" and old["knobs"] == "prune=2"
    unsampled = TrialRecord.from_trial(_trial()).to_row()
    assert unsampled["f1_verdict"] is None and unsampled["knobs"] == ""
