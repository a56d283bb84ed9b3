"""Full-fidelity comparisons in rounds, each run claimed in the study before it is measured.

Why rounds: machine drift (thermal state, background load, an estimate that follows
machine-wide load) moves energy over minutes. Round ``r`` runs every variant once with
seed ``study.seed + r``, so drift hits all of them alike, and ΔEnergy and ΔF1 pair the
runs of one round. Within a round the order alternates (baseline first in round 1, last
in round 2, ...: :func:`greensearch.stats.round_order`), so a linear drift cancels.

Why invocations: a pair is (invocation, round). Every final phase that measures a new
finalist measures its own baseline rounds, since a baseline measured hours earlier (on a
VM whose speed moved 1.7x in a day) is no pair for it. An invocation is a generation
number and its keys, stored in the study (:attr:`StudyAttr.FINAL_INVOCATIONS`); a resume
whose finalists are all among the latest invocation's keys continues that invocation at
its next run, so a final phase killed halfway does not start over.

Why claims: two processes on one study must not both measure one run (they would compete
for the CPU and slow both measurements). Optuna's storage has no compare-and-set on
attributes, but creating a trial is atomic and numbers trials in order. Each run is
claimed by creating a :attr:`Phase.FINAL_RUN` trial that carries the run's identity from
its creation; the lowest-numbered live claim wins, a losing claim is closed at once, and
the loser waits for the winner's record. The winner stores the record in its claim and
closes it as ``PRUNED`` (a state samplers ignore; the claim has no parameters). A claim
whose process died on this host is closed as abandoned and the run is claimed again.
A claim that is closed once its work is done serves as a lock (:func:`holding`): the
final trials of an invocation are recorded by one process at a time, and a process
reads its answer only after it held the lock itself, so every process's answer comes
from the same finished trials.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import socket
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from greensearch.exceptions import MeasurementError
from greensearch.knobs import Bundle, parse_bundle
from greensearch.record import TrialRecord, claim_attrs, store_on
from greensearch.schema import StudyAttr, TrialAttr
from greensearch.search._space import SearchSpace
from greensearch.stats import round_order

if TYPE_CHECKING:
    from optuna import Study
    from optuna.trial import FrozenTrial

__all__ = [
    "Invocation",
    "Look",
    "Measured",
    "RoundRun",
    "RoundsOutcome",
    "fail_dead_claims",
    "holding",
    "is_claim",
    "paired_baseline",
    "plan_invocation",
    "run_rounds",
    "stored_invocations",
]

logger = logging.getLogger(__name__)

#: Why a claim was closed without a record.
_DUPLICATE = "duplicate claim: another process holds this run"
_ABANDONED = "abandoned: the process that claimed this run died"
_UNFINISHED = "released unfinished: its holder stopped on an error"


@dataclass(frozen=True, slots=True)
class Invocation:
    """One final phase: a generation number and the keys it measures in rounds.

    Attributes:
        generation: 0 for the first final phase of a study, then 1, 2, ...
        keys: Canonical knob texts, the baseline (``""``) first.
        confidence: The phase's share of the study's confidence, stored when its rounds
            start so a resume continues at the same level whichever phase resumes it
            (``None``: not started, or stored before phases had shares).
    """

    generation: int
    keys: tuple[str, ...]
    confidence: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The stored form."""
        out: dict[str, Any] = {"generation": self.generation, "keys": list(self.keys)}
        if self.confidence is not None:
            out["confidence"] = self.confidence
        return out


@dataclass(frozen=True, slots=True)
class RoundRun:
    """The identity of one final run: invocation, round (0-based) and knobs."""

    generation: int
    round: int
    key: str

    def __str__(self) -> str:
        return f"{self.generation}:{self.round}:{self.key}"


def stored_invocations(ostudy: Study) -> list[Invocation]:
    """The final phases recorded in the study, oldest first."""
    raw = ostudy.user_attrs.get(StudyAttr.FINAL_INVOCATIONS) or []
    return [Invocation(int(d["generation"]), tuple(d["keys"]), d.get("confidence")) for d in raw]


