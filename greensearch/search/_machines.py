"""A study never mixes machines: its baseline's machine is stored, other machines are refused.

Energy is only comparable on one machine: bf16 autocast saved 44 % on a CPU with native
bf16 and cost 9x on an AVX2-only one. A study stores the fingerprint of the machine that
measured its baseline (:data:`BASELINE_MACHINE_ATTR`) and every measured trial stores its
own (:data:`TRIAL_MACHINE_ATTR`); a process on another machine is refused before it
measures, and a trial that was measured elsewhere anyway (a worker that joined before the
baseline was stored) is refused before its figures are stored.
"""

from __future__ import annotations

import logging
from typing import Any

from greensearch.exceptions import MixedMachinesError
from greensearch.machine import Machine
from greensearch.schema import StudyAttr, TrialAttr

__all__ = [
    "BASELINE_MACHINE_ATTR",
    "TRIAL_MACHINE_ATTR",
    "MIXED_MACHINES_ATTR",
    "check_machine",
    "machine_study_name",
    "record_machine_study",
    "refusal",
    "remember_baseline_machine",
]

logger = logging.getLogger(__name__)

#: Study user attribute: the machine that measured the baseline (``Machine.to_dict()``
#: with ``summary``); its ``fingerprint`` is what other machines are compared with.
BASELINE_MACHINE_ATTR = StudyAttr.BASELINE_MACHINE

#: Measurement key of a trial: the fingerprint of the machine that measured it.
TRIAL_MACHINE_ATTR = TrialAttr.MACHINE

#: Study user attribute: ``True`` once a user opted in to several machines
#: (``--allow-mixed-machines``); each machine then works in its own study
#: ``<name>@<fingerprint>``, named in the attribute ``machine_study:<fingerprint>``.
MIXED_MACHINES_ATTR = StudyAttr.MIXED_MACHINES


def refusal(study_name: str, stored: dict[str, Any], fingerprint: str, summary: str) -> str:
    """The one-line refusal: both machines, and the fix (a new study name)."""
    return (
        f"study '{study_name}' measured its baseline on machine {stored.get('fingerprint')} "
        f"({stored.get('summary', '?')}) and this is machine {fingerprint} ({summary}): energy "
        f"from two machines cannot share one baseline; start a new study on this machine "
        f"(--study-name {study_name}-{fingerprint[:6]}) or add --allow-mixed-machines to "
        f"give it its own baseline in {study_name}@{fingerprint}"
    )


def check_machine(ostudy: Any, here: Machine | None) -> None:
    """Refuse to add trials from ``here`` to a study whose baseline ran on another machine.

    Raises:
        MixedMachinesError: the fingerprints differ.
    """
    stored = ostudy.user_attrs.get(BASELINE_MACHINE_ATTR)
    if stored is None and here is not None and ostudy.get_trials(deepcopy=False):
        logger.warning(
            "study '%s' has trials but no recorded baseline machine (made before greensearch "
            "recorded machines): trials from another machine cannot be told apart; this is "
            "machine %s (%s)",
            ostudy.study_name,
            here.fingerprint,
            here.summary(),
        )
    if here is None or stored is None:
        return
    if stored.get("fingerprint") != here.fingerprint:
        raise MixedMachinesError(
            refusal(ostudy.study_name, stored, here.fingerprint, here.summary())
        )
    changed = [
        f"{key} {stored.get(key)} -> {now}"
        for key, now in (
            ("torch", here.torch),
            ("transformers", here.transformers),
            ("cpu_capability", here.cpu_capability),
        )
        if stored.get(key) != now
    ]
    if changed:
        logger.warning(
            "study '%s': same machine, other software since its baseline (%s): energy may "
            "shift; a new study name measures a fresh baseline",
            ostudy.study_name,
            ", ".join(changed),
        )


def remember_baseline_machine(ostudy: Any, machine: dict[str, Any] | None) -> None:
    """Store the baseline's machine (a record's ``machine``) unless one is stored already."""
    if not machine or not machine.get("fingerprint"):
        return
    if ostudy.user_attrs.get(BASELINE_MACHINE_ATTR) is None:
        ostudy.set_user_attr(BASELINE_MACHINE_ATTR, dict(machine))


def machine_study_name(ostudy: Any, here: Machine) -> str:
    """The study ``here`` works in once several machines are allowed: its own.

    The study itself where its baseline ran on ``here`` (or ``here``'s own study was
    named); else ``<name>@<fingerprint>``, so each machine has its own baseline and every
    delta is taken within one machine. Every machine's kWh stay in its own study: they
    are not comparable across machines, only each study's ΔEnergy is.
    """
    stored = ostudy.user_attrs.get(BASELINE_MACHINE_ATTR) or {}
    suffix = f"@{here.fingerprint}"
    if stored.get("fingerprint") == here.fingerprint or ostudy.study_name.endswith(suffix):
        return str(ostudy.study_name)
    return f"{ostudy.study_name}{suffix}"


def record_machine_study(ostudy: Any, here: Machine, name: str) -> None:
    """Record the opt-in and this machine's study with the study the user named."""
    ostudy.set_user_attr(MIXED_MACHINES_ATTR, True)
    key = f"{StudyAttr.MACHINE_STUDY}:{here.fingerprint}"
    if ostudy.user_attrs.get(key, {}).get("study") != name:
        ostudy.set_user_attr(key, {"study": name, "summary": here.summary()})
