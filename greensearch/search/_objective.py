"""One Optuna trial: sample a bundle, skip it if known or predicted bad, else measure it.

Several workers may share one study, so every decision here reads the shared storage:
the lowest-numbered trial that claims a knob set at a fidelity measures it and any later
claim reuses its figures (waiting for it if it is still running); ΔF1 and ΔEnergy are
taken against the baseline trial at the same fidelity.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.config import StudyConfig
from greensearch.exceptions import GreensearchError, MeasurementError, MixedMachinesError
from greensearch.machine import Machine
from greensearch.record import (
    TrialRecord,
    attrs_of,
    claims,
    completed_at,
    copied_attrs,
    mark,
    records,
    store_figures,
    unsampled,
)
from greensearch.schema import Phase, TrialAttr
from greensearch.search._anchors import anchor_due, drift_factor
from greensearch.search._extrapolate import trial_attrs
from greensearch.search._f1_judging import (
    f1_judgement,
    learned_nothing,
    power_pct,
    resolution_pct,
)
from greensearch.search._liveness import fail_dead_trials
from greensearch.search._machines import (
    BASELINE_MACHINE_ATTR,
    TRIAL_MACHINE_ATTR,
    refusal,
    remember_baseline_machine,
)
from greensearch.search._settings import DEFAULT_CONFIDENCE
from greensearch.search._shared_windows import (
    fill_skipped,
    fillable,
    measures_windows,
    shared_estimate,
)
from greensearch.search._space import SearchSpace
from greensearch.stats import task_metric

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial, Trial

    from greensearch.energy import Meter
    from greensearch.interactions._model import OrthogonalityChecker
    from greensearch.knobs import Bundle, KnobRegistry
    from greensearch.stats import Design

__all__ = ["F1_LOSS_DEGENERATE", "TrialRunner"]

logger = logging.getLogger(__name__)

#: Constraint value of a degenerate model: infeasible whatever the budget.
F1_LOSS_DEGENERATE = 1e6


@dataclass
class TrialRunner:
    """The objective function handed to ``study.optimize``.

    Attributes:
        study_cfg: The task every trial runs.
        space: Knob values the sampler may pick.
        budget_pct: Largest accepted F1 loss, in percent of the baseline's F1.
        meter: Energy meter shared by all trials of this worker.
        fidelity: Fraction of training steps of a search trial.
        baseline_repeats: Runs of the baseline at search fidelity (to estimate noise).
        repeats: Runs of each finalist (and the baseline) at full fidelity.
        checker_factory: Builds the orthogonality checker from completed trials; ``None``
            disables learned pruning.
        results_path: JSON Lines file every run is appended to.
        poll_s: How often to look for a trial another worker is running.
        wait_timeout_s: Longest wait for another worker's trial.
        run_fn: Replaces :func:`greensearch.pipeline.run_variant` (replayed landscapes).
        machine: This process's machine: trials are refused before they measure when the
            study's baseline ran on another (``None``: unknown, as in replays).
        refused: Set to the refusal's message when a trial was refused for its machine,
            so the search stops instead of failing every later trial the same way.
        confidence: Confidence of the one-sided ΔF1 bounds behind each F1 verdict.
        anchor_every: One baseline anchor per this many measured search trials, against
            drift (0: none; see ``_anchors``).
        share_windows: Estimate each window a search trial's knobs leave alone from every
            run of the same work (see ``_shared_windows``); runners whose windows are not
            measured (replays) are left as they are.
        max_rounds: The finals' last round: rounds beyond ``repeats`` are added while a
            finalist is undecided (see ``_sequential``); ``repeats`` or less: fixed rounds.
    """

    study_cfg: StudyConfig
    space: SearchSpace
    budget_pct: float
    meter: Meter | None
    fidelity: float = 1.0
    baseline_repeats: int = 3
    repeats: int = 3
    checker_factory: Callable[[Study, float], OrthogonalityChecker] | None = None
    results_path: str | Path | None = None
    poll_s: float = 2.0
    wait_timeout_s: float = 6 * 3600.0
    run_fn: Callable[..., dict[str, Any]] | None = None
    machine: Machine | None = None
    refused: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    anchor_every: int = 0
    share_windows: bool = True
    max_rounds: int = 3
    _warm: bool = False

    def __call__(self, trial: Trial) -> tuple[float, float]:
        try:
            return self._measure(trial)
        except KeyboardInterrupt:  # Optuna marks it failed; the next start retries it
            mark(trial, TrialAttr.INTERRUPTED, True)
            raise

    def _measure(self, trial: Trial) -> tuple[float, float]:
        import optuna

        mark(trial, TrialAttr.STARTED, trial.number)  # first: see search._liveness
        mark(trial, TrialAttr.WORKER, f"{socket.gethostname()}:{os.getpid()}")
        if self.machine is not None:
            self._check_machine(trial, self.machine.fingerprint, self.machine.summary())
        queued = TrialRecord.from_trial(trial)
        phase = queued.phase or Phase.SAMPLER
        fidelity = queued.fidelity if queued.fidelity is not None else self.fidelity
        bundle = self.space.sample(trial)
        key = self.space.key(bundle)
        for name, value, was in (
            (TrialAttr.PHASE, phase, queued.phase),
            (TrialAttr.FIDELITY, fidelity, queued.fidelity),
            (TrialAttr.KNOBS, key, queued.knobs),
        ):
            if was != value:  # enqueued seeds carry them already
                mark(trial, name, value)
        # A final trial pairs with, and reuses, only trials of its own invocation's rounds.
        generation = queued.generation
        prior = self._wait_for_claim(trial, key, fidelity, generation)
        if prior is not None:
            return self._reuse(trial, prior)
        baseline = None if not bundle else self._wait_for_baseline(trial, fidelity, generation)
        if phase == Phase.SAMPLER and self.checker_factory is not None and bundle:
            verdict = self.checker_factory(trial.study, fidelity).verdict(bundle)
            if verdict.prune:
                reason = "; ".join(verdict.reasons) or "predicted worse than a subset"
                mark(trial, TrialAttr.PRUNED_REASON, reason)
                raise optuna.TrialPruned(reason)
        from greensearch.pipeline import run_variant

        run = measure = self.run_fn or run_variant
        if self._skips_validation(bundle, phase, fidelity, baseline):  # estimated instead
            measure = functools.partial(run_variant, validate=False)
        repeats = 1
        if not bundle:
            repeats = self.repeats if phase == Phase.FINAL else self.baseline_repeats
        elif phase == Phase.FINAL:
            repeats = self.repeats
        try:  # the warm-up too: its failure is this trial's, with the real reason stored
            if self.run_fn is None:
                self.warm()
            summary = measure(
                self.study_cfg,
                bundle,
                repeats=repeats,
                meter=self.meter,
                fidelity=fidelity,
                results_path=self.results_path,
                variant=f"trial-{trial.number}",
                registry=self.space.registry,
            )
            attrs = trial_attrs(summary)
            self._check_measured_machine(trial, summary.get("machine"), baseline, bundle)
            base = attrs if baseline is None else attrs_of(baseline)
            if baseline is not None and phase != Phase.FINAL:
                done = records(completed_at(trial.study, fidelity))
                attrs.update(fill_skipped(self.space.registry, bundle, attrs, done))
                attrs.update(self._shared(bundle, attrs, done))
                attrs.update(self._anchored(trial, run, base, fidelity, attrs, done))
            attrs.update(_deltas(attrs, base, self.budget_pct, fidelity))
            if not bundle:
                attrs.update(self._resolution(attrs, fidelity, final=phase == Phase.FINAL))
            attrs.update(
                f1_judgement(
                    attrs,
                    base,
                    budget_pct=self.budget_pct,
                    # a final is judged at the look that ended its rounds (_sequential)
                    confidence=float((queued.look or {}).get("confidence", self.confidence)),
                    point_loss_pct=attrs["f1_loss_pct"],
                    min_seeds=2 if phase == Phase.FINAL else 1,  # no full-run verdict on 1 seed
                ).to_attrs()
            )
        except GreensearchError as err:
            mark(trial, TrialAttr.ERROR, str(err))
            raise
        attrs[TrialAttr.TARGETS] = {n: list(self.space.registry.get(n).targets) for n in bundle}
        _store(trial, attrs)
        return attrs["energy_kwh"], attrs["f1_loss_pct"]

    def _check_machine(self, trial: Any, fingerprint: str | None, summary: str) -> None:
        """Refuse a trial of ``fingerprint`` in a study whose baseline ran on another machine."""
        stored = trial.study.user_attrs.get(BASELINE_MACHINE_ATTR)
        if fingerprint is None or stored is None or stored.get("fingerprint") == fingerprint:
            return
        self.refused = refusal(trial.study.study_name, stored, fingerprint, summary)
        mark(trial, TrialAttr.ERROR, self.refused)
        raise MixedMachinesError(self.refused)

    def _check_measured_machine(
        self, trial: Any, machine: dict[str, Any] | None, baseline: Any | None, bundle: Bundle
    ) -> None:
        """The machine that measured this trial is the baseline's (checked before storing).

        A worker that started before the study had a baseline passed the first check; its
        trial's machine is compared with the baseline trial's own record here.
        """
        if not machine or not machine.get("fingerprint"):
            return  # a replay or an old record: nothing to compare
        if baseline is not None:
            base = attrs_of(baseline).get(TRIAL_MACHINE_ATTR)
            if base is not None and base != machine["fingerprint"]:
                stored = trial.study.user_attrs.get(BASELINE_MACHINE_ATTR) or {"fingerprint": base}
                self.refused = refusal(
                    trial.study.study_name,
                    stored,
                    machine["fingerprint"],
                    machine.get("summary", "?"),
                )
                mark(trial, TrialAttr.ERROR, self.refused)
                raise MixedMachinesError(self.refused)
        self._check_machine(trial, machine["fingerprint"], machine.get("summary", "?"))
        if not bundle:
            remember_baseline_machine(trial.study, machine)

    def raise_if_refused(self) -> None:
        """Re-raise a machine refusal that ``study.optimize`` caught as a failed trial.

        Raises:
            MixedMachinesError: a trial of this process was refused for its machine.
        """
        if self.refused is not None:
            raise MixedMachinesError(self.refused)

    def warm(self) -> None:
        """One unmeasured warm-up run, once per process, before the first measured one."""
        if not self._warm:
            _warm_up_run(self.study_cfg, self.space.registry)
            self._warm = True

    def _resolution(self, base: dict[str, Any], fidelity: float, *, final: bool) -> dict[str, Any]:
        """The baseline's F1 resolution and power for the comparisons it will judge (a
        search trial's single run against its seeds; in the finals, seeds against seeds);
        one warning line when the budget is finer than the power.
        """
        design: Design = "n_vs_n" if final else "one_vs_n"
        found = resolution_pct(base, confidence=self.confidence, design=design)
        power = power_pct(base, confidence=self.confidence, design=design)
        if power is not None and self.budget_pct < power:
            metric = TrialRecord.from_attrs(base).metric or "f1"
            logger.warning(
                "at fidelity %g this task resolves %s losses of %.2f%% at best and confirms "
                "a lossless bundle 80%% of the time from %.2f%% (%d baseline seeds, %s, %d%% "
                "confidence), more than the %.2f%% budget: few bundles can be confirmed "
                "feasible; raise --repeats, use a larger test split or loosen --budget-f1",
                fidelity,
                task_metric(metric).label,
                found,
                power,
                len(base.get("seeds") or []),
                design.replace("_", "-"),
                round(100 * self.confidence),
                self.budget_pct,
            )
        return {"f1_resolution_pct": found, "f1_power_pct": power, "f1_resolution_design": design}

    def _wait_for_claim(
        self, trial: Trial, key: str, fidelity: float, generation: int | None = None
    ) -> FrozenTrial | None:
        """The earlier trial measuring this knob set at this fidelity, once it is finished.

        The lowest-numbered trial of a knob set measures it. A lower-numbered running trial
        that has not recorded its knob set yet may still pick this one, so this trial waits
        until it has; otherwise both would measure the same knob set.
        """
        import optuna

        deadline = time.monotonic() + self.wait_timeout_s
        while True:
            earlier = [
                t
                for t in _claims(trial.study, key, fidelity, generation)
                if t.number < trial.number
            ]
            done = [t for t in earlier if t.state == optuna.trial.TrialState.COMPLETE]
            if done:
                return done[0]
            running = [t for t in earlier if t.state == optuna.trial.TrialState.RUNNING]
            running += _unsampled(trial.study, before=trial.number)
            if not running:
                return None
            if time.monotonic() > deadline:
                raise MeasurementError(f"gave up waiting for trial {running[0].number} ({key})")
            fail_dead_trials(trial.study)
            time.sleep(self.poll_s)

    def _wait_for_baseline(
        self, trial: Trial, fidelity: float, generation: int | None = None
    ) -> FrozenTrial:
        import optuna

        study = trial.study
        deadline = time.monotonic() + self.wait_timeout_s
        while True:
            claims = _claims(study, "", fidelity, generation)
            done = [t for t in claims if t.state == optuna.trial.TrialState.COMPLETE]
            if done:
                return done[0]
            if claims and all(t.state == optuna.trial.TrialState.WAITING for t in claims):
                _defer(trial, "its baseline is queued behind it (the retry of a killed run)")
            if (
                not any(
                    t.state in (optuna.trial.TrialState.RUNNING, optuna.trial.TrialState.WAITING)
                    for t in claims
                )
                or time.monotonic() > deadline
            ):
                why = _baseline_failure(study, fidelity, generation)
                if why:  # its reason, or a finalist would read "its final trial failed" only
                    why = f"its baseline failed: {why}"
                    mark(trial, TrialAttr.ERROR, why)
                    raise MeasurementError(why)
                raise MeasurementError(
                    f"no baseline measured at fidelity {fidelity:g}; rerun `greensearch optimize` "
                    "(it measures the baseline first)"
                )
            fail_dead_trials(study)
            time.sleep(self.poll_s)

    def _skips_validation(
        self, bundle: Bundle, phase: str, fidelity: float, baseline: FrozenTrial | None
    ) -> bool:
        """Whether a run leaves out its validation passes (``_shared_windows``).

        Only a short search run of the staged pipeline whose windows are shared, and only
        where the window can be filled in: the baseline at this fidelity measured it, and
        either the trial validates the baseline's model or its eval window is a forward
        pass of the same model (``fillable``). Baselines, anchors and finals validate.
        """
        return (
            bool(bundle)
            and fidelity < 1
            and phase != Phase.FINAL
            and self.run_fn is None
            and self.share_windows
            and baseline is not None
            and fillable(self.space.registry, bundle, "validate", attrs_of(baseline))
        )

    def _shared(
        self, bundle: Bundle, attrs: dict[str, Any], done: list[TrialRecord]
    ) -> dict[str, Any]:
        """The trial's energy with the windows its knobs leave alone shared (or ``{}``).

        ``done``: the measured trials complete at its fidelity (``completed_at``).
        """
        if not self.share_windows or not measures_windows(self.run_fn):
            return {}
        return shared_estimate(self.space.registry, bundle, attrs, done)

    def _anchored(
        self,
        trial: Trial,
        run: Callable[..., dict[str, Any]],
        base: dict[str, Any],
        fidelity: float,
        attrs: dict[str, Any],
        done: list[TrialRecord],
    ) -> dict[str, Any]:
        """The trial's energy scaled to the baseline's time by the latest anchor (and this
        trial's own anchor run, when one is due, with its cost).

        ``done``: the measured trials complete at its fidelity; those numbered before it
        count (the anchors read only measured runs, so reused ones never did).
        """
        before = [r for r in done if r.number < trial.number]
        own = None
        figures: dict[str, Any] = {}
        if anchor_due(before, self.anchor_every):
            anchor = trial_attrs(
                run(
                    self.study_cfg,
                    {},
                    repeats=1,
                    meter=self.meter,
                    fidelity=fidelity,
                    results_path=self.results_path,
                    variant=f"trial-{trial.number}-anchor",
                    registry=self.space.registry,
                )
            )
            own = float(anchor["energy_kwh"])
            figures["anchor_energy_kwh"] = own
            figures["energy_kwh_spent"] = attrs["energy_kwh_spent"] + anchor["energy_kwh_spent"]
            figures["duration_s_spent"] = attrs["duration_s_spent"] + anchor["duration_s_spent"]
        factor = drift_factor(before, float(base["energy_kwh"]), own)
        if factor != 1.0:
            figures["drift_factor"] = factor
            figures["energy_kwh_measured"] = attrs["energy_kwh"]
            figures["energy_kwh"] = attrs["energy_kwh"] * factor
        return figures

    @staticmethod
    def _reuse(trial: Trial, prior: FrozenTrial) -> tuple[float, float]:
        attrs = attrs_of(prior)
        for name in (
            TrialAttr.PHASE,
            TrialAttr.KNOBS,
            TrialAttr.FIDELITY,
            TrialAttr.TARGETS,
            TrialAttr.REUSED_FROM,
            TrialAttr.STARTED,
            TrialAttr.WORKER,
            "anchor_energy_kwh",  # the anchor ran before the prior trial, not this one
        ):
            attrs.pop(name, None)
        attrs.update(energy_kwh_spent=0.0, duration_s_spent=0.0)
        mark(trial, TrialAttr.REUSED_FROM, prior.number)
        _store(trial, attrs)
        return prior.values[0], prior.values[1]


def _warm_up_run(study: StudyConfig, registry: KnobRegistry) -> None:
    """One short, unrecorded run before the first measured trial of a process.

    The first run of a process pays one-off costs (kernel and allocator warm-up, file
    caches) that would otherwise land on whichever trial comes first — the baseline — and
    make every knob look better than it is.
    """
    from greensearch.energy import UnmeteredMeter
    from greensearch.pipeline import run_once

    logger.info("warm-up run (not measured, not recorded)")
    run_once(study, {}, meter=UnmeteredMeter(), registry=registry, fidelity=0.01, keep_model=False)


def _defer(trial: Trial, why: str) -> None:
    """Queue this trial again after what it waits for, then end it (retried, not lost).

    Optuna runs queued trials oldest first, so a killed baseline's retry comes after the
    trials queued while it ran; a trial that waited for it would wait forever in the one
    process that could run it. The copy carries Optuna's retry mark, so the trial counts
    once.

    Raises:
        MeasurementError: always; the trial ends failed and its copy stands for it.
    """
    import optuna

    trial.study.add_trial(
        optuna.trial.create_trial(
            state=optuna.trial.TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs=copied_attrs(trial),
            system_attrs={"failed_trial": trial.number},  # RetryFailedTrialCallback's mark
        )
    )
    mark(trial, TrialAttr.DEFERRED, why)
    raise MeasurementError(f"trial {trial.number} deferred: {why}")


def _store(trial: Trial, attrs: dict[str, Any]) -> None:
    """Write a measurement, and the F1 constraint for the sampler."""
    store_figures(trial, attrs)
    if hasattr(trial, "set_constraint"):
        trial.set_constraint("f1_budget", float(attrs["constraint"][0]))


def _claims(
    study: Study, key: str, fidelity: float, generation: int | None = None
) -> list[FrozenTrial]:
    """Trials of ``key`` at ``fidelity``; a final phase's ``generation`` (its invocation)
    matches only its own final trials, search trials only those without one."""
    import optuna

    states = (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.RUNNING,
        optuna.trial.TrialState.WAITING,
    )
    return claims(study.get_trials(deepcopy=False, states=states), key, fidelity, generation)


def _baseline_failure(study: Study, fidelity: float, generation: int | None) -> str | None:
    """Why the latest failed baseline run at ``fidelity`` failed (``None``: none did)."""
    import optuna

    failed = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.FAIL,))
    reasons = [TrialRecord.from_trial(t).error for t in claims(failed, "", fidelity, generation)]
    return next((why for why in reversed(reasons) if why), None)


def _unsampled(study: Study, *, before: int) -> list[FrozenTrial]:
    """The running trials numbered below ``before`` that have not recorded their knob set."""
    import optuna

    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return [t for t in unsampled(running) if t.number < before]


def _deltas(
    attrs: dict[str, Any], base: dict[str, Any], budget_pct: float, fidelity: float
) -> dict[str, Any]:
    empty = learned_nothing(base, fidelity)
    if empty:
        raise MeasurementError(empty)
    loss = (base["f1"] - attrs["f1"]) / base["f1"] * 100.0
    constraint = F1_LOSS_DEGENERATE if attrs["degenerate"] else loss - budget_pct
    return {
        "f1_loss_pct": loss,
        "delta_f1_pct": -loss,
        "delta_energy_pct": (attrs["energy_kwh"] / base["energy_kwh"] - 1.0) * 100.0,
        "delta_time_pct": (attrs["duration_s"] / base["duration_s"] - 1.0) * 100.0,
        "constraint": [constraint],
        "feasible": constraint <= 0,
    }
