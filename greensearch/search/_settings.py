"""``SearchSettings``: everything that decides what a search does, checked once, frozen.

Why one object rather than a keyword list: extra worker processes must run the very same
search as the main process. A frozen, validated dataclass that round-trips through JSON
hands them all of it (meter, results file, baseline repeats, the study itself, the knob
registry's identity), where a command line rebuilt by hand had dropped some. What cannot
travel between processes (an in-memory storage, a meter object, a replay runner, a
progress callback) is not a setting: ``optimize`` takes those as arguments.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

from greensearch._budget import parse_f1_budget
from greensearch.config import StudyConfig, load_study, study_from_dict
from greensearch.exceptions import ConfigError, PreflightError
from greensearch.knobs import KnobRegistry, default_registry
from greensearch.preflight import idle_seconds_problem

__all__ = ["METERS", "SAMPLERS", "SearchSettings", "load_registry"]

#: Optuna samplers ``optimize`` can build (``make_sampler``).
SAMPLERS = ("tpe", "nsga2", "gp", "random", "grid")

#: Meter names ``make_meter`` accepts.
METERS = ("auto", "nvml", "rapl", "codecarbon")

#: Confidence of the one-sided ΔF1 bounds behind every F1 verdict, unless set.
DEFAULT_CONFIDENCE = 0.95

#: Optuna's samplers seed numpy's ``RandomState``, which takes 0 .. 2**32 - 1.
_SEED_MAX = 2**32 - 1


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """What one search does; every field is checked when the object is made.

    This is the one validator and the one default of each search setting: the CLI and
    :func:`optimize` build it and report its problems, all at once.

    Attributes:
        study: The task (default: the embedded study).
        budget_f1_pct: The F1 budget as the user writes it: ``-1`` means "lose at most 1 %
            of the baseline's F1". A positive number or a text such as ``"-1%"`` is read
            as the same loss; the field always holds the loss's negative sign.
        n_trials: Search trials in the study, seeds included (default: seeds + 8).
        study_name: Optuna study name (default ``<study>-f1-<budget>``); the same name resumes.
        storage: Optuna storage URL (default ``sqlite:///studies/<study_name>.db``).
        sampler: One of :data:`SAMPLERS`.
        fidelity: Fraction of training steps per search trial (1.0: full runs).
        repeats: Full-fidelity rounds every finalist and the baseline get (the first
            look at the finalists' verdicts).
        max_rounds: The finals' last round: while a finalist's verdict is undecided (and
            it could still be confirmed and become the oracle), rounds are added up to
            this many, each look at its own share of the error rate so the level holds
            (``greensearch.search._sequential``). Equal to ``repeats``, or ``confidence``
            0.5 (the point-estimate rule): fixed rounds.
        baseline_repeats: Runs of the baseline at search fidelity (noise estimate).
        finalists: How many of the cheapest feasible bundles are re-measured; a slot no
            short run filled goes to the next uncertain bundle (unless ``near_misses`` is 0).
        near_misses: How many bundles whose short-run F1 verdict is uncertain, and that are
            cheaper than every finalist, are re-measured too (the short run's F1 may be
            pessimistic; the full-fidelity budget stays strict). Default 2: on the
            reliability replay a second slot named the best model more often for a
            little more cost, a third added little for as much again (figures in
            ``benchmarks/README.md``).
        defer_finals: Judge a dearer finals candidate only if the cheaper ones confirm
            nothing, where their chance of failing does not repay its rounds in the same
            phase (``search._deferral``); ``False``: every candidate in one phase.
        prune: Let the orthogonality checker skip combinations predicted to lose.
        guide: Run the bundle the checker's model ranks first within the budget while it
            has one to propose; the sampler takes the turns it has none for. ``None``: on,
            except with ``search_only``, so the main process alone proposes and no two
            processes enqueue the same bundle.
        meter: Meter name for ``make_meter`` (one of :data:`METERS`).
        idle_seconds: Idle power sampling before the first trial (0 skips).
        n_workers: Worker processes sharing the study (this one included).
        seed: Sampler seed (extra worker ``i`` uses ``seed + i``).
        include: Search only these knobs (empty: all available).
        exclude: Never search these knobs, on top of the study's ``search_exclude``.
        results_path: JSON Lines file every run is appended to (``None``: none).
        search_only: Stop after the search phase (extra workers).
        registry: ``"module:function"`` returning the knob registry (``None``: the
            built-in knobs); a name, so extra workers build the same registry.
        confidence: Confidence of the one-sided ΔF1 bounds behind every F1 verdict
            (finalists, oracle); 0.5 is the point-estimate rule.
        allow_mixed_machines: Let a machine other than the one that measured the study's
            baseline join: it works in its own study ``<study_name>@<fingerprint>``, with
            its own baseline (recorded in the named study, so later runs do the same).
        anchor_every: One short baseline run (an anchor) per this many measured search
            trials; each trial's energy is scaled by baseline / latest anchor, so drift
            since the start does not decide its ratio (0: no anchors).
        share_windows: Estimate each window a search trial's knobs leave alone (the
            eval window of a training knob) from every run that did the same work, so one
            run's drift there does not decide its ratio (``search._shared_windows``);
            a short run of the built-in pipeline then also leaves out a validation pass
            whose window can be estimated alike (``_shared_windows.fillable``).
        warm_start: An earlier study (same storage) of the same task on a machine with the
            same fingerprint whose search trials a new study starts from (``None``: none).
        production_runs: How often the result will be run: the search stops when a
            further trial's expected saving over these runs no longer covers its own
            energy, a final phase that confirms nothing promotes the next bundle when
            these runs repay its rounds (``_promotion``), and the answer shows the total
            (search + runs x oracle) against runs x baseline. ``None``: the trial budget
            alone stops the search, and nothing is promoted.
        accept_changed_settings: Resume a study whose stored budget, confidence,
            fidelity, study file, knob space or meter differ (the change is recorded in
            the study); without it such a resume is refused.
    """

    study: StudyConfig = field(default_factory=StudyConfig)
    budget_f1_pct: float = -1.0
    n_trials: int | None = None
    study_name: str | None = None
    storage: str | None = None
    sampler: str = "tpe"
    fidelity: float = 0.25
    repeats: int = 3
    max_rounds: int = 6
    baseline_repeats: int = 3
    finalists: int = 1
    near_misses: int = 2
    prune: bool = True
    guide: bool | None = None
    meter: str = "auto"
    idle_seconds: float = 2.0
    n_workers: int = 1
    seed: int = 0
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    results_path: str | None = None
    search_only: bool = False
    registry: str | None = None
    confidence: float = DEFAULT_CONFIDENCE
    allow_mixed_machines: bool = False
    accept_changed_settings: bool = False
    production_runs: int | None = None
    anchor_every: int = 0
    share_windows: bool = True
    defer_finals: bool = True
    warm_start: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "include", tuple(self.include))
        object.__setattr__(self, "exclude", tuple(self.exclude))
        problems = self._problems()
        if problems:
            raise PreflightError(problems)

    def _problems(self) -> list[str]:
        """Every bad field, one line each; normalises the budget's sign on the way."""
        problems: list[str] = []
        if not isinstance(self.study, StudyConfig):
            problems.append(f"study must be a StudyConfig, got {type(self.study).__name__}")
        budget = self._budget(problems)
        if budget is not None:
            object.__setattr__(self, "budget_f1_pct", budget)
        if not 0 < self.fidelity <= 1:
            problems.append(f"--fidelity must be in (0, 1], got {self.fidelity:g}")
        for flag, value, least in (
            ("--repeats", self.repeats, 1),
            ("--baseline-repeats", self.baseline_repeats, 1),
            ("--finalists", self.finalists, 1),
            ("--near-misses", self.near_misses, 0),
            ("--n-workers", self.n_workers, 1),
            ("--anchor-every", self.anchor_every, 0),
        ):
            if value < least:
                problems.append(f"{flag} must be at least {least}, got {value}")
        if self.max_rounds < self.repeats:
            problems.append(
                f"--max-rounds must be at least --repeats ({self.repeats}), got {self.max_rounds}"
            )
        if self.production_runs is not None and self.production_runs < 1:
            problems.append(f"--production-runs must be at least 1, got {self.production_runs}")
        if self.n_trials is not None and self.n_trials < 1:
            problems.append(f"--n-trials must be at least 1, got {self.n_trials}")
        if self.sampler not in SAMPLERS:
            problems.append(f"unknown sampler '{self.sampler}'; use one of {', '.join(SAMPLERS)}")
        if self.meter not in METERS:
            problems.append(f"unknown meter '{self.meter}'; use one of {', '.join(METERS)}")
        if not 0.5 <= self.confidence < 1:
            problems.append(f"--confidence must be in [0.5, 1), got {self.confidence:g}")
        idle = idle_seconds_problem(self.idle_seconds)
        if idle:
            problems.append(idle)
        top = _SEED_MAX - max(self.n_workers - 1, 0)  # worker i seeds its sampler seed + i
        if not 0 <= self.seed <= top:
            problems.append(f"--seed must be in 0..{top} (the sampler's range), got {self.seed}")
        return problems

    def _budget(self, problems: list[str]) -> float | None:
        """The budget in the user's sign (``-1.0``), or ``None`` with its problem recorded."""
        budget: Any = self.budget_f1_pct
        if isinstance(budget, str):
            try:
                return parse_f1_budget(budget)
            except ConfigError as err:
                problems.append(str(err))
                return None
        if isinstance(budget, bool) or not isinstance(budget, int | float):
            problems.append(f"the F1 budget must be a number of percent, got {budget!r}")
            return None
        if not math.isfinite(budget) or abs(budget) > 100.0:
            problems.append(f"bad F1 budget {budget!r}%; a loss is a percentage up to 100")
            return None
        return 0.0 - abs(float(budget))  # 0.0, never -0.0, for a zero budget

    @property
    def max_f1_loss_pct(self) -> float:
        """The budget as the largest accepted F1 loss, non-negative (``1.0`` for ``-1``)."""
        return -self.budget_f1_pct

    @classmethod
    def for_study(cls, study: str | StudyConfig | None = None, **changes: Any) -> SearchSettings:
        """Settings for a study file, a :class:`StudyConfig` or the embedded study."""
        cfg = study if isinstance(study, StudyConfig) else load_study(study)
        return cls(study=cfg, **changes)

    def replace(self, **changes: Any) -> SearchSettings:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_json(self) -> str:
        """The settings as one JSON document, for a worker process (see :meth:`from_json`)."""
        data = dataclasses.asdict(self)
        data["study"] = self.study.to_dict()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SearchSettings:
        """Rebuild settings written by :meth:`to_json`, the study included.

        Raises:
            ConfigError: the text is not settings JSON.
        """
        try:
            data = json.loads(text)
            raw_study = dict(data.pop("study"))
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            raise ConfigError(f"not search settings JSON: {err}") from err
        source = str(raw_study.pop("source", ""))
        study = study_from_dict(raw_study, source=source)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown search setting(s) {', '.join(unknown)}")
        return cls(study=study, **data)


def load_registry(reference: str | None) -> KnobRegistry:
    """The knob registry a :attr:`SearchSettings.registry` reference names.

    Raises:
        ConfigError: the reference is not ``module:function`` or does not give a registry.
    """
    if reference is None:
        return default_registry()
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"bad registry reference {reference!r}; write module:function")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"cannot load registry {reference!r}: {err}") from err
    registry = factory()
    if not isinstance(registry, KnobRegistry):
        raise ConfigError(f"registry {reference!r} returned {type(registry).__name__}")
    return registry
