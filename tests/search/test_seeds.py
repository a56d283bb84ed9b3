"""Seeds queued once, however many processes start a fresh study together."""

from __future__ import annotations

import optuna

from greensearch.config import StudyConfig
from greensearch.record import TrialRecord
from greensearch.search._seeds import drop_later_copies, missing_seeds, queue_seeds
from greensearch.search._space import build_space
from tests.search.landscape import make_registry


def _seed_trials(study: optuna.Study) -> list[tuple[int, str, str, str]]:
    return [
        (t.number, t.state.name, t.user_attrs["phase"], t.user_attrs["knobs"])
        for t in study.get_trials()
    ]


def test_two_starters_on_a_fresh_study_leave_each_seed_queued_once():
    # Both found every seed missing before either queued one; A queued two seeds first,
    # then B all six, then A the rest. Each drops its copies that a lower one precedes,
    # except one already popped (it runs, and reuses the first copy's figures).
    storage = optuna.storages.InMemoryStorage()
    a = optuna.create_study(study_name="t", storage=storage, directions=["minimize"] * 2)
    b = optuna.load_study(study_name="t", storage=storage)
    space = build_space(make_registry(), StudyConfig(name="replay", source="<replay>"))
    found_a, found_b = (missing_seeds(s, space, 0.5) for s in (a, b))
    ours = queue_seeds(a, space, 0.5, found_a[:2])
    theirs = queue_seeds(b, space, 0.5, found_b)
    ours += queue_seeds(a, space, 0.5, found_a[2:])
    assert (ours, theirs) == ([0, 1, 8, 9, 10, 11], [2, 3, 4, 5, 6, 7])
    popped = a._storage.get_trial_id_from_study_id_trial_number(a._study_id, 3)
    a._storage.set_trial_state_values(popped, state=optuna.trial.TrialState.RUNNING)

    assert drop_later_copies(b, theirs, 0.5) == [2]
    assert drop_later_copies(a, ours, 0.5) == [8, 9, 10, 11]
    dropped = ("PRUNED", "final_run")
    assert [s[1:] for s in _seed_trials(a)] == [
        ("WAITING", "baseline", ""),
        ("WAITING", "single", "prune=2"),
        (*dropped, ""),
        ("RUNNING", "single", "prune=2"),  # popped before B looked: left to run
        ("WAITING", "single", "trim"),
        ("WAITING", "single", "compile"),
        ("WAITING", "single", "ckpt"),
        ("WAITING", "single", "lossy"),
        (*dropped, "trim"),
        (*dropped, "compile"),
        (*dropped, "ckpt"),
        (*dropped, "lossy"),
    ]
    # Dropped copies are no search trials; the popped copy is one (it ran).
    search = [t for t in a.get_trials() if TrialRecord.from_trial(t).in_search]
    assert [t.number for t in search] == [0, 1, 3, 4, 5, 6, 7]
