"""The full-fidelity F1 truth of the measured landscape: classes, checks, and its use."""

from __future__ import annotations

import pytest

from benchmarks import landscape_full_f1 as lf
from benchmarks._common import RESULTS, write_csv
from benchmarks.landscape_measured import replay_landscape

LANDSCAPE = RESULTS / "landscape_measured.csv"


def _rows(f1: dict[str, float], *, checks: dict[str, float] | None = None) -> list[dict]:
    """Three seeds of each class at the F1 given (default 0.8), plus neutrality checks."""
    rows = [
        {
            "knobs": key,
            "seed": seed,
            "f1": f1.get(key, 0.8) + (seed - 43) * 0.01,
            "energy_kwh": 1e-4,
            "duration_s": 10.0,
            "degenerate": 0,
            "meter": "m",
            "method": "estimated",
        }
        for seed in lf.SEEDS
        for key in lf.classes()
    ]
    for key, value in (checks or {}).items():
        rows.append({**rows[0], "knobs": key, "f1": value})
    return rows


def test_every_landscape_combination_falls_in_one_of_the_16_classes():
    keys = lf.classes()
    assert len(keys) == len(set(keys)) == 16 and keys[0] == ""
    points = replay_landscape(LANDSCAPE)["points"]
    seen = {lf.class_of(k) for k in points}
    assert seen == set(keys)
    assert lf.class_of("attention=sdpa,fast_tokenizer,layer_prune=2:top,seq_len=96") == (
        "layer_prune=2:top,seq_len=96"
    )


def test_plan_runs_every_class_once_per_seed_in_rounds_then_the_checks():
    runs = lf.plan(lf.SEEDS, 0, lf.classes())
    assert len(runs) == 16 * 3 + len(lf.NEUTRAL_CHECKS)
    for i, seed in enumerate(lf.SEEDS):
        assert {s for _, s in runs[16 * i : 16 * (i + 1)]} == {seed}
        assert sorted(k for k, _ in runs[16 * i : 16 * (i + 1)]) == sorted(lf.classes())
    assert runs[16:32] != [(k, 43) for k, _ in runs[:16]]  # each round in its own order


def test_truth_is_the_class_mean_and_waits_for_every_seed(tmp_path):
    path = tmp_path / "full.csv"
    rows = _rows({"seq_len=96": 0.9})
    write_csv(path, rows[:-1], {"machine": "m"})
    assert lf.full_f1_truth(path) is None  # one class lacks its last seed
    write_csv(path, rows, {"machine": "m", "date_utc": "d"})
    truth, label = lf.full_f1_truth(path)
    assert truth["seq_len=96"] == (pytest.approx(0.9), False)
    assert truth[""] == (pytest.approx(0.8), False)
    assert "seeds 42-44" in label and "full.csv" in label


def test_a_neutral_knob_that_moves_f1_refuses_the_truth(tmp_path):
    path = tmp_path / "full.csv"
    base42 = 0.8 - 0.01
    write_csv(path, _rows({}, checks={lf.NEUTRAL_CHECKS[0]: base42}), {})
    assert lf.full_f1_truth(path) is not None
    assert lf.neutral_check(_rows({}, checks={lf.NEUTRAL_CHECKS[0]: base42}))[-1].endswith("same")
    write_csv(path, _rows({}, checks={lf.NEUTRAL_CHECKS[0]: base42 + 0.002}), {})
    with pytest.raises(SystemExit, match="neutral knob changed F1"):
        lf.full_f1_truth(path)


def test_the_reliability_truth_takes_each_class_s_full_f1_and_keeps_the_energy(tmp_path):
    from benchmarks.search_reliability import load_truth

    path = tmp_path / "full.csv"
    write_csv(path, _rows({"layer_prune=2:top,seq_len=96": 0.84}), {"machine": "m"})
    short = load_truth(LANDSCAPE)
    full = load_truth(LANDSCAPE, path)
    stack = "attention=sdpa,fast_tokenizer,layer_prune=2:top,seq_len=96"
    assert full.points[stack].energy_kwh == short.points[stack].energy_kwh
    assert full.points[stack].f1 == pytest.approx(0.84)
    assert full.points["layer_prune=2:top,seq_len=96"].f1 == pytest.approx(0.84)
    assert full.loss(full.points[stack]) == pytest.approx(-5.0)  # 0.84 against 0.80
    assert full.opt_key is not None and "F1 at full fidelity" in full.label
