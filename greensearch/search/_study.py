"""``optimize``: the multi-objective knob search under an F1 budget.

Order of work, each step stored in the Optuna study as it completes (so ``kill -9`` or
Ctrl-C loses at most the trial in flight, and rerunning resumes):

1. the baseline, repeated, to know the noise;
2. every available knob alone (the isolated effects the orthogonality checker needs);
3. the bundles the checker's model ranks first, grown one knob at a time from measured
   cores (``guide``, see ``_guide.py``), a trial each while it has one to propose; the
   sampler (TPE with constraints by default) takes a turn only when it has none, the
   checker pruning combinations predicted worse than one of their subsets before they
   cost energy. Why not alternate: the sampler's stacks of 7-8 knobs lost 44 % F1 in the
   live studies, and each turn it took was a step the guide's stack did not grow;
4. the cheapest feasible bundles again at full fidelity, ``repeats`` times, with the
   baseline and the cheapest near miss of the F1 budget (``near_misses``): the oracle
   is chosen among those, against the strict budget; a dear one whose rounds the cheaper
   ones' chance of failing does not repay waits for them (``_deferral``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from greensearch._threads import THREADS_ENV, use_thread_share
from greensearch.exceptions import (
    ConfigError,
    GreensearchError,
    MeasurementError,
    StageFailedError,
)
from greensearch.knobs import KnobRegistry, parse_bundle
from greensearch.machine import Machine, describe_machine
from greensearch.pipeline import SHORT_RUN_EVAL
from greensearch.record import (
    TrialRecord,
    completed_at,
    queued_attrs,
    records,
    search_baseline,
)
from greensearch.schema import OBJECTIVE_NAMES, Phase, StudyAttr, stored_settings
from greensearch.search._debris import StudyFootprint
from greensearch.search._deferral import Deferral, defer_dear
from greensearch.search._guide import Evidence
from greensearch.search._interrupted import retry_interrupted
from greensearch.search._liveness import fail_dead_trials
from greensearch.search._machines import (
    check_machine,
    machine_study_name,
    record_machine_study,
)
from greensearch.search._objective import TrialRunner
from greensearch.search._preflight import CheckedSearch, preflight_search
from greensearch.search._promotion import (
    MAX_PROMOTIONS,
    Candidate,
    candidates,
    phase_confidence,
    pick_promotion,
)
from greensearch.search._result import (
    JudgedFinals,
    SearchResult,
    build_result,
    judge_finals,
    pick_final_candidates,
)
from greensearch.search._resume import WHOLE_SPLIT, resume_problems
from greensearch.search._rounds import (
    Measured,
    fail_dead_claims,
    holding,
    is_claim,
    plan_invocation,
    run_rounds,
    stored_invocations,
)
from greensearch.search._seeds import seed_study
from greensearch.search._settings import SAMPLERS, SearchSettings, load_registry
from greensearch.search._space import SearchSpace
from greensearch.search._storage import default_storage_url, open_storage, retried_trial_numbers
from greensearch.search._warm import warm_start

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler
    from optuna.storages import BaseStorage
    from optuna.study import Study
    from optuna.trial import FrozenTrial

    from greensearch.energy import Meter
    from greensearch.interactions._model import OrthogonalityChecker

__all__ = ["SAMPLERS", "make_sampler", "optimize"]

logger = logging.getLogger(__name__)

#: How often a process waiting for a lock held for seconds (recording finals) looks again.
_LOCK_POLL_S = 0.25


def optimize(
    settings: SearchSettings,
    *,
    storage: BaseStorage | None = None,
    meter: Meter | None = None,
    registry: KnobRegistry | None = None,
    run_fn: Callable[..., dict[str, Any]] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    machine: Machine | None = None,
    left_out: Mapping[str, str] | None = None,
) -> SearchResult:
    """Search knob bundles for the lowest energy within an F1 budget.

    Args:
        settings: What to search and how (see :class:`SearchSettings`).
        storage: An Optuna storage object to use instead of ``settings.storage`` (e.g.
            ``InMemoryStorage`` for tests and replays; not shareable with workers).
        meter: A meter object to use instead of opening ``settings.meter`` (with
            ``run_fn`` and no meter, none is opened: a replay measures nothing).
        registry: A knob registry object instead of ``settings.registry``.
        run_fn: Replaces the real pipeline run (e.g. a :class:`ReplayRunner`).
        progress: Called as ``progress(phase, done, total)`` after each trial.
        machine: The machine trials run on (default: this one, or unknown with ``run_fn``):
            a study whose baseline ran on another machine is refused (unless
            ``settings.allow_mixed_machines``), and precision values it only emulates are
            left out of the search unless ``settings.include`` names their knob.
        left_out: Knobs the caller kept out of ``registry`` because they cannot apply to
            what ``run_fn`` runs, with the reason: stored in the study and shown in the
            result, so a reader sees what was never tried and why.

    Returns:
        The typed result; ``to_dict()`` is what ``greensearch optimize --json`` prints.

    Raises:
        ConfigError: bad storage or knobs, or extra workers asked for with objects they
            cannot receive.
    """
    import optuna

    s = settings
    budget, fidelity = s.max_f1_loss_pct, s.fidelity
    if s.n_workers > 1:
        _check_shareable(storage=storage, meter=meter, registry=registry, run_fn=run_fn)
    registry = registry if registry is not None else load_registry(s.registry)
    here = machine if machine is not None or run_fn is not None else describe_machine()
    checked = _preflight(s, registry, storage=storage, replay=run_fn is not None, machine=here)
    space, name, total = checked.space, checked.study_name, checked.n_trials
    footprint = StudyFootprint.before(checked.storage, name)  # before anything is made
    url = s.storage if s.storage is not None else default_storage_url(name)
    threads = use_thread_share(s.n_workers) if run_fn is None else None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # a replay (run_fn) measures nothing: no meter is opened for it unless one is given
    owned_meter = meter is None and run_fn is None
    the_meter: Any = None
    meter_name = s.meter if meter is None else str(getattr(meter, "name", meter))
    workers: list[subprocess.Popen[bytes]] = []
    try:
        the_storage = storage if storage is not None else open_storage(url)
        footprint.opened(the_storage)

        def open_study(study_name: str) -> Study:
            return optuna.create_study(
                study_name=study_name,
                storage=the_storage,
                load_if_exists=True,
                directions=["minimize", "minimize"],
                sampler=make_sampler(s.sampler, space, s.seed),
            )

        ostudy = open_study(name)
        own = _own_study_name(ostudy, here, allow_mixed=s.allow_mixed_machines)
        if own != name:  # this machine works in its own study, with its own baseline
            footprint = StudyFootprint.before(checked.storage, own)
            footprint.opened(the_storage)
            name, ostudy = own, open_study(own)
        check_machine(ostudy, here)
        _remember(ostudy, s, space, meter_name, threads)
        if left_out is not None:
            ostudy.set_user_attr(StudyAttr.LEFT_OUT_KNOBS, dict(left_out))
        if s.warm_start is not None:
            # the earlier study lives in this storage, or in its own default file
            earlier: Any = the_storage
            if storage is None and s.storage is None:
                earlier = default_storage_url(s.warm_start, create=False)
            n = warm_start(ostudy, s.warm_start, earlier, fidelity=fidelity, here=here)
            logger.info("warm start: %d trials from study '%s'", n, s.warm_start)
        with warnings.catch_warnings():  # set_metric_names is "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            ostudy.set_metric_names(list(OBJECTIVE_NAMES))
        the_meter = _open_meter(s.meter, s.idle_seconds) if owned_meter else meter
        runner = _runner(s, space, registry, meter=the_meter, run_fn=run_fn, machine=here)
        if retry_interrupted(ostudy):
            logger.warning("retrying the trial stopped by Ctrl-C last time")
        seed_study(ostudy, space, fidelity)
        workers = _spawn_workers(
            s.n_workers - 1, s.replace(study_name=name, storage=url), threads=threads
        )
        # One process guides and settles: extra workers only sample, so they never race
        # the main process to enqueue the same proposal or to pop the same retry.
        guiding = (not s.search_only) if s.guide is None else s.guide
        guide_fn = (
            _guide_factory(registry, space, fidelity, budget, s.production_runs)
            if guiding
            else None
        )
        _search(ostudy, runner, total, progress, gc_after_trial=run_fn is None, guide=guide_fn)
        for w in workers:
            w.wait()
        runner.raise_if_refused()
        if not s.search_only:
            _settle_and_finals(ostudy, the_storage, s, space, runner, progress)
    except BaseException:
        if not s.search_only:  # a study that measured nothing is debris: leave none behind
            footprint.remove_if_empty()
        raise
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        if owned_meter and the_meter is not None:
            the_meter.close()
    return build_result(
        ostudy,
        fidelity=fidelity,
        budget_f1_pct=s.budget_f1_pct,
        production_runs=s.production_runs,
    )


def _settle_and_finals(
    ostudy: Study,
    storage: BaseStorage,
    s: SearchSettings,
    space: SearchSpace,
    runner: TrialRunner,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    """After the search: settle dead trials, then re-measure the finalists in rounds."""
    _settle(ostudy, storage, runner)
    _finals(ostudy, space, s, runner, progress)
    runner.raise_if_refused()


def _preflight(
    s: SearchSettings,
    registry: KnobRegistry,
    *,
    storage: BaseStorage | None,
    replay: bool,
    machine: Machine | None,
) -> CheckedSearch:
    """Every input checked before a file exists or a joule is spent; notes logged."""
    checked = preflight_search(
        s, registry=registry, storage=storage, check_data=not replay, machine=machine
    )
    for note in checked.notes:
        logger.warning("%s", note)
    for what, why in checked.space.skipped.items():
        if "=" in what:  # a value left out (emulated precision), not a whole knob
            logger.warning("left out of the search: %s (%s)", what, why)
    return checked


def _own_study_name(ostudy: Study, here: Machine | None, *, allow_mixed: bool) -> str:
    """The study this machine works in: the named one, or its own where machines mix."""
    mixed = allow_mixed or ostudy.user_attrs.get(StudyAttr.MIXED_MACHINES)
    if here is None or not mixed:
        return ostudy.study_name
    own = machine_study_name(ostudy, here)
    if own != ostudy.study_name:
        record_machine_study(ostudy, here, own)
        logger.warning("this machine works in its own study '%s' (own baseline)", own)
    return own


def _runner(
    s: SearchSettings,
    space: SearchSpace,
    registry: KnobRegistry,
    *,
    meter: Meter | None,
    run_fn: Callable[..., dict[str, Any]] | None,
    machine: Machine | None,
) -> TrialRunner:
    """The objective every trial of this process runs."""
    return TrialRunner(
        study_cfg=s.study,
        space=space,
        budget_pct=s.max_f1_loss_pct,
        meter=meter,
        fidelity=s.fidelity,
        baseline_repeats=s.baseline_repeats,
        repeats=s.repeats,
        checker_factory=_checker_factory(registry) if s.prune else None,
        results_path=s.results_path,
        run_fn=run_fn,
        machine=machine,
        confidence=s.confidence,
        anchor_every=s.anchor_every,
        share_windows=s.share_windows,
        max_rounds=s.max_rounds,
    )


def _check_shareable(
    *,
    storage: BaseStorage | None,
    meter: Meter | None,
    registry: KnobRegistry | None,
    run_fn: Callable[..., dict[str, Any]] | None,
) -> None:
    """Extra workers get the settings alone: refuse objects they would silently lack."""
    given = [
        (flag, fix)
        for flag, value, fix in (
            ("a storage object", storage, "a storage URL in settings.storage"),
            ("a meter object", meter, "a meter name in settings.meter"),
            ("a registry object", registry, "a module:function in settings.registry"),
            ("run_fn", run_fn, "the real pipeline"),
        )
        if value is not None
    ]
    if given:
        flag, fix = given[0]
        raise ConfigError(
            f"--n-workers needs settings the workers can rebuild, not {flag}; use {fix}"
        )


def make_sampler(name: str, space: SearchSpace, seed: int) -> BaseSampler:
    """Build the Optuna sampler; every one honours the F1 constraint where Optuna can."""
    import optuna

    # Trials report the F1 budget through ``trial.set_constraint`` (Optuna >= 5), which
    # the constrained samplers read; older Optuna needs ``constraints_func`` instead.
    legacy: dict[str, Any] = (
        {}
        if hasattr(optuna.trial.Trial, "set_constraint")
        else {
            "constraints_func": lambda t: list(
                TrialRecord.from_trial(t).constraint or [float("inf")]
            )
        }
    )
    if name == "tpe":
        with warnings.catch_warnings():  # multivariate/group are "experimental" in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(
                seed=seed, multivariate=True, group=True, n_startup_trials=5, **legacy
            )
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=10, **legacy)
    if name == "gp":
        return optuna.samplers.GPSampler(seed=seed, **legacy)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "grid":
        grid = {k: ["off", *v] for k, v in space.choices.items()}
        return optuna.samplers.GridSampler(grid, seed=seed)
    raise ConfigError(f"unknown sampler '{name}'; use one of {', '.join(SAMPLERS)}")


def _remember(
    ostudy: Study,
    s: SearchSettings,
    space: SearchSpace,
    meter: str,
    threads: int | None,
) -> None:
    """Store the search's settings with the study; refuse a resume that changes them.

    Raises:
        ConfigError: the stored study was searched with other settings (one line lists
            what differs), unless ``s.accept_changed_settings``; then the change is
            recorded in the study.
    """
    cfg = s.study
    settings = {
        StudyAttr.BUDGET_F1_PCT: s.budget_f1_pct,
        StudyAttr.CONFIDENCE: s.confidence,
        StudyAttr.FIDELITY: s.fidelity,
        StudyAttr.STUDY_FILE: cfg.source,
        StudyAttr.STUDY_SETTINGS: {k: v for k, v in cfg.to_dict().items() if k != "source"},
        StudyAttr.SPACE: {k: list(v) for k, v in space.choices.items()},
        StudyAttr.METER: meter,
        StudyAttr.SHORT_RUN_EVAL: SHORT_RUN_EVAL,
    }
    known = stored_settings(ostudy.user_attrs)
    if StudyAttr.SHORT_RUN_EVAL not in known and _has_short_runs(ostudy):
        known[StudyAttr.SHORT_RUN_EVAL] = WHOLE_SPLIT  # measured before the rule was stored
    diffs = resume_problems(known, settings)
    if diffs and not s.accept_changed_settings:
        raise ConfigError(
            f"study '{ostudy.study_name}' was searched with other settings: "
            + "; ".join(diffs)
            + "; rerun with the same settings, pick a new --study-name, or pass "
            "--accept-changed-settings"
        )
    if diffs:
        logger.warning("resuming with changed settings: %s", "; ".join(diffs))
        history = list(known.get(StudyAttr.SETTINGS_CHANGES, []))
        history.append({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "changes": diffs})
        ostudy.set_user_attr(StudyAttr.SETTINGS_CHANGES, history)
    ostudy.set_user_attr(StudyAttr.STUDY, cfg.name)
    for key, value in settings.items():
        if known.get(key) != value:
            ostudy.set_user_attr(key, value)
    ostudy.set_user_attr(StudyAttr.SKIPPED_KNOBS, space.skipped)
    if threads is not None:
        ostudy.set_user_attr(StudyAttr.TORCH_THREADS, threads)


def _has_short_runs(ostudy: Study) -> bool:
    """Whether the study holds a completed search trial measured at fidelity below 1."""
    import optuna

    done = ostudy.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return any(r.in_search and (r.fidelity or 1.0) < 1 for r in records(done))


def _search(
    ostudy: Study,
    runner: TrialRunner,
    total: int,
    progress: Callable[[str, int, int], None] | None,
    *,
    gc_after_trial: bool,
    guide: Callable[[Study], bool] | None = None,
) -> None:
    import optuna

    def done() -> int:
        states = (
            optuna.trial.TrialState.COMPLETE,
            optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL,
        )
        trials = ostudy.get_trials(deepcopy=False, states=states)
        retried = retried_trial_numbers(ostudy.get_trials(deepcopy=False))
        return sum(1 for r in records(trials) if r.in_search and r.number not in retried)

    def running() -> int:
        """Search trials still running (elsewhere, or dead and to be retried): they count.

        Without them a resumed search would start a new trial for each one killed, then
        also run its retry: more trials than --n-trials.
        """
        trials = ostudy.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        return sum(1 for r in records(trials) if r.in_search)

    baseline_error: list[str] = []

    def stop_when_done(study: Study, trial: FrozenTrial) -> None:
        n = done()
        if progress is not None:
            progress("search", min(n, total), total)
        record = TrialRecord.from_trial(trial)
        if trial.state == optuna.trial.TrialState.FAIL and record.is_baseline:
            baseline_error.append(record.error or "the baseline run failed")
            study.stop()  # nothing can be judged without a baseline
        if n + running() >= total or runner.refused is not None:
            study.stop()
        elif guide is not None and not guide(study):
            study.stop()  # a further trial would not pay for itself

    if done() + running() >= total:
        return
    if progress is not None:
        progress("search", done(), total)
    ostudy.optimize(
        runner,
        callbacks=[stop_when_done],
        catch=(StageFailedError, GreensearchError),
        gc_after_trial=gc_after_trial,
    )
    runner.raise_if_refused()
    if baseline_error:
        raise MeasurementError(f"search stopped: {baseline_error[0]}")


def _settle(ostudy: Study, storage: BaseStorage, runner: TrialRunner) -> None:
    """Wait out the trials still running elsewhere; run the retries of dead ones.

    A trial left ``RUNNING`` by a killed process holds its knob set (nothing else measures
    it), and a seed among them is an isolated effect the checker and the finalists need.
    Its heartbeat goes stale after the grace period (or, killed before its first beat, it
    never reaches the objective: see ``_liveness``); it is then marked failed and one retry
    is queued, which this process runs. Other workers' live trials are waited
    for, so the finalists are picked from every search result. A finalist left running
    by a process killed in the final phase is settled the same way, before the finals
    are counted.
    """
    import optuna

    if not _heartbeat_enabled(storage):
        return  # journal/in-memory: a dead trial is never detected, so do not wait for it
    deadline = time.monotonic() + runner.wait_timeout_s
    while True:
        fail_dead_claims(ostudy)
        trials = [  # a claim on a final run is waited for run by run, in the finals
            t
            for t in ostudy.get_trials(
                deepcopy=False,
                states=(optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING),
            )
            if not is_claim(t)
        ]
        if not trials or time.monotonic() > deadline or runner.refused is not None:
            return
        if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            ostudy.optimize(runner, n_trials=1, catch=(StageFailedError, GreensearchError))
            continue
        fail_dead_trials(ostudy)
        time.sleep(runner.poll_s)


def _heartbeat_enabled(storage: BaseStorage) -> bool:
    """Whether dead trials are ever detected (RDB storages opened with a heartbeat)."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(interval) and interval() is not None