def plan_invocation(
    invocations: Sequence[Invocation], wanted: Sequence[str], done: Mapping[str, set[int]]
) -> Invocation | None:
    """The invocation the final phase runs now, or ``None`` when nothing is left to measure.

    Args:
        invocations: The stored invocations, oldest first.
        wanted: The keys the finals should hold (the baseline ``""`` among them or not).
        done: Per key, the generations in which its final trial is complete.

    A resume continues the latest invocation while it is unfinished or holds every
    finalist still missing; a finalist that no invocation finished starts a new one, with
    the baseline measured again in its rounds.
    """
    needed = [k for k in dict.fromkeys(wanted) if k and not done.get(k)]
    latest = invocations[-1] if invocations else None
    if latest is not None:
        unfinished = any(latest.generation not in done.get(k, set()) for k in latest.keys)
        if set(needed) <= set(latest.keys) and (needed or unfinished):
            return latest
    if not needed:
        return None
    generation = latest.generation + 1 if latest is not None else 0
    return Invocation(generation, ("", *needed))


def _record_invocation(ostudy: Study, invocation: Invocation) -> None:
    known = stored_invocations(ostudy)
    if any(i.generation == invocation.generation for i in known):
        return
    stored = [i.to_dict() for i in known] + [invocation.to_dict()]
    ostudy.set_user_attr(StudyAttr.FINAL_INVOCATIONS, stored)


def stored_level(ostudy: Study, invocation: Invocation) -> float:
    """The confidence ``invocation``'s rounds run at: the one stored with it when they
    started (a resume keeps it), else its own."""
    for known in stored_invocations(ostudy):
        if known.generation == invocation.generation and known.confidence is not None:
            return known.confidence
    assert invocation.confidence is not None
    return invocation.confidence


