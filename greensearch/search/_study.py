"""``optimize``: the multi-objective knob search under an F1 budget.

Order of work, each step stored in the Optuna study as it completes (so ``kill -9`` or
Ctrl-C loses at most the trial in flight, and rerunning resumes):

1. the baseline, repeated, to know the noise;
2. every available knob alone (the isolated effects the orthogonality checker needs);
3. the sampler (TPE with constraints by default), the checker pruning combinations
   predicted worse than one of their subsets before they cost energy; every other trial
   is instead the bundle the checker's model predicts cheapest within the budget
   (``guide``, see ``_guide.py``);
4. the cheapest feasible bundles again at full fidelity, ``repeats`` times, with the
   baseline and the cheapest near miss of the F1 budget (``near_misses``): the oracle
   is chosen among those, against the strict budget.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from greensearch._budget import parse_f1_budget
from greensearch._threads import THREADS_ENV, use_thread_share
from greensearch.config import StudyConfig
from greensearch.exceptions import (
    ConfigError,
    GreensearchError,
    MeasurementError,
    StageFailedError,
)
from greensearch.knobs import default_registry, parse_bundle
from greensearch.preflight import resume_problems
from greensearch.search._debris import StudyFootprint
from greensearch.search._objective import TrialRunner
from greensearch.search._result import build_result, pick_finalists, pick_near_misses
from greensearch.search._rounds import Measured, run_rounds
from greensearch.search._space import SearchSpace
from greensearch.search._storage import default_storage_url, open_storage

__all__ = ["optimize", "SAMPLERS", "make_sampler", "load_result"]

logger = logging.getLogger(__name__)

SAMPLERS = ("tpe", "nsga2", "gp", "random", "grid")


def optimize(
    study: str | Path | StudyConfig | None = None,
    *,
    budget_f1: str | float = "-1%",
    n_trials: int | None = None,
    study_name: str | None = None,
    storage: str | Any | None = None,
    sampler: str = "tpe",
    fidelity: float = 0.25,
    repeats: int = 3,
    baseline_repeats: int = 3,
    finalists: int = 1,
    near_misses: int = 1,
    prune: bool = True,
    guide: bool | None = None,
    meter: str | Any = "auto",
    idle_seconds: float = 2.0,
    n_workers: int = 1,
    seed: int = 0,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    results_path: str | Path | None = None,
    search_only: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    registry: Any = None,
    run_fn: Callable[..., dict[str, Any]] | None = None,
    accept_changed_settings: bool = False,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Search knob bundles for the lowest energy within an F1 budget.

    Args:
        study: Study file or config (default: the embedded study).
        budget_f1: Accepted F1 loss: ``"-1%"``, ``"1%"`` or a float percentage.
        n_trials: Search trials in the study, seeds included (default: seeds + 8).
        study_name: Optuna study name (default: ``<study>-f1-<budget>``); same name resumes.
        storage: Optuna storage URL (default ``sqlite:///studies/<study_name>.db``) or an
            Optuna storage object (e.g. ``InMemoryStorage`` for tests and replays).
        sampler: One of ``tpe``, ``nsga2``, ``gp``, ``random``, ``grid``.
        fidelity: Fraction of training steps per search trial (1.0: full runs).
        repeats: Full-fidelity runs of each finalist and of the baseline.
        baseline_repeats: Runs of the baseline at search fidelity (noise estimate).
        finalists: How many of the cheapest feasible bundles are re-measured.
        near_misses: How many bundles that missed the budget by at most the budget
            again, and are cheaper than every finalist, are re-measured too (the
            short run's F1 may be pessimistic; the full-fidelity budget stays strict).
        prune: Let the orthogonality checker skip combinations predicted to lose.
        guide: Alternate sampler trials with the bundle the checker's model predicts
            cheapest within the budget (model-guided trials). ``None`` (default): on,
            except in ``search_only`` workers, so the main process alone proposes and no
            two processes enqueue the same bundle.
        meter: Meter name for ``make_meter`` or a meter object.
        idle_seconds: Idle power sampling before the first trial (0 skips).
        n_workers: Worker processes sharing the study (this one included).
        seed: Sampler seed.
        include: Search only these knobs.
        exclude: Never search these knobs.
        results_path: JSON Lines file every run is appended to.
        search_only: Stop after the search phase (used by extra workers).
        progress: Called as ``progress(phase, done, total)`` after each trial.
        registry: Knob registry (default: the built-in knobs).
        run_fn: Replaces the real pipeline run (e.g. a :class:`ReplayRunner`).
        accept_changed_settings: Resume a study whose stored budget, fidelity, study file,
            knob space or meter differ from these (the change is recorded in the study);
            without it such a resume is refused.
        confidence: Confidence of the one-sided ΔF1 bounds behind every F1 verdict
            (finalists, oracle); 0.5 is the point-estimate rule.

    Returns:
        The result dict (``oracle``, ``pareto``, ``n_trials``, ``n_pruned``,
        ``search_energy_kwh``, ...), also what ``greensearch optimize --json`` prints.

    Raises:
        PreflightError: every bad argument, study, dataset, path or storage, at once,
            before any storage is created or energy spent.
        ConfigError: a resume with other settings, or a storage that cannot be opened.
    """
    import optuna

    from greensearch.preflight import preflight_search

    registry = registry if registry is not None else default_registry()
    checked = preflight_search(  # every input checked before a file exists or a joule is spent
        study,
        budget_f1=budget_f1,
        n_trials=n_trials,
        study_name=study_name,
        storage=storage,
        sampler=sampler,
        fidelity=fidelity,
        repeats=repeats,
        baseline_repeats=baseline_repeats,
        finalists=finalists,
        near_misses=near_misses,
        n_workers=n_workers,
        seed=seed,
        include=include,
        exclude=exclude,
        results_path=results_path,
        registry=registry,
        check_data=run_fn is None,
        confidence=confidence,
    )
    for note in checked.notes:
        logger.warning("%s", note)
    cfg, budget, space = checked.study, checked.budget_pct, checked.space
    name, total = checked.study_name, checked.n_trials
    footprint = StudyFootprint.before(checked.storage, name)  # before anything is made
    url = default_storage_url(name) if storage is None else storage
    threads = use_thread_share(n_workers) if run_fn is None else None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    workers: list[subprocess.Popen[bytes]] = []
    owned_meter = isinstance(meter, str)
    the_meter: Any = None
    try:
        the_storage = open_storage(url) if isinstance(url, str) else url
        footprint.opened(the_storage)
        ostudy = optuna.create_study(
            study_name=name,
            storage=the_storage,
            load_if_exists=True,
            directions=["minimize", "minimize"],
            sampler=make_sampler(sampler, space, seed),
        )
        meter_name = meter if isinstance(meter, str) else str(getattr(meter, "name", meter))
        _remember(
            ostudy, cfg, budget, fidelity, space, meter_name, accept_changed_settings, threads
        )
        the_meter = _open_meter(meter, idle_seconds) if owned_meter else meter
        runner = TrialRunner(
            study_cfg=cfg,
            space=space,
            budget_pct=budget,
            meter=the_meter,
            fidelity=fidelity,
            baseline_repeats=baseline_repeats,
            repeats=repeats,
            checker_factory=_checker_factory(registry) if prune else None,
            results_path=results_path,
            run_fn=run_fn,
            confidence=confidence,
        )
        _seed(ostudy, space, fidelity)
        workers = _spawn_workers(
            n_workers - 1,
            cfg,
            url,
            name,
            budget,
            sampler,
            fidelity,
            total,
            prune,
            seed,
            include,
            exclude,
            meter_name=meter_name if owned_meter else None,
            threads=threads,
        )
        # One process guides and settles: extra workers only sample, so they never race
        # the main process to enqueue the same proposal or to pop the same retry.
        guiding = (not search_only) if guide is None else guide
        guide_fn = _guide_factory(registry, space, fidelity, budget) if guiding else None
        _search(ostudy, runner, total, progress, gc_after_trial=run_fn is None, guide=guide_fn)
        for w in workers:
            w.wait()
        if not search_only:
            _settle(ostudy, the_storage, runner)
            _finals(ostudy, space, fidelity, budget, finalists, near_misses, runner, progress)
    except BaseException:
        if not search_only:  # a study that measured nothing is debris: leave none behind
            footprint.remove_if_empty()
        raise
    finally:
        for w in workers:
            if w.poll() is None:
                w.terminate()
        if owned_meter and the_meter is not None:
            the_meter.close()
    return build_result(ostudy, fidelity=fidelity, budget_pct=budget)


