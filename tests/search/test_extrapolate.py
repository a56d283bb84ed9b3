"""Extrapolating a short run to the full run: per step when steps were timed."""

from __future__ import annotations

import pytest

from greensearch.search._extrapolate import extrapolate, extrapolate_runs, window_scales


def _run(
    *,
    fidelity: float,
    steps: int,
    planned: int,
    train_s: float,
    train_kwh: float,
    clock: dict | None,
) -> dict:
    return {
        "fidelity": fidelity,
        "train_steps": steps,
        "planned_steps": planned,
        "step_clock": clock,
        "stages": {
            "data": {"energy_kwh": 1e-4, "duration_s": 2.0},
            "train": {"energy_kwh": train_kwh, "duration_s": train_s},
            "eval": {"energy_kwh": 2e-4, "duration_s": 4.0},
        },
    }


def test_one_off_costs_in_the_window_are_counted_once() -> None:
    # 10 of 100 steps: 3 s set-up, first step 5 s, later steps 1 s each -> window 17 s
    clock = {"n": 10, "total_s": 14.0, "first_s": 5.0, "steady_s": 1.0}
    run = _run(fidelity=0.1, steps=10, planned=100, train_s=17.0, train_kwh=1.7e-3, clock=clock)
    energy, seconds = extrapolate({"runs": [run]})
    full_train = 3.0 + 5.0 + 99 * 1.0  # 107 s, not 17 x 10 = 170 s
    assert seconds == pytest.approx(2.0 + full_train + 4.0)
    # energy at the window's average power (0.1 Wh/s here)
    assert energy == pytest.approx(1e-4 + 1.7e-3 * full_train / 17.0 + 2e-4)
    # the linear rule on request, as the benchmarks compare it (whole window x 10)
    assert extrapolate({"runs": [run]}, per_step=False)[1] == pytest.approx(176.0)


def test_without_step_times_the_window_scales_linearly() -> None:
    run = _run(fidelity=0.1, steps=10, planned=100, train_s=17.0, train_kwh=1.7e-3, clock=None)
    _, seconds = extrapolate({"runs": [run]})
    assert seconds == pytest.approx(2.0 + 170.0 + 4.0)


def test_a_clock_that_missed_steps_is_not_trusted() -> None:
    clock = {"n": 9, "total_s": 14.0, "first_s": 5.0, "steady_s": 1.0}
    run = _run(fidelity=0.1, steps=10, planned=100, train_s=17.0, train_kwh=1.7e-3, clock=clock)
    assert extrapolate({"runs": [run]})[1] == pytest.approx(176.0)


def test_full_runs_are_not_scaled() -> None:
    clock = {"n": 100, "total_s": 104.0, "first_s": 5.0, "steady_s": 1.0}
    run = _run(fidelity=1.0, steps=100, planned=100, train_s=107.0, train_kwh=1e-2, clock=clock)
    assert extrapolate({"runs": [run]}) == (pytest.approx(1.03e-2), pytest.approx(113.0))


def test_stage_scales_add_up_to_the_mean_extrapolated_total() -> None:
    runs = [
        _run(
            fidelity=0.1,
            steps=10,
            planned=100,
            train_s=s,
            train_kwh=s * 1e-4,
            clock={"n": 10, "total_s": s - 3.0, "first_s": first, "steady_s": rest},
        )
        for s, first, rest in ((17.0, 5.0, 1.0), (20.0, 8.0, 1.0 + 1 / 9))
    ]
    energies, times = extrapolate_runs({"runs": runs})
    scales = window_scales({"runs": runs})["train"]
    mean_train_kwh = sum(r["stages"]["train"]["energy_kwh"] for r in runs) / 2
    mean_train_s = sum(r["stages"]["train"]["duration_s"] for r in runs) / 2
    assert 1e-4 + mean_train_kwh * scales["energy_kwh"] + 2e-4 == pytest.approx(sum(energies) / 2)
    assert 2.0 + mean_train_s * scales["duration_s"] + 4.0 == pytest.approx(sum(times) / 2)


