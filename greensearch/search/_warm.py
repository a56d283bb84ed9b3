"""``--warm-start STUDY``: begin a search from an earlier study's measurements.

Why: the seeds (baseline and every knob alone) are most of a search's cost, and an
earlier study of the same task on a machine with the same fingerprint has measured them
already. Its completed search trials at the same fidelity are copied into the new study
before anything runs (Optuna's ``add_trials``), so the seeding skips what they cover and
the guide and the sampler start from their evidence. Energy is only comparable on one
machine and F1 only on one task, so anything else is refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from greensearch.exceptions import ConfigError
from greensearch.machine import Machine
from greensearch.record import TrialRecord
from greensearch.schema import StudyAttr

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from optuna.study import Study

__all__ = ["warm_start"]


def warm_start(
    ostudy: Study,
    earlier_name: str,
    storage: BaseStorage | str,
    *,
    fidelity: float,
    here: Machine | None,
) -> int:
    """Copy the earlier study's completed search trials into a study that has none yet.

    Args:
        ostudy: the new study (already holding the task's settings).
        earlier_name: the earlier study's name.
        storage: where the earlier study is stored (a storage object or URL).
        fidelity: the search fidelity; trials at another are left behind.
        here: the machine this search runs on (``None``: a replay, no machine to compare).

    Returns:
        How many trials were copied (0 when the new study already has trials: a resume).

    Raises:
        ConfigError: no such study, another task, a machine with another fingerprint, or
            short runs scored on other test examples (an older version's).
    """
    import optuna

    if ostudy.get_trials(deepcopy=False):
        return 0
    if isinstance(storage, str) and storage.startswith("sqlite:///"):
        from pathlib import Path

        if not Path(storage.removeprefix("sqlite:///")).is_file():
            raise ConfigError(f"--warm-start: no study file {storage}; name an earlier study")
    try:
        earlier_study = optuna.load_study(study_name=earlier_name, storage=storage)
    except KeyError as err:
        raise ConfigError(
            f"--warm-start: no study '{earlier_name}' in {storage}; name a study of this "
            "storage (greensearch optimize --storage URL)"
        ) from err
    theirs = earlier_study.user_attrs
    if theirs.get(StudyAttr.STUDY_SETTINGS) != ostudy.user_attrs.get(StudyAttr.STUDY_SETTINGS):
        raise ConfigError(
            f"--warm-start: study '{earlier_name}' measured another task "
            f"({theirs.get(StudyAttr.STUDY, '?')}); warm-start only from the same task"
        )
    rule = ostudy.user_attrs.get(StudyAttr.SHORT_RUN_EVAL)
    if fidelity < 1 and theirs.get(StudyAttr.SHORT_RUN_EVAL) != rule:
        raise ConfigError(
            f"--warm-start: study '{earlier_name}' scored its short runs on "
            f"{theirs.get(StudyAttr.SHORT_RUN_EVAL) or 'the whole test split'}, this "
            f"version on {rule}: they cannot be compared; warm-start from a study "
            "measured with this version"
        )
    machine = theirs.get(StudyAttr.BASELINE_MACHINE) or {}
    if here is not None and machine.get("fingerprint") != here.fingerprint:
        raise ConfigError(
            f"--warm-start: study '{earlier_name}' was measured on machine "
            f"{machine.get('fingerprint', 'unknown')}, this is {here.fingerprint}; "
            "energy is only comparable on one machine"
        )
    copied = [
        t
        for t in earlier_study.get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        if (r := TrialRecord.from_trial(t)).fidelity == fidelity and r.in_search
    ]
    ostudy.add_trials(copied)
    if machine:
        ostudy.set_user_attr(StudyAttr.BASELINE_MACHINE, machine)
    ostudy.set_user_attr(StudyAttr.WARM_START, earlier_name)
    return len(copied)