def is_claim(trial: FrozenTrial) -> bool:
    """Whether ``trial`` is a claim on a final run, not a trial of the search."""
    return TrialRecord.from_trial(trial).is_claim


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead_here(worker: str | None) -> bool:
    """Whether ``worker`` (``host:pid``) is a process of this host that no longer runs."""
    host, _, pid = (worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fail_dead_claims(ostudy: Study) -> list[int]:
    """Close the running claims whose process on this host died; their numbers."""
    import optuna

    closed = []
    for t in ostudy.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        record = TrialRecord.from_trial(t)
        if record.is_claim and _dead_here(record.worker):
            try:
                _close(ostudy, t.number, _ABANDONED)
            except (ValueError, RuntimeError):  # closed meanwhile by another process
                continue
            closed.append(t.number)
    return closed


def _close(ostudy: Study, number: int, why: str | None = None) -> None:
    """Finish a claim as ``PRUNED``, through the storage: a claim is no sampler's trial."""
    import optuna

    if why is not None:
        store_on(ostudy, number, TrialAttr.ERROR, why)
    ostudy._storage.set_trial_state_values(
        _trial_id(ostudy, number), state=optuna.trial.TrialState.PRUNED
    )


def _trial_id(ostudy: Study, number: int) -> int:
    return ostudy._storage.get_trial_id_from_study_id_trial_number(ostudy._study_id, number)


def _claims(ostudy: Study, run: str) -> list[FrozenTrial]:
    """Live and finished claims on ``run`` (closed duplicates and abandoned ones left out)."""
    import optuna

    states = (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.PRUNED)
    return sorted(
        (
            t
            for t in ostudy.get_trials(deepcopy=False, states=states)
            if (r := TrialRecord.from_trial(t)).is_claim and r.final_run == run and r.error is None
        ),
        key=lambda t: t.number,
    )


def _new_claim(ostudy: Study, run: str) -> int:
    """Create a running claim trial that names ``run`` from its creation; its number."""
    import optuna

    template = optuna.trial.FrozenTrial(
        number=-1,
        state=optuna.trial.TrialState.RUNNING,
        value=None,
        datetime_start=None,
        datetime_complete=None,
        params={},
        distributions={},
        user_attrs=claim_attrs(run, _worker()),
        system_attrs={},
        intermediate_values={},
        trial_id=-1,
    )
    trial_id = ostudy._storage.create_new_trial(ostudy._study_id, template_trial=template)
    number = ostudy._storage.get_trial_number_from_id(trial_id)
    # Not an unborn trial of the search (see search._liveness): it reached its owner.
    store_on(ostudy, number, TrialAttr.STARTED, number)
    return number


def _claimed_record(
    ostudy: Study, run: str, poll_s: float, wait_s: float
) -> tuple[int | None, dict[str, Any] | None]:
    """Claim ``run``: ``(claim number, None)`` when this process must measure it, or
    ``(None, record)`` when another process measured it (waiting while it runs)."""
    import optuna

    deadline = time.monotonic() + wait_s
    mine: int | None = None
    while True:
        claims = _claims(ostudy, run)
        finished = [t for t in claims if t.state == optuna.trial.TrialState.PRUNED]
        if finished:
            if mine is not None:
                _close(ostudy, mine, _DUPLICATE)
            return None, dict(TrialRecord.from_trial(finished[0]).final_record or {})
        if mine is None and not claims:
            mine = _new_claim(ostudy, run)
            continue
        if claims and mine is not None and claims[0].number == mine:
            return mine, None
        if mine is not None:  # a lower-numbered claim won the race
            _close(ostudy, mine, _DUPLICATE)
            mine = None
        if time.monotonic() > deadline:
            raise MeasurementError(
                f"gave up waiting for final run {run} (claim trial {claims[0].number}); "
                "rerun `greensearch optimize` once that process has ended"
            )
        fail_dead_claims(ostudy)
        time.sleep(poll_s)


@dataclass(frozen=True, slots=True)
class Look:
    """The look at which a finalist got its last round (see :mod:`._sequential`).

    Attributes:
        rounds: Its rounds.
        confidence: The look's one-sided confidence, its verdict's.
        confirmed: Confirmed within the budget at that look (Holm over its finalists).
        stopped: Why it got no further round.
    """

    rounds: int
    confidence: float
    confirmed: bool
    stopped: str

    def to_dict(self) -> dict[str, Any]:
        """The stored form (a final trial's ``look`` attribute)."""
        return {
            "rounds": self.rounds,
            "confidence": self.confidence,
            "confirmed": self.confirmed,
            "stopped": self.stopped,
        }


@dataclass(frozen=True, slots=True)
class RoundsOutcome:
    """What :func:`run_rounds` measured: per key, the summary of its rounds and, for
    each finalist, the look that ended them."""

    summaries: Mapping[str, dict[str, Any]]
    looks: Mapping[str, Look]


@contextlib.contextmanager
def holding(ostudy: Study, lock: str, poll_s: float, wait_s: float) -> Iterator[None]:
    """Run the body holding ``lock``: one process at a time, in the order they asked.

    The lock is the lowest-numbered live claim on ``lock``; it is released by closing the
    claim, with the reason when the body or the wait raises (a dead holder's claim on
    this host is closed by :func:`fail_dead_claims`). The body must be safe to run again:
    it finds the work of the holder before it done.

    Raises:
        MeasurementError: another process held the lock longer than ``wait_s``.
    """
    import optuna

    number = _new_claim(ostudy, lock)
    why: str | None = _UNFINISHED
    try:
        deadline = time.monotonic() + wait_s
        while True:
            live = [t for t in _claims(ostudy, lock) if t.state == optuna.trial.TrialState.RUNNING]
            if not live or live[0].number == number:
                break
            if time.monotonic() > deadline:
                raise MeasurementError(
                    f"gave up waiting for the process holding '{lock}' (claim trial "
                    f"{live[0].number}); rerun `greensearch optimize` once that process has ended"
                )
            fail_dead_claims(ostudy)
            time.sleep(poll_s)
        yield
        why = None
    finally:
        _close(ostudy, number, why)


def run_rounds(
    ostudy: Study,
    invocation: Invocation,
    runner: Any,
    progress: Callable[[str, int, int], None] | None = None,
) -> RoundsOutcome:
    """Measure the keys of ``invocation`` in rounds until every finalist is decided.

    Rounds ``1 .. runner.repeats`` measure every key; from then on, up to
    ``runner.max_rounds``, a round measures the baseline and the finalists the last look
    let go on (:func:`greensearch.search._sequential.decide_look`). Each run is claimed
    first (see the module's docstring); a run another process measured is read back, not
    measured again, and every process takes the same decisions from the same records.

    Args:
        ostudy: The Optuna study (stores each run in its claim as it completes).
        invocation: The final phase to run (see :func:`plan_invocation`).
        runner: The search's :class:`~greensearch.search._objective.TrialRunner`.
        progress: Called as ``progress("final", runs done, runs planned)``.
    """
    from greensearch.pipeline import summarize
    from greensearch.search._extrapolate import trial_attrs
    from greensearch.search._sequential import decide_look, last_round, look_confidence

    if invocation.confidence is None:
        invocation = dataclasses.replace(invocation, confidence=runner.confidence)
    _record_invocation(ostudy, invocation)
    level = stored_level(ostudy, invocation)
    fail_dead_claims(ostudy)
    first = runner.repeats
    last = last_round(first, runner.max_rounds, level)
    records: dict[str, list[dict[str, Any]]] = {k: [] for k in invocation.keys}
    looks: dict[str, Look] = {}
    active = [k for k in invocation.keys if k]
    planned = len(invocation.keys) * first
    for r in range(last):
        keys = [k for k in invocation.keys if not k or k in active]
        if r >= first:
            planned += len(keys)
        for key in round_order(keys, r):
            if progress is not None:
                progress("final", sum(map(len, records.values())), planned)
            records[key].append(_round_run(ostudy, invocation, runner, r, key))
        if r + 1 < first:
            continue
        confidence = look_confidence(level, first, last, r + 1)
        attrs = {k: trial_attrs(summarize(records[k])) for k in ("", *active)}
        look = decide_look(
            attrs,
            rounds=r + 1,
            confidence=confidence,
            budget_pct=runner.budget_pct,
            max_rounds=last,
            cap_confidence=look_confidence(level, first, last, last),
        )
        for key, why in look.why_stopped.items():
            if key in look.judged:
                looks[key] = Look(r + 1, confidence, key in look.confirmed, why)
        active = [k for k in active if k in look.go_on]
        if not active:
            break
    if progress is not None:
        done = sum(map(len, records.values()))
        progress("final", done, done)
    return RoundsOutcome({k: summarize(v) for k, v in records.items()}, looks)


def _round_run(
    ostudy: Study, invocation: Invocation, runner: Any, r: int, key: str
) -> dict[str, Any]:
    """Round ``r``'s run of ``key``: claimed and measured here, or read back."""
    from greensearch.pipeline import run_variant

    ident = RoundRun(invocation.generation, r, key)
    number, record = _claimed_record(ostudy, str(ident), runner.poll_s, runner.wait_timeout_s)
    if record is not None:
        return record
    run = runner.run_fn or run_variant
    if runner.run_fn is None:
        runner.warm()
    logger.info("final round %d: %s", r + 1, key or "baseline")
    try:
        summary = run(
            runner.study_cfg,
            parse_bundle(key),
            repeats=1,
            meter=runner.meter,
            fidelity=1.0,
            results_path=runner.results_path,
            variant=f"final-r{r + 1}",
            registry=runner.space.registry,
            first_repeat=r,
        )
    except BaseException:
        _close(ostudy, number, _ABANDONED)  # type: ignore[arg-type]
        raise
    record = summary["runs"][0]
    store_on(ostudy, number, TrialAttr.FINAL_RECORD, record)  # type: ignore[arg-type]
    _close(ostudy, number)  # type: ignore[arg-type]
    return dict(record)


def paired_baseline(finals: Sequence[FrozenTrial], trial: FrozenTrial) -> FrozenTrial | None:
    """The baseline final trial measured in the same invocation's rounds as ``trial``.

    Final trials of studies before invocations carry none; their baseline is the one
    final baseline trial without one.
    """
    generation = TrialRecord.from_trial(trial).generation
    return next(
        (
            t
            for t in finals
            if (r := TrialRecord.from_trial(t)).is_baseline and r.generation == generation
        ),
        None,
    )


@dataclass
class Measured:
    """A ``run_fn`` that answers with summaries measured already (by :func:`run_rounds`)."""

    summaries: Mapping[str, dict[str, Any]]
    space: SearchSpace

    def __call__(self, study: Any, bundle: Bundle, **_: Any) -> dict[str, Any]:
        return self.summaries[self.space.key(bundle)]
