"""Dead trials: those whose heartbeat went silent, and those killed before their first beat.

Optuna fails a ``RUNNING`` trial whose heartbeat is older than the grace period, but a
process killed between ``study.ask()`` and its heartbeat thread's first beat leaves a trial
with no heartbeat at all, which Optuna never calls stale: a resume would wait hours for it.
The objective's first write is :attr:`TrialAttr.STARTED`; a trial running longer than
:data:`UNBORN_S` without it never reached the objective, so it is failed here and retried
once, as the heartbeat would have done.
"""

from __future__ import annotations

import datetime
import warnings
from typing import TYPE_CHECKING

from greensearch.record import TrialRecord
from greensearch.search._storage import retry_callback

if TYPE_CHECKING:
    from optuna import Study

__all__ = ["UNBORN_S", "fail_dead_trials"]

#: Seconds after which a running trial that never reached the objective counts as dead:
#: far above the milliseconds between ``ask()`` and the objective, and above clock skew
#: between the hosts of one PostgreSQL study.
UNBORN_S = 60.0


def fail_dead_trials(study: Study, *, now: datetime.datetime | None = None) -> list[int]:
    """Fail the stale and the unborn running trials of ``study``; return the unborn ones.

    Each unborn trial failed here gets one retry queued. Another worker failing the same
    trial first is not an error: the trial is skipped.
    """
    import optuna

    with warnings.catch_warnings():  # heartbeats are "experimental"
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    cutoff = (now or datetime.datetime.now()) - datetime.timedelta(seconds=UNBORN_S)
    unborn = [
        t
        for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        if TrialRecord.from_trial(t).started != t.number
        and t.datetime_start is not None
        and t.datetime_start < cutoff
    ]
    failed = []
    for trial in unborn:
        try:
            study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
        except (ValueError, RuntimeError):  # finished meanwhile, by its worker or another
            continue
        retry_callback()(study, trial)  # reads its number, params and attributes only
        failed.append(trial.number)
    return failed