def load_result(
    study_name: str, storage: str, *, budget_f1: str | float | None = None
) -> dict[str, Any]:
    """Rebuild the result of a stored study without running anything."""
    import optuna

    try:
        ostudy = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError as err:
        raise ConfigError(f"no study named '{study_name}' in {storage}") from err
    attrs = ostudy.user_attrs
    budget = (
        attrs.get("budget_f1_pct", 1.0)
        if budget_f1 is None
        else (budget_f1 if isinstance(budget_f1, float) else parse_f1_budget(budget_f1))
    )
    return build_result(ostudy, fidelity=attrs.get("fidelity", 1.0), budget_pct=abs(budget))


def make_sampler(name: str, space: SearchSpace, seed: int) -> Any:
    """Build the Optuna sampler; every one honours the F1 constraint where Optuna can."""
    import optuna

    # Trials report the F1 budget through ``trial.set_constraint`` (Optuna >= 5), which
    # the constrained samplers read; older Optuna needs ``constraints_func`` instead.
    legacy = (
        {}
        if hasattr(optuna.trial.Trial, "set_constraint")
        else {
            "constraints_func": lambda t: list(
                t.user_attrs.get("measurement", {}).get("constraint", [float("inf")])
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
    ostudy: Any,
    cfg: StudyConfig,
    budget: float,
    fidelity: float,
    space: SearchSpace,
    meter: str,
    accept_changed: bool,
    threads: int | None,
) -> None:
    """Store the search's settings with the study; refuse a resume that changes them.

    Raises:
        ConfigError: the stored study was searched with other settings (one line lists
            what differs), unless ``accept_changed``; then the change is recorded.
    """
    settings = {
        "budget_f1_pct": budget,
        "fidelity": fidelity,
        "study_file": cfg.source,
        "study_settings": {k: v for k, v in cfg.to_dict().items() if k != "source"},
        "space": {k: list(v) for k, v in space.choices.items()},
        "meter": meter,
    }
    known = ostudy.user_attrs
    diffs = resume_problems(known, settings)
    if diffs and not accept_changed:
        raise ConfigError(
            f"study '{ostudy.study_name}' was searched with other settings: "
            + "; ".join(diffs)
            + "; rerun with the same settings, pick a new --study-name, or pass "
            "--accept-changed-settings"
        )
    if diffs:
        logger.warning("resuming with changed settings: %s", "; ".join(diffs))
        history = list(known.get("settings_changes", []))
        history.append({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "changes": diffs})
        ostudy.set_user_attr("settings_changes", history)
    ostudy.set_user_attr("study", cfg.name)
    for key, value in settings.items():
        if known.get(key) != value:
            ostudy.set_user_attr(key, value)
    ostudy.set_user_attr("skipped_knobs", space.skipped)
    if threads is not None:
        ostudy.set_user_attr("torch_threads", threads)


def _seed(ostudy: Any, space: SearchSpace, fidelity: float) -> None:
    """Enqueue the baseline and each single knob unless the study already has them."""
    import optuna

    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.RUNNING,
        optuna.trial.TrialState.WAITING,
    )
    have = {
        t.user_attrs.get("knobs")
        for t in ostudy.get_trials(deepcopy=False, states=states)
        if t.user_attrs.get("fidelity") == fidelity
    }
    seeds = [("baseline", {})] + [("single", b) for b in space.singles()]
    for phase, bundle in seeds:
        key = space.key(bundle)
        if key in have:
            continue
        ostudy.enqueue_trial(
            space.params_of(bundle), user_attrs={"phase": phase, "fidelity": fidelity, "knobs": key}
        )


def _search(
    ostudy: Any,
    runner: TrialRunner,
    total: int,
    progress: Callable[[str, int, int], None] | None,
    *,
    gc_after_trial: bool,
    guide: Callable[[Any], None] | None = None,
) -> None:
    import optuna

    def done() -> int:
        states = (
            optuna.trial.TrialState.COMPLETE,
            optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL,
        )
        trials = ostudy.get_trials(deepcopy=False, states=states)
        retried = {
            t.system_attrs["failed_trial"]
            for t in ostudy.get_trials(deepcopy=False)
            if "failed_trial" in t.system_attrs
        }
        return sum(
            1 for t in trials if t.user_attrs.get("phase") != "final" and t.number not in retried
        )

    def running() -> int:
        """Search trials still running (elsewhere, or dead and to be retried): they count.

        Without them a resumed search would start a new trial for each one killed, then
        also run its retry: more trials than --n-trials.
        """
        trials = ostudy.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        return sum(1 for t in trials if t.user_attrs.get("phase") != "final")

    baseline_error: list[str] = []

    def stop_when_done(study: Any, trial: Any) -> None:
        n = done()
        if progress is not None:
            progress("search", min(n, total), total)
        if trial.state == optuna.trial.TrialState.FAIL and trial.user_attrs.get("knobs") == "":
            baseline_error.append(trial.user_attrs.get("error", "the baseline run failed"))
            study.stop()  # nothing can be judged without a baseline
        if n + running() >= total:
            study.stop()
        elif guide is not None and trial.user_attrs.get("phase") != "guided":
            guide(study)

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
    if baseline_error:
        raise MeasurementError(f"search stopped: {baseline_error[0]}")


def _settle(ostudy: Any, storage: Any, runner: TrialRunner) -> None:
    """Wait out the trials still running elsewhere; run the retries of dead ones.

    A trial left ``RUNNING`` by a killed process holds its knob set (nothing else measures
    it), and a seed among them is an isolated effect the checker and the finalists need.
    Its heartbeat goes stale after the grace period; Optuna then marks it failed and
    enqueues one retry, which this process runs. Other workers' live trials are waited
    for, so the finalists are picked from every search result. A finalist left running
    by a process killed in the final phase is settled the same way, before the finals
    are counted.
    """
    import optuna

    if not _heartbeat_enabled(storage):
        return  # journal/in-memory: a dead trial is never detected, so do not wait for it
    deadline = time.monotonic() + runner.wait_timeout_s
    while True:
        trials = ostudy.get_trials(
            deepcopy=False,
            states=(optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING),
        )
        if not trials or time.monotonic() > deadline:
            return
        if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            ostudy.optimize(runner, n_trials=1, catch=(StageFailedError, GreensearchError))
            continue
        optuna.storages.fail_stale_trials(ostudy)
        time.sleep(runner.poll_s)


def _heartbeat_enabled(storage: Any) -> bool:
    """Whether dead trials are ever detected (RDB storages opened with a heartbeat)."""
    interval = getattr(storage, "get_heartbeat_interval", None)
    return callable(interval) and interval() is not None


def _guide_factory(
    registry: Any, space: SearchSpace, fidelity: float, budget: float
) -> Callable[[Any], None]:
    """A callback step that enqueues the model's next bundle once the seeds are done."""
    import optuna

    from greensearch.search._checking import checker_from_trials
    from greensearch.search._guide import propose

    def step(ostudy: Any) -> None:
        trials = [
            t for t in ostudy.get_trials(deepcopy=False) if t.user_attrs.get("fidelity") == fidelity
        ]
        if any(t.state == optuna.trial.TrialState.WAITING for t in trials):
            return  # seeds (or another worker's proposal) still to run
        # pruned bundles stay proposable: the sampler's pick was pruned on the evidence of
        # its time, and the model may now rank the same bundle first
        tried = {
            t.user_attrs.get("knobs")
            for t in trials
            if t.user_attrs.get("knobs") and t.state != optuna.trial.TrialState.PRUNED
        }
        # A bundle predicted within the budget plus the F1 loss this task cannot resolve
        # is not confidently infeasible, so it stays proposable (no slack where trials
        # kept no predictions: replayed landscapes).
        slack = next(
            (
                float(t.user_attrs["measurement"]["f1_resolution_pct"])
                for t in trials
                if t.state == optuna.trial.TrialState.COMPLETE
                and t.user_attrs.get("knobs") == ""
                and (t.user_attrs.get("measurement") or {}).get("f1_resolution_pct") is not None
            ),
            0.0,
        )
        try:
            checker = checker_from_trials(registry, trials, fidelity)
            bundle = propose(checker, space, budget + slack, tried)
        except GreensearchError as err:  # a model problem must not stop the search
            logger.warning("no model-guided trial this time: %s", err)
            return
        if bundle is not None:
            key = space.key(bundle)
            logger.info("model-guided trial next: %s", key)
            ostudy.enqueue_trial(
                space.params_of(bundle),
                user_attrs={"phase": "guided", "fidelity": fidelity, "knobs": key},
            )

    return step


def _finals(
    ostudy: Any,
    space: SearchSpace,
    fidelity: float,
    budget: float,
    k: int,
    near_misses: int,
    runner: TrialRunner,
    progress: Callable[[str, int, int], None] | None,
) -> None:
    """Re-measure the baseline, the cheapest feasible bundles and the most promising
    uncertain ones at full fidelity, in rounds (see :mod:`greensearch.search._rounds`)."""
    import dataclasses

    import optuna

    best = pick_finalists(ostudy, fidelity, k)
    near = pick_near_misses(ostudy, fidelity, budget, near_misses, best)
    keys = ["", *best, *near]

    def finals(*states: Any) -> set[str]:
        return {
            t.user_attrs.get("knobs")
            for t in ostudy.get_trials(deepcopy=False, states=states)
            if t.user_attrs.get("fidelity") == 1.0 and t.user_attrs.get("phase") == "final"
        }

    complete = finals(optuna.trial.TrialState.COMPLETE)
    queued = finals(optuna.trial.TrialState.WAITING, optuna.trial.TrialState.RUNNING)
    # A final enqueued by an earlier, killed process is measured too, whatever the picks now.
    pending = [key for key in dict.fromkeys([*keys, *sorted(queued)]) if key not in complete]
    summaries = run_rounds(ostudy, pending, runner, progress)
    for key in pending:
        if key not in queued:
            attrs: dict[str, Any] = {"phase": "final", "fidelity": 1.0, "knobs": key}
            attrs["rounds"] = True
            if key in near:
                attrs["near_miss"] = True
            ostudy.enqueue_trial(space.params_of(parse_bundle(key)), user_attrs=attrs)
    recorder = dataclasses.replace(runner, run_fn=Measured(summaries, space))
    while finals(optuna.trial.TrialState.WAITING):
        ostudy.optimize(recorder, n_trials=1, catch=(StageFailedError, GreensearchError))


def _open_meter(name: str, idle_seconds: float) -> Any:
    from greensearch.energy import make_meter, measure_idle_power

    meter = make_meter(name)
    if idle_seconds > 0:
        measure_idle_power(meter, seconds=idle_seconds)
    return meter


def _checker_factory(registry: Any) -> Callable[[Any, float], Any]:
    from greensearch.search._checking import checker_from_study

    def factory(ostudy: Any, fidelity: float) -> Any:
        return checker_from_study(registry, ostudy, fidelity)

    return factory


def _spawn_workers(
    n: int,
    cfg: StudyConfig,
    url: str,
    name: str,
    budget: float,
    sampler: str,
    fidelity: float,
    total: int,
    prune: bool,
    seed: int,
    include: list[str] | None,
    exclude: list[str] | None,
    *,
    meter_name: str | None = None,
    threads: int | None = None,
) -> list[Any]:
    """Start ``n`` extra worker processes on the same storage (search phase only).

    Each gets the same meter (a resume with another would be refused) and, through
    ``GREENSEARCH_TORCH_THREADS``, its share of the cores, as this process took its own.
    """
    if n <= 0:
        return []
    if url.startswith("sqlite"):
        logger.warning("several workers on SQLite contend for one file lock; prefer PostgreSQL")
    procs = []
    for i in range(n):
        cmd = [
            sys.executable,
            "-m",
            "greensearch",
            "-q",
            "optimize",
            "--storage",
            url,
            "--study-name",
            name,
            "--budget-f1",
            f"{budget:g}%",
            "--sampler",
            sampler,
            "--fidelity",
            str(fidelity),
            "--n-trials",
            str(total),
            "--seed",
            str(seed + i + 1),
            "--search-only",
            "--idle-seconds",
            "0",
        ]
        if cfg.source and Path(cfg.source).is_file():
            cmd += ["--study", cfg.source]
        if not prune:
            cmd.append("--no-prune")
        if include:
            cmd += ["--include", ",".join(include)]
        if exclude:
            cmd += ["--exclude", ",".join(exclude)]
        if meter_name is not None:
            cmd += ["--meter", meter_name]
        env = dict(os.environ)
        if threads is not None:
            env[THREADS_ENV] = str(threads)
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env))
    return procs
