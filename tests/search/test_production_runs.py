"""--production-runs: the search stops when a further trial would not pay for itself."""

from __future__ import annotations

import optuna
import pytest

from greensearch.config import StudyConfig
from greensearch.search._replay import ReplayRunner
from tests.search.landscape import landscape, make_registry, true_oracle
from tests.search.run_search import run_search

STUDY = StudyConfig(name="replay", source="<replay>")


def _search(production_runs: int | None):
    return run_search(
        STUDY,
        budget_f1="-1%",
        n_trials=16,
        storage=optuna.storages.InMemoryStorage(),
        study_name="t",
        fidelity=0.5,
        repeats=1,
        baseline_repeats=3,
        meter=None,
        idle_seconds=0,
        registry=make_registry(),
        run_fn=ReplayRunner(landscape(), noise_rel=0.01, seed=1),
        seed=0,
        production_runs=production_runs,
    )


def test_the_search_stops_when_a_further_trial_would_not_pay_for_itself() -> None:
    unbounded, one, many = _search(None), _search(1), _search(100_000)
    assert unbounded.n_trials == 16  # the trial budget alone: baseline, 5 singles, 10 more
    # over one production run the best pair's expected gain on prune alone (0.65 - 0.50
    # of a baseline run) does not cover its short run (fidelity 0.5 x 0.35): the search
    # ends after the seeds, and the oracle is the best single
    assert one.n_trials == 6 and one.n_guided == 0
    assert one.oracle is not None and one.oracle.knobs == "prune=2"
    # over many runs it grows the pair, then the true oracle, and stops there: with runs
    # 1 % noisy no other bundle can beat 0.28 of the baseline
    assert many.oracle is not None and many.oracle.knobs == true_oracle(1.0)
    assert many.n_guided == 2 and many.n_trials < unbounded.n_trials


def test_the_total_energy_is_weighed_against_the_baseline_runs() -> None:
    result = _search(3)
    base, oracle = result.baseline, result.oracle
    assert base is not None and oracle is not None
    assert result.production_runs == 3
    assert result.total_energy_kwh == pytest.approx(
        result.search_energy_kwh + 3 * oracle.row["energy_kwh"]
    )
    assert result.production_baseline_kwh == pytest.approx(3 * base.row["energy_kwh"])
    assert _search(None).total_energy_kwh is None
