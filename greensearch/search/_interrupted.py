"""A trial stopped by Ctrl-C is retried at the next start, as a killed one is.

Optuna stores an interrupted trial as failed; counted as done, it would use up one of
``--n-trials`` and its knob set would never be measured. The retry is queued the way
Optuna's heartbeat callback queues a dead trial's (``failed_trial`` names the original),
so every count that leaves retried trials out leaves this one out too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greensearch.record import TrialRecord, retry_attrs
from greensearch.search._storage import retried_trial_numbers

if TYPE_CHECKING:
    from optuna.study import Study

__all__ = ["retry_interrupted"]


def retry_interrupted(ostudy: Study) -> int:
    """Queue one retry of each interrupted trial not retried yet; return how many."""
    import optuna

    trials = ostudy.get_trials(deepcopy=False)
    retried = retried_trial_numbers(trials)
    queued = 0
    for t in trials:
        if (
            t.state != optuna.trial.TrialState.FAIL
            or not TrialRecord.from_trial(t).interrupted
            or t.number in retried
        ):
            continue
        history = [*t.system_attrs.get("retry_history", []), t.number]
        ostudy.add_trial(
            optuna.trial.create_trial(
                state=optuna.trial.TrialState.WAITING,
                params=t.params,
                distributions=t.distributions,
                user_attrs=retry_attrs(t),
                system_attrs={**t.system_attrs, "failed_trial": t.number, "retry_history": history},
            )
        )
        queued += 1
    return queued
