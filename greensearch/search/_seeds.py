"""The seeds of a search: the baseline and each knob alone, queued once per study.

Two processes starting together on a fresh study can both find a seed missing and both
queue it; each copy would be reused, but counted against ``--n-trials``. Optuna numbers
trials in the order they are made, so the lowest-numbered copy stands, and the process
that queued a later copy sees the earlier one and drops its own before anyone measures
it. A single process queues exactly as ``study.enqueue_trial`` would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from greensearch.record import TrialRecord, claims, queued_attrs, records
from greensearch.schema import Phase, TrialAttr

if TYPE_CHECKING:
    from optuna.study import Study

    from greensearch.knobs import Bundle
    from greensearch.search._space import SearchSpace

__all__ = ["drop_later_copies", "missing_seeds", "queue_seeds", "seed_study"]

logger = logging.getLogger(__name__)


def seed_study(ostudy: Study, space: SearchSpace, fidelity: float) -> None:
    """Enqueue the baseline and each single knob unless the study already has them.

    Two processes starting together on a fresh study can both find a seed missing and
    both queue it (each copy reused, but counted against ``--n-trials``): the lowest-
    numbered copy stands, and the process that queued a later one drops it at once.
    """
    queued = queue_seeds(ostudy, space, fidelity, missing_seeds(ostudy, space, fidelity))
    dropped = drop_later_copies(ostudy, queued, fidelity)
    if dropped:
        logger.info("another process queued the same seeds: dropped trials %s", dropped)


def missing_seeds(ostudy: Study, space: SearchSpace, fidelity: float) -> list[tuple[str, Bundle]]:
    """The seeds (phase, bundle) that no queued, running or complete trial holds yet."""
    import optuna

    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.RUNNING,
        optuna.trial.TrialState.WAITING,
    )
    have = {
        r.knobs
        for r in records(ostudy.get_trials(deepcopy=False, states=states))
        if r.fidelity == fidelity
    }
    seeds: list[tuple[str, Bundle]] = [(Phase.BASELINE, {})]
    seeds += [(Phase.SINGLE, b) for b in space.singles()]
    return [(phase, bundle) for phase, bundle in seeds if space.key(bundle) not in have]


def queue_seeds(
    ostudy: Study, space: SearchSpace, fidelity: float, seeds: list[tuple[str, Bundle]]
) -> list[int]:
    """Queue ``seeds`` as ``study.enqueue_trial`` does; the numbers of the trials made."""
    import optuna

    numbers = []
    for phase, bundle in seeds:
        attrs = queued_attrs(phase, fidelity, space.key(bundle))
        trial = optuna.trial.create_trial(
            state=optuna.trial.TrialState.WAITING,
            system_attrs={"fixed_params": space.params_of(bundle)},
            user_attrs=attrs,
        )
        trial_id = ostudy._storage.create_new_trial(ostudy._study_id, template_trial=trial)
        numbers.append(ostudy._storage.get_trial_number_from_id(trial_id))
    return numbers


def drop_later_copies(ostudy: Study, numbers: list[int], fidelity: float) -> list[int]:
    """Close each of ``numbers`` that a lower-numbered trial of its knob set precedes.

    A copy is taken off the queue the way Optuna pops a trial (``WAITING`` to
    ``RUNNING``, atomic in the storage), so one already popped by another process is left
    to run (it reuses the first copy's figures); a taken copy is closed as a losing
    claim (:attr:`TrialRecord.is_claim`), which no count of the search includes.
    """
    import optuna

    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.RUNNING,
        optuna.trial.TrialState.WAITING,
    )
    trials = ostudy.get_trials(deepcopy=False, states=states)
    by_number = {t.number: t for t in trials}
    dropped = []
    for number in numbers:
        mine = by_number.get(number)
        key = None if mine is None else TrialRecord.from_trial(mine).knobs
        first = claims(trials, key, fidelity) if mine is not None and key is not None else []
        if mine is None or not first or first[0].number >= number:
            continue  # finished already, or the first copy
        trial_id = mine._trial_id
        try:
            taken = ostudy._storage.set_trial_state_values(
                trial_id, state=optuna.trial.TrialState.RUNNING
            )
        except optuna.exceptions.UpdateFinishedTrialError:
            taken = False
        if not taken:
            continue  # popped by another process already: it runs, and reuses the first
        why = f"duplicate seed: trial {first[0].number} queued {key or 'the baseline'} first"
        for name, value in (
            (TrialAttr.STARTED, number),
            (TrialAttr.PHASE, Phase.FINAL_RUN),
            (TrialAttr.ERROR, why),
        ):
            ostudy._storage.set_trial_user_attr(trial_id, name, value)
        ostudy._storage.set_trial_state_values(trial_id, state=optuna.trial.TrialState.PRUNED)
        dropped.append(number)
    return dropped
