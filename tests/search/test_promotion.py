"""When no finalist is confirmed, the next bundle is promoted if the production runs repay it.

The replayed landscape hides a three-way interaction: ``compile,prune=2,trim`` keeps its F1
in short runs but loses a third of it in full runs. The finals pick it (the cheapest
bundle feasible in the search) and reject it; the true oracle is ``prune=2,trim``, the
next cheapest. Only a promotion finds it.
"""

from __future__ import annotations

import optuna
import pytest

from greensearch.record import TrialRecord
from greensearch.search import Point
from greensearch.search._promotion import (
    MAX_PROMOTIONS,
    Candidate,
    phase_confidence,
    pick_promotion,
)
from greensearch.search._replay import ReplayRunner
from greensearch.search._rounds import stored_invocations
from greensearch.search._sequential import look_confidence
from tests.search.landscape import landscape
from tests.search.run_search import grid_search
from tests.search.test_sequential import SimNoise

HIDDEN = "compile,prune=2,trim"
TRUE_ORACLE = "prune=2,trim"


class _LosesInFullRuns(SimNoise):
    """Kept predictions as :class:`SimNoise` draws them; ``HIDDEN`` loses F1 at fidelity 1."""

    def __init__(self) -> None:
        super().__init__({}, n=2000, seed_sd=0.005)

    def run(self, key: str, point: Point, *, fidelity: float, seed: int, clock_s: float):
        self.shifts = {HIDDEN: -0.3} if fidelity >= 1.0 else {}
        return super().run(key, point, fidelity=fidelity, seed=seed, clock_s=clock_s)


def _search(**kw):
    replay = ReplayRunner(landscape(), noise=_LosesInFullRuns())
    storage = optuna.storages.InMemoryStorage()
    result = grid_search(replay, budget_f1="-10%", near_misses=0, storage=storage, **kw)
    return result, optuna.load_study(study_name="r", storage=storage), replay


def test_no_confirmed_finalist_promotes_the_next_bundle_and_finds_the_true_oracle():
    result, study, replay = _search(production_runs=100)
    assert result.oracle is not None and result.oracle.knobs == TRUE_ORACLE
    by_knobs = {f.knobs: f for f in result.finalists}
    assert by_knobs[HIDDEN].row["f1_verdict"] == "infeasible" and not by_knobs[HIDDEN].promoted
    assert by_knobs[TRUE_ORACLE].promoted and by_knobs[TRUE_ORACLE].to_dict()["promoted"]
    # its own final phase, with the baseline measured again beside it (3 rounds each)
    phases = [(i.generation, i.keys) for i in stored_invocations(study)]
    assert phases == [(0, ("", HIDDEN)), (1, ("", TRUE_ORACLE))]
    full_baseline = [k for k, fidelity, _ in replay.calls if k == "" and fidelity == 1.0]
    assert len(full_baseline) == 2 * 3
    # the first phase confirmed at half the error rate, the promotion at its share
    looks = {
        r.knobs: r.look
        for r in (TrialRecord.from_trial(t) for t in study.trials)
        if r.is_final and r.knobs
    }
    for knobs, phase in ((HIDDEN, 1 - 0.05 / 2), (TRUE_ORACLE, 1 - 0.05 / (2 * MAX_PROMOTIONS))):
        look = looks[knobs]
        assert look is not None
        assert look["confidence"] == pytest.approx(look_confidence(phase, 3, 6, look["rounds"]))


@pytest.mark.parametrize("production_runs", [None, 3])
def test_without_runs_that_repay_it_nothing_is_promoted(production_runs):
    result, study, _ = _search(production_runs=production_runs)
    assert result.oracle is None
    assert [i.generation for i in stored_invocations(study)] == [0]
    assert {f.knobs for f in result.finalists if f.knobs} == {HIDDEN}


def test_a_promotion_pays_when_its_expected_saving_covers_its_rounds():
    c = Candidate("a", energy_ratio=0.35, chance=1.0)  # saves 0.65 of a run, rounds cost 4.05
    assert not c.pays(production_runs=6, repeats=3) and c.pays(production_runs=7, repeats=3)
    assert pick_promotion([c], production_runs=None, repeats=3) is None
    weak = Candidate("b", energy_ratio=0.2, chance=0.1)  # 0.08 a run
    assert pick_promotion([weak, c], production_runs=100, repeats=3) == c


def test_the_phases_error_rates_add_up_to_the_studys():
    first = 1 - phase_confidence(0.95, promotions_possible=True, promoted=False)
    later = 1 - phase_confidence(0.95, promotions_possible=True, promoted=True)
    assert first + MAX_PROMOTIONS * later == pytest.approx(0.05)
    assert phase_confidence(0.95, promotions_possible=False, promoted=False) == 0.95
    assert phase_confidence(0.5, promotions_possible=True, promoted=True) == 0.5
