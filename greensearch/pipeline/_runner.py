"""Run one variant of a study: every stage under its own energy window, repeated N times.

This is the unit of measurement everything else in greensearch stands on. A run record
carries per-stage energy and time, the test metrics, the meter and whether its figure
is measured or estimated, and is appended to the results file as soon as it completes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, GreensearchError, StageFailedError
from greensearch.knobs import Bundle, format_bundle
from greensearch.machine import describe_machine
from greensearch.pipeline._scratch import scratch_folder
from greensearch.pipeline._stages import (
    STAGES,
    RunState,
    stage_data,
    stage_eval,
    stage_load,
    stage_save,
    stage_tokenize,
    stage_train,
)
from greensearch.pipeline._summary import summarize
from greensearch.results import save_record

__all__ = [
    "ALL_WINDOWS",
    "MeteredRun",
    "StageTotals",
    "repeat_runs",
    "repeat_seed",
    "run_once",
    "run_stages",
    "run_variant",
]

logger = logging.getLogger(__name__)

#: Windows of a record: the six stages plus validation during training.
ALL_WINDOWS: tuple[str, ...] = (*STAGES, "validate")

_STAGE_FUNCS: dict[str, Callable[[RunState], None]] = {
    "data": stage_data,
    "tokenize": stage_tokenize,
    "load": stage_load,
    "train": stage_train,
    "save": stage_save,
    "eval": stage_eval,
}


@dataclass
class StageTotals:
    """Energy and time of one window name, summed over its segments."""

    duration_s: float = 0.0
    energy_j: float = 0.0
    idle_energy_j: float = 0.0
    co2_kg: float = 0.0

    def add(self, m: Any) -> None:
        """Add one ``Measurement`` of the energy package (or another ``StageTotals``)."""
        self.duration_s += m.duration_s
        self.energy_j += m.energy_j
        self.idle_energy_j += m.idle_energy_j
        self.co2_kg += m.co2_kg

    def to_dict(self) -> dict[str, float]:
        """Record form, in kWh and seconds."""
        net = max(self.energy_j - self.idle_energy_j, 0.0)
        return {
            "energy_kwh": self.energy_j / 3.6e6,
            "net_energy_kwh": net / 3.6e6,
            "duration_s": self.duration_s,
            "co2_kg": self.co2_kg,
        }


class _Windows:
    """Opens and closes the meter's windows so that segments of one stage add up."""

    def __init__(self, meter: Any, names: tuple[str, ...] = ALL_WINDOWS) -> None:
        self.meter = meter
        self.totals = {name: StageTotals() for name in names}
        self._open: dict[str, str] = {}
        self._count = 0
        self.methods: set[str] = set()

    def begin(self, name: str) -> None:
        self._count += 1
        key = f"{name}#{self._count}"
        self._open[name] = key
        self.meter.begin(key)

    def end(self, name: str) -> None:
        measurement = self.meter.end(self._open.pop(name))
        self.methods.add(measurement.method)
        self.totals[name].add(measurement)

    def switch(self, closing: str, opening: str) -> None:
        self.end(closing)
        self.begin(opening)

    def abort(self) -> None:
        """Close whatever is still open after a crash, discarding the readings."""
        for key in list(self._open.values()):
            with contextlib.suppress(GreensearchError):
                self.meter.end(key)
        self._open.clear()


@dataclass(frozen=True, slots=True)
class MeteredRun:
    """The energy side of one run: per-window totals, the meter and the machine.

    Attributes:
        stages: Window name -> ``StageTotals.to_dict()`` (kWh and seconds).
        totals: The same over all windows: the whole run.
        meter: The record's ``meter`` entry (name, measured or estimated, idle power).
        machine: ``Machine.to_dict()`` of this process once the run's contexts were set.
        started_at: ISO time the first window opened.
    """

    stages: dict[str, dict[str, float]]
    totals: dict[str, float]
    meter: dict[str, Any]
    machine: dict[str, Any]
    started_at: str

    def record_fields(self) -> dict[str, Any]:
        """The run record's energy, time, meter and machine entries (whole run and per window)."""
        return {
            "started_at": self.started_at,
            "stages": self.stages,
            **self.totals,
            "meter": self.meter,
            "machine": self.machine,
        }


