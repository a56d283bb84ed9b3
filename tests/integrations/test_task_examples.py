"""The entity-F1 and exact-match examples through ``greensearch optimize --script``, offline.

Each runs the CLI as a user would (only the meter is the test's: deterministic, no
hardware) and asserts what it answers: the metric it names, each finalist's verdict
against the budget, the oracle or why there is none, and each run's metric worked out
again from the per-example values the run kept.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import greensearch.energy
from greensearch.cli import main
from greensearch.stats import RunPredictions

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _optimize(tmp_path, monkeypatch, capsys, clock_meter, script: str, *extra: str):
    """``greensearch optimize --script`` in-process: its exit code, JSON answer, records."""
    monkeypatch.setattr(greensearch.energy, "make_meter", lambda *a, **k: clock_meter)
    argv = ["optimize", "--script", str(EXAMPLES / script), "--budget-f1", "-30%"]
    argv += ["--n-trials", "2", "--fidelity", "0.5", "--repeats", "2"]
    argv += ["--baseline-repeats", "1", "--near-misses", "0", "--finalists", "1"]
    argv += ["--confidence", "0.5", "--idle-seconds", "0", "--sampler", "grid", *extra]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}"]
    argv += ["--results", str(tmp_path / "runs.jsonl"), "--json"]
    code = main(argv)
    answer = json.loads(capsys.readouterr().out)
    lines = (tmp_path / "runs.jsonl").read_text().splitlines()
    return code, answer, [json.loads(line) for line in lines]


def _assert_judged(answer: dict, records: list[dict], metric: str) -> None:
    """The answer names the metric; ΔMetric is against the baseline's mean; every
    finalist's verdict follows the point-estimate rule; an oracle is a feasible finalist
    (Holm's rule over the finalists may confirm fewer), and none is named without one."""
    assert answer["metric"] == metric
    assert answer["budget_f1_pct"] == -30.0
    base = answer["baseline"]
    full_base = [r for r in records if r["knobs"] == "" and r["fidelity"] == 1.0]
    assert base["f1"] == pytest.approx(sum(r["metrics"]["f1"] for r in full_base) / len(full_base))
    bundles = [f for f in answer["finalists"] if f["knobs"]]
    assert bundles, "the finals judged no bundle"
    for row in bundles:
        assert row["delta_f1_pct"] == pytest.approx(100 * (row["f1"] - base["f1"]) / base["f1"])
        expected = "feasible" if row["delta_f1_pct"] >= -30.0 else "infeasible"
        assert row["f1_verdict"] == expected
    feasible = [f for f in bundles if f["f1_verdict"] == "feasible"]
    if answer["oracle"] is not None:
        assert answer["oracle"]["knobs"] in {f["knobs"] for f in feasible}
        assert answer["oracle_rule"]
    else:
        assert not feasible or answer["oracle_rule"]


def test_the_ner_example_is_judged_on_entity_f1(tmp_path, monkeypatch, capsys, clock_meter):
    code, answer, records = _optimize(
        tmp_path, monkeypatch, capsys, clock_meter, "script_ner.py", "--include", "batch_size"
    )
    assert code == 0
    _assert_judged(answer, records, "entity_f1")
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "entity_f1" and kept.n == 200
        tp, fp, fn = (int(c.sum()) for c in kept.entity_counts())
        assert r["metrics"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
        assert set(r["stages"]) == {"script"}
    # the search ran the baseline and the declared knob's first value at fidelity 0.5
    assert [r["knobs"] for r in records[:2]] == ["", "batch_size=32"]
    assert records[0]["train_steps"] == 75  # half of 3 epochs of 800 sentences / 16


def test_the_arithmetic_example_is_judged_on_exact_match(
    tmp_path, monkeypatch, capsys, clock_meter
):
    code, answer, records = _optimize(
        tmp_path,
        monkeypatch,
        capsys,
        clock_meter,
        "script_arithmetic.py",
        "--include",
        "lr_schedule",
    )
    assert code == 0
    _assert_judged(answer, records, "exact_match")
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "exact_match" and kept.n == 300
        assert kept.values is not None and set(kept.values.tolist()) <= {0.0, 1.0}
        assert r["metrics"]["f1"] == pytest.approx(kept.values.mean())
    assert [r["knobs"] for r in records[:2]] == ["", "lr_schedule=cosine"]