def test_a_share_of_the_test_split_predicted_scales_the_eval_window_back() -> None:
    """A short run that predicted 500 of 2,000 test examples costs 4x that at full size;
    other windows keep their measured cost, and a run of the whole split is not scaled."""
    short = _run(fidelity=0.1, steps=10, planned=100, train_s=10.0, train_kwh=1e-3, clock=None)
    short.update(eval_examples=500, test_examples=2000)
    energy, seconds = extrapolate({"runs": [short]})
    assert seconds == pytest.approx(2.0 + 100.0 + 4.0 * 4)
    assert energy == pytest.approx(1e-4 + 1e-2 + 2e-4 * 4)
    assert window_scales({"runs": [short]})["eval"] == {"energy_kwh": 4.0, "duration_s": 4.0}
    whole = dict(short, eval_examples=2000)
    assert extrapolate({"runs": [whole]})[1] == pytest.approx(2.0 + 100.0 + 4.0)
    before = {k: v for k, v in short.items() if k not in ("eval_examples", "test_examples")}
    assert extrapolate({"runs": [before]})[1] == pytest.approx(2.0 + 100.0 + 4.0)


def test_a_short_eval_with_timed_batches_keeps_its_one_off_work_once() -> None:
    """500 of 2,000 examples in 8 batches of 64: a 1.5 s first batch (a reload, warm-up),
    0.25 s per later batch, 0.5 s outside the batches. The full split is the first batch
    and 30.25 steady batches' worth of examples after it, not 4 x the whole window."""
    clock = {"n": 8, "total_s": 3.25, "first_s": 1.5, "steady_s": 0.25, "batch_size": 64}
    short = _run(fidelity=0.1, steps=10, planned=100, train_s=10.0, train_kwh=1e-3, clock=None)
    short.update(eval_examples=500, test_examples=2000, eval_clock=clock)
    short["stages"]["eval"] = {"energy_kwh": 3.75e-4, "duration_s": 3.75}
    full_eval = 0.5 + 1.5 + (2000 - 64) / 64 * 0.25
    energy, seconds = extrapolate({"runs": [short]})
    assert seconds == pytest.approx(2.0 + 100.0 + full_eval)
    assert energy == pytest.approx(1e-4 + 1e-2 + 3.75e-4 * full_eval / 3.75)
    assert extrapolate({"runs": [short]}, per_step=False)[1] == pytest.approx(102.0 + 15.0)
    # a clock that missed batches (7 of 8) is not trusted: the linear rule
    missed = dict(short, eval_clock={**clock, "n": 7})
    assert extrapolate({"runs": [missed]})[1] == pytest.approx(102.0 + 15.0)


def test_a_short_eval_of_one_batch_has_no_steady_batch_and_scales_linearly() -> None:
    clock = {"n": 1, "total_s": 3.0, "first_s": 3.0, "steady_s": 3.0, "batch_size": 64}
    short = _run(fidelity=0.1, steps=10, planned=100, train_s=10.0, train_kwh=1e-3, clock=None)
    short.update(eval_examples=50, test_examples=200, eval_clock=clock)
    assert extrapolate({"runs": [short]})[1] == pytest.approx(102.0 + 4.0 * 4)


def _script_run(*, fidelity: float, steps: int, loop_s: float | None) -> dict:
    """A user's script: the whole process one window of 20 s and 2e-3 kWh."""
    return {
        "fidelity": fidelity,
        "train_steps": steps,
        "planned_steps": 100,
        "script_train_s": loop_s,
        "stages": {"script": {"energy_kwh": 2e-3, "duration_s": 20.0}},
    }


def test_a_scripts_training_loop_is_scaled_and_the_rest_of_its_process_kept_once() -> None:
    # 25 of 100 steps in a 12 s loop; 8 s of imports, loading and predicting
    run = _script_run(fidelity=0.25, steps=25, loop_s=12.0)
    energy, seconds = extrapolate({"runs": [run]})
    assert seconds == pytest.approx(8.0 + 12.0 * 4)
    assert energy == pytest.approx(2e-3 * 56.0 / 20.0)  # the window's average power
    assert window_scales({"runs": [run]})["script"]["duration_s"] == pytest.approx(56.0 / 20.0)


def test_a_script_that_did_not_time_its_loop_is_taken_as_measured() -> None:
    for run in (
        _script_run(fidelity=0.25, steps=25, loop_s=None),
        _script_run(fidelity=1.0, steps=100, loop_s=12.0),
    ):
        assert extrapolate({"runs": [run]}) == (pytest.approx(2e-3), pytest.approx(20.0))