def _guide_factory(
    registry: KnobRegistry,
    space: SearchSpace,
    fidelity: float,
    budget: float,
    production_runs: int | None = None,
) -> Callable[[Study], bool]:
    """A callback step that enqueues the model's next bundle once the seeds are done.

    It returns ``False`` when the search should stop: with ``production_runs`` set, the
    next proposal's expected further saving over those runs no longer covers its run.
    """
    import optuna

    from greensearch.search._checking import checker_from_trials
    from greensearch.search._guide import next_step, pays_for_itself, propose

    def step(ostudy: Study) -> bool:
        trials = [
            t
            for t in ostudy.get_trials(deepcopy=False)
            if TrialRecord.from_trial(t).fidelity == fidelity
        ]
        here = records(trials)
        if any(r.state == optuna.trial.TrialState.WAITING for r in here):
            return True  # seeds (or another worker's proposal) still to run
        # pruned bundles stay proposable: the sampler's pick was pruned on the evidence of
        # its time, and the model may now rank the same bundle first
        tried: set[str] = {
            r.knobs for r in here if r.knobs and r.state != optuna.trial.TrialState.PRUNED
        }
        base = _baseline_of(here)
        if base is None:
            return True
        try:
            checker = checker_from_trials(registry, trials, fidelity)
            proposal = propose(checker, space, budget, tried, _evidence(here, base[0]))
            grown = None if proposal is None else tuple(proposal.bundle)
            step = next_step(checker, space, budget, tried, grown)
            if step is not None:  # a next value of the proposal's knobs, before it grows
                key = space.key(step.bundle)
                logger.info(
                    "value step next: %s (%s alone: energy x%.2f)",
                    key,
                    step.after,
                    step.after_ratio,
                )
                ostudy.enqueue_trial(  # one knob alone, as the seeds: the guide's turn stays
                    space.params_of(step.bundle),
                    user_attrs=queued_attrs(Phase.SINGLE, fidelity, key),
                )
                return True
        except GreensearchError as err:  # a model problem must not stop the search
            logger.warning("no model-guided trial this time: %s", err)
            return True
        # with nothing left to propose the trial budget decides (the sampler explores)
        if (
            production_runs is not None
            and proposal is not None
            and not pays_for_itself(
                proposal,
                production_runs=production_runs,
                baseline_full_kwh=base[0],
                baseline_run_kwh=base[1],
            )
        ):
            logger.info("search stopped: a further trial would not pay for itself")
            return False
        if proposal is not None:
            key = space.key(proposal.bundle)
            logger.info("model-guided trial next: %s", key)
            ostudy.enqueue_trial(
                space.params_of(proposal.bundle),
                user_attrs=queued_attrs(Phase.GUIDED, fidelity, key),
            )
        return True

    return step