def run_stages(
    meter: Any,
    stages: Sequence[tuple[str, Callable[[], None]]],
    *,
    extra_windows: tuple[str, ...] = ("validate",),
    contexts: Sequence[Callable[[], contextlib.AbstractContextManager[Any]]] = (),
    on_windows: Callable[[_Windows], None] | None = None,
) -> MeteredRun:
    """Run ``stages`` in order, each under its own window of ``meter``.

    The one metering loop of every run (the staged pipeline, a user's Trainer, a user's
    script): a stage that raises closes its windows and becomes a ``StageFailedError``
    naming it; ``GreensearchError`` passes through unchanged.

    Args:
        meter: A ``greensearch.energy.Meter``.
        stages: ``(window name, function)`` pairs.
        extra_windows: Windows a stage may switch to (``validate`` inside ``train``).
        contexts: Context-manager factories entered around all stages (power limit).
        on_windows: Given the window keeper before the first stage (to switch windows).

    Raises:
        StageFailedError: a stage crashed; ``.stage`` names it.
    """
    names = tuple(dict.fromkeys([*(n for n, _ in stages), *extra_windows]))
    windows = _Windows(meter, names)
    if on_windows is not None:
        on_windows(windows)
    started = dt.datetime.now(dt.UTC)
    with contextlib.ExitStack() as stack:
        for factory in contexts:
            stack.enter_context(factory())
        machine = describe_machine()  # threads in use once the run's contexts are set
        for name, fn in stages:
            windows.begin(name)
            try:
                fn()
            except GreensearchError:
                windows.abort()
                raise
            except Exception as err:  # noqa: BLE001 - any crash inside a stage is reported as such
                windows.abort()
                raise StageFailedError(name, f"{type(err).__name__}: {err}") from err
            windows.end(name)
    total = StageTotals()
    for t in windows.totals.values():
        total.add(t)
    return MeteredRun(
        stages={name: windows.totals[name].to_dict() for name in names},
        totals=total.to_dict(),
        meter={
            "name": meter.name,
            "method": "measured" if windows.methods == {"measured"} else "estimated",
            "idle_power_w": getattr(meter, "idle_power_w", None),
            "details": dict(getattr(meter, "details", {}) or {}),
        },
        machine=machine.to_dict(),
        started_at=started.isoformat(timespec="seconds"),
    )


def run_once(
    study: StudyConfig,
    bundle: Bundle,
    *,
    meter: Any,
    registry: Any = None,
    output_dir: str | Path | None = None,
    show_progress: bool = False,
    fidelity: float = 1.0,
    keep_model: bool = True,
    seed: int | None = None,
    validate: bool = True,
) -> dict[str, Any]:
    """Run the six stages once under ``meter`` and return the run record.

    Args:
        study: The task.
        bundle: Knobs to apply (empty: the baseline).
        meter: An ``greensearch.energy.Meter``; its idle baseline should already be set.
        registry: Knob registry (default: the built-in one).
        output_dir: Where the model is saved; a temporary folder when ``None``.
        show_progress: Show the Trainer's progress bar on stderr.
        fidelity: Fraction of the planned training steps to run (multi-fidelity search);
            a short run also predicts that share of the test split (``_eval_subset``).
        keep_model: Keep the saved model on disk after the run.
        seed: Training seed (model init, data order, dropout); ``None``: the study's
            seed. The splits always use the study's seed.
        validate: Make the study's validation passes during training; ``False`` leaves
            them out unless a knob's own arguments ask for them (``skipped_windows`` in
            the record names the window left out).

    Raises:
        ConfigError: bad knob, data or model settings (nothing was measured).
        StageFailedError: a stage crashed; ``.stage`` names it.
    """
    if not 0 < fidelity <= 1:
        raise ConfigError(f"fidelity must be in (0, 1], got {fidelity}")
    if registry is None:
        from greensearch.knobs import default_registry

        registry = default_registry()
    plan = registry.plan(study, bundle)
    plan.max_steps_fraction = plan.eval_fraction = fidelity
    plan.train_seed = seed
    plan.validate = validate
    preload_imports()
    knobs = registry.canonical(bundle)
    with contextlib.ExitStack() as stack:
        # a temporary folder goes whatever way the run ends (kept only for a kept model)
        out = (
            Path(output_dir) if output_dir else stack.enter_context(scratch_folder(keep=keep_model))
        )
        state = RunState(plan=plan, output_dir=out, show_progress=show_progress)
        metered = run_stages(
            meter,
            [(name, functools.partial(_STAGE_FUNCS[name], state)) for name in STAGES],
            contexts=plan.run_contexts,
            on_windows=lambda w: setattr(state, "switch_window", w.switch),
        )
    model_dir = state.model_dir if keep_model else None
    return staged_record(study, knobs, state, metered, fidelity=fidelity, model_dir=model_dir)


def staged_record(
    study: StudyConfig,
    knobs: str,
    state: RunState,
    metered: MeteredRun,
    *,
    fidelity: float,
    model_dir: Path | None = None,
) -> dict[str, Any]:
    """The run record of a staged run (the pipeline's or around a user's Trainer)."""
    assert state.metrics is not None and state.predictions is not None
    skipped = state.extra.get("skipped_windows", [])
    fields = metered.record_fields()
    # a window the run left out is not measured: no zero stands in for it
    fields["stages"] = {n: s for n, s in fields["stages"].items() if n not in skipped}
    return {
        "study": study.name,
        "study_file": study.source,
        "knobs": knobs,
        "notes": state.plan.notes,
        **fields,
        "seed": state.plan.seed,
        "split_seed": study.seed,
        "metrics": state.metrics.to_dict(),
        "predictions": state.predictions.to_record(),
        "fidelity": fidelity,
        "train_steps": state.train_steps,
        "planned_steps": state.planned_steps,
        # a short run predicts a share of the test split; its eval window is scaled back
        "eval_examples": state.extra.get("eval_examples"),
        "test_examples": state.extra.get("test_examples"),
        "step_clock": state.extra.get("step_clock"),
        "eval_clock": state.extra.get("eval_clock_summary"),
        # windows this run left out (a short search run's validation): not measured, not zero
        "skipped_windows": skipped,
        "train_loss": state.extra.get("train_loss"),
        "model_dir": str(model_dir) if model_dir else None,
    }


def run_variant(
    study: StudyConfig,
    bundle: Bundle,
    *,
    repeats: int = 1,
    meter: Any,
    results_path: str | Path | None = None,
    output_root: str | Path | None = None,
    show_progress: bool = False,
    variant: str | None = None,
    fidelity: float = 1.0,
    on_repeat: Callable[[int, dict[str, Any]], None] | None = None,
    registry: Any = None,
    same_seed: bool = False,
    first_repeat: int = 0,
    validate: bool = True,
) -> dict[str, Any]:
    """Run a variant ``repeats`` times, appending each run record as it completes.

    Repeat ``r`` (from 0) trains with seed ``study.seed + r``, so the repeats sample the
    model's F1 over seeds as well as the meter's noise. ``same_seed`` repeats the study's
    seed every time: identical training, so only the meter's noise is sampled (meter
    studies). ``first_repeat`` numbers the repeats from there (a round of a comparison
    run in rounds is repeat ``r`` of each variant, with seed ``study.seed + r``).

    Returns the summary (means, with ``stats`` holding std and 95% CI per figure, F1
    with its interval over seeds and test examples, and ``runs`` holding the records).
    """
    root_is_new = output_root is not None and not Path(output_root).exists()

    def one(i: int, seed: int) -> dict[str, Any]:
        out = None
        if output_root is not None:
            tag = hashlib.sha1(format_bundle(bundle).encode()).hexdigest()[:8]
            stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            out = Path(output_root) / f"{study.name}-{tag}-{stamp}-r{i + 1}"
        try:
            return run_once(
                study,
                bundle,
                meter=meter,
                registry=registry,
                output_dir=out,
                show_progress=show_progress,
                fidelity=fidelity,
                keep_model=output_root is not None,
                seed=seed,
                validate=validate,
            )
        except BaseException:
            _remove_failed_run(out, output_root if root_is_new else None)
            raise

    return repeat_runs(
        one,
        seed=study.seed,
        repeats=repeats,
        first_repeat=first_repeat,
        variant=variant,
        results_path=results_path,
        same_seed=same_seed,
        on_repeat=on_repeat,
    )


def repeat_runs(
    run: Callable[[int, int], dict[str, Any]],
    *,
    seed: int,
    repeats: int,
    first_repeat: int = 0,
    variant: str | None = None,
    results_path: str | Path | None = None,
    same_seed: bool = False,
    on_repeat: Callable[[int, dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Call ``run(repeat, seed)`` per repeat, save each record at once, return the summary.

    The one repeat loop of every runner (the staged pipeline, a user's Trainer or
    script), so seeds, record numbering and the results file agree between them.

    Raises:
        ConfigError: ``repeats`` below 1.
    """
    if repeats < 1:
        raise ConfigError(f"--repeats must be at least 1, got {repeats}")
    records: list[dict[str, Any]] = []
    for i in range(first_repeat, first_repeat + repeats):
        record = run(i, seed if same_seed else repeat_seed(seed, i))
        record.update(
            {
                "variant": variant,
                "repeat": i + 1,
                "repeats": repeats,
                "seed_mode": "same" if same_seed else "seeded",
            }
        )
        if results_path is not None:  # first thing after the run: nothing measured is lost
            save_record(results_path, record)
        records.append(record)
        if on_repeat is not None:
            on_repeat(i + 1, record)
    return summarize(records)


def _remove_failed_run(out: Path | None, new_root: str | Path | None) -> None:
    """A failed run leaves no model folder, nor the root folder it alone created."""
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
    if new_root is not None:
        with contextlib.suppress(OSError):
            Path(new_root).rmdir()  # only if empty: earlier repeats' models stay


def repeat_seed(seed: int, repeat: int) -> int:
    """Training seed of repeat ``repeat`` (from 0) of a study seeded ``seed``."""
    return seed + repeat


def preload_imports() -> None:
    """Import what the stages import, outside any energy window.

    The stages import lazily (so ``greensearch --help`` stays instant); without this, the
    first run of a process would charge seconds of one-off imports to its ``tokenize``,
    ``load`` and ``train`` windows and make the baseline, usually first, look costlier.
    """
    import datasets  # noqa: F401
    import sklearn.metrics  # noqa: F401
    import transformers  # noqa: F401
    from transformers import (  # noqa: F401
        DataCollatorWithPadding,
        ModernBertForSequenceClassification,
        Trainer,
        TrainingArguments,
    )

    import greensearch.data  # noqa: F401
    import greensearch.pipeline._engines  # noqa: F401