def _baseline_of(here: list[TrialRecord]) -> tuple[float, float] | None:
    """The baseline's extrapolated full-run energy and what one of its search runs cost."""
    r = search_baseline(here)
    if r is None or r.values is None:
        return None
    return float(r.values[0]), r.energy_kwh_spent / max(len(r.energy_kwh_runs), 1)


def _evidence(here: list[TrialRecord], base_kwh: float) -> list[Evidence]:
    """Every measured, non-degenerate bundle as the guide reads it (the last run of each)."""
    import optuna

    found: dict[str, Evidence] = {}
    for r in here:
        if r.state != optuna.trial.TrialState.COMPLETE or r.knobs is None or r.degenerate:
            continue
        if not r.values or (r.delta_f1_pct is None and r.knobs):
            continue
        found[r.knobs] = Evidence(
            r.knobs,
            float(r.values[0]) / base_kwh,
            float(r.delta_f1_pct or 0.0),
            Evidence.sd_of(r.delta_f1_ci95_pct),
        )
    return list(found.values())


def _finals(
    ostudy: Study,
    space: SearchSpace,
    s: SearchSettings,
    runner: TrialRunner,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    """Re-measure the baseline, the cheapest feasible bundles and the most promising
    uncertain ones at full fidelity, in rounds of one invocation (see
    :mod:`greensearch.search._rounds`); while none is confirmed and ``--production-runs``
    repays it, promote the next bundle in an invocation of its own (``_promotion``)."""
    budget = s.max_f1_loss_pct
    best, near = pick_final_candidates(
        ostudy,
        s.fidelity,
        budget,
        s.finalists,
        s.near_misses,
        model_of=lambda key: space.model_key(parse_bundle(key) if key else {}),
    )
    possible = s.production_runs is not None
    priced = {
        c.knobs: c for c in candidates(records(completed_at(ostudy, s.fidelity)), set(), budget)
    }
    split = defer_dear([*best, *near], priced) if s.defer_finals else Deferral((*best, *near), ())
    _record_deferral(ostudy, split, priced)

    def at(promoted: bool, *, later: bool = False) -> TrialRunner:
        """Each phase at its share of the error rate (``_promotion``, ``_deferral``)."""
        share = phase_confidence(s.confidence, promotions_possible=possible, promoted=promoted)
        if not promoted:
            share = split.confidence(share, later=later)
        return dataclasses.replace(runner, confidence=share)

    def phase(keys: tuple[str, ...], later: bool) -> None:
        chosen = at(False, later=later)
        now_best = [k for k in best if k in keys]
        _final_invocation(ostudy, space, now_best, [k for k in near if k in keys], chosen, progress)
        runner.refused = chosen.refused

    phase(split.now, later=False)
    phases = 1
    if (
        split.later
        and runner.refused is None
        and _confirmed_none(judge_finals(ostudy, s.budget_f1_pct))
    ):
        logger.warning(
            "no finalist confirmed: judging the dearer ones that waited (%s)",
            ", ".join(split.later),
        )
        phase(split.later, later=True)
        phases = 2
    while runner.refused is None and len(stored_invocations(ostudy)) < phases + MAX_PROMOTIONS:
        promoted = _next_promotion(ostudy, s)
        if promoted is None:
            return
        logger.warning(
            "no finalist confirmed: promoting %s (short-run energy x%.2f, bootstrap share "
            "within budget %.0f%%), worth its rounds over %d production runs",
            promoted.knobs,
            promoted.energy_ratio,
            100 * promoted.chance,
            s.production_runs,
        )
        later = at(True)
        _final_invocation(ostudy, space, [], [promoted.knobs], later, progress, promoted=True)
        runner.refused = later.refused


def _confirmed_none(finals: JudgedFinals) -> bool:
    """Whether the finals so far name no oracle (with a baseline measured): what lets
    the finalists that waited, and then a promotion, be judged."""
    return finals.oracle is None and finals.base is not None


def _record_deferral(ostudy: Study, split: Deferral, priced: Mapping[str, Candidate]) -> None:
    """Store which candidates waited (the answer names them), once per study."""
    if not split.later or ostudy.user_attrs.get(StudyAttr.FINALS_DEFERRED) is not None:
        return
    ostudy.set_user_attr(
        StudyAttr.FINALS_DEFERRED,
        [
            {"knobs": k, "energy_ratio": priced[k].energy_ratio, "chance": priced[k].chance}
            for k in split.later
        ],
    )


def _next_promotion(ostudy: Study, s: SearchSettings) -> Candidate | None:
    """The bundle to promote now, or ``None`` (an oracle stands, or nothing pays)."""
    finals = judge_finals(ostudy, s.budget_f1_pct)
    if not _confirmed_none(finals):
        return None
    judged = {TrialRecord.from_trial(t).knobs or "" for t in finals.bundles}
    pool = candidates(records(completed_at(ostudy, s.fidelity)), judged, s.max_f1_loss_pct)
    return pick_promotion(pool, production_runs=s.production_runs, repeats=s.repeats)


def _final_invocation(
    ostudy: Study,
    space: SearchSpace,
    best: list[str],
    near: list[str],
    runner: TrialRunner,
    progress: Callable[[str, int, int], None] | None,
    *,
    promoted: bool = False,
) -> None:
    """Measure ``best`` and ``near`` (and any final a killed process left queued) with the
    baseline in rounds, then record one final trial per key and invocation."""
    import optuna

    def finals(*states: Any) -> list[TrialRecord]:
        return [
            r
            for r in records(ostudy.get_trials(deepcopy=False, states=states))
            if isinstance(r.knobs, str) and r.fidelity == 1.0 and r.is_final
        ]

    def generations(finished: list[TrialRecord]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = {}
        for r in finished:  # a final from before invocations counts as generation -1
            generation = r.generation if r.generation is not None else -1
            found.setdefault(r.knobs or "", set()).add(generation)
        return found

    queued = finals(optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING)
    # A final enqueued by an earlier, killed process is measured too, whatever the picks now.
    wanted = ["", *best, *near, *sorted({r.knobs or "" for r in queued})]
    done = generations(finals(optuna.trial.TrialState.COMPLETE))
    invocation = plan_invocation(stored_invocations(ostudy), wanted, done)
    if invocation is None:
        return
    outcome = run_rounds(ostudy, invocation, runner, progress)
    # One process at a time records: two popping one queue, the one that finds it empty
    # gets a newly sampled trial from Optuna. A process that waited finds them recorded,
    # so every process answers from the same finished trials.
    lock = f"record:{invocation.generation}"
    with holding(ostudy, lock, min(runner.poll_s, _LOCK_POLL_S), runner.wait_timeout_s):
        held = generations(
            finals(
                optuna.trial.TrialState.COMPLETE,
                optuna.trial.TrialState.WAITING,
                optuna.trial.TrialState.RUNNING,
            )
        )
        for key in invocation.keys:
            if invocation.generation in held.get(key, set()):
                continue  # recorded by this invocation's first, killed process or by another
            attrs = queued_attrs(
                Phase.FINAL,
                1.0,
                key,
                near_miss=key in near and not promoted,
                promoted=promoted and bool(key),
                rounds=True,
                generation=invocation.generation,
                look=look.to_dict() if (look := outcome.looks.get(key)) is not None else None,
            )
            ostudy.enqueue_trial(space.params_of(parse_bundle(key)), user_attrs=attrs)
        recorder = dataclasses.replace(runner, run_fn=Measured(outcome.summaries, space))
        while finals(optuna.trial.TrialState.WAITING) and recorder.refused is None:
            ostudy.optimize(recorder, n_trials=1, catch=(StageFailedError, GreensearchError))
        runner.refused = recorder.refused


def _open_meter(name: str, idle_seconds: float) -> Meter:
    from greensearch.energy import make_meter, measure_idle_power

    meter = make_meter(name)
    if idle_seconds > 0:
        measure_idle_power(meter, seconds=idle_seconds)
    return meter


def _checker_factory(registry: KnobRegistry) -> Callable[[Study, float], OrthogonalityChecker]:
    from greensearch.search._checking import checker_from_study

    def factory(ostudy: Study, fidelity: float) -> OrthogonalityChecker:
        return checker_from_study(registry, ostudy, fidelity)

    return factory


def _spawn_workers(
    n: int, settings: SearchSettings, *, threads: int | None = None
) -> list[subprocess.Popen[bytes]]:
    """Start ``n`` extra worker processes on the same storage (search phase only).

    Each gets the main process's settings whole, as JSON (the study, meter, results file,
    repeats, registry...), changed only where a worker must differ: its own sampler seed,
    the search phase alone, one process, no idle sampling (the main process did it), and,
    through ``GREENSEARCH_TORCH_THREADS``, its share of the cores as this process took its own.
    """
    if n <= 0:
        return []
    assert settings.storage is not None  # optimize() passes the URL it opened
    if settings.storage.startswith("sqlite"):
        logger.warning("several workers on SQLite contend for one file lock; prefer PostgreSQL")
    procs = []
    for i in range(n):
        mine = settings.replace(
            seed=settings.seed + i + 1, search_only=True, n_workers=1, idle_seconds=0.0
        )
        cmd = [sys.executable, "-m", "greensearch.search._worker", mine.to_json()]
        env = dict(os.environ)
        if threads is not None:
            env[THREADS_ENV] = str(threads)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env))
    return procs
