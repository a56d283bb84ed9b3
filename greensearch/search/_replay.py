"""Replay a measured (or modelled) landscape instead of training: searches in seconds.

A landscape maps each knob set to its energy, time and F1 at full fidelity. The replay
runner answers the search's requests from it, shaped exactly like real run summaries,
so the search logic, the benchmarks and the tests exercise the same code path as a
real study without spending energy on training. An optional :class:`ReplayNoise` shapes
each run as a real machine would (drift over the run order, short-run bias, seed spread)
and may hand it test-set predictions, so the search's paired bootstrap judges replayed
runs as it judges real ones.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from greensearch.knobs import Bundle, format_bundle
from greensearch.pipeline import eval_count, summarize
from greensearch.schema import WINDOWS
from greensearch.stats import RunPredictions

__all__ = ["Point", "ReplayNoise", "ReplayRunner", "RunNoise"]

#: Smallest factor the per-run noise may apply (a run never costs nothing or less).
_MIN_JITTER = 0.05


@dataclass(frozen=True, slots=True)
class Point:
    """One knob set's full-fidelity figures; ``train_share`` of them scale with steps.

    ``short_run_f1``: the F1 a shortened run (fidelity < 1) reaches, where it differs
    from the full run's (a short run's F1 is a noisy proxy).
    """

    energy_kwh: float
    duration_s: float
    f1: float
    degenerate: bool = False
    train_share: float = 0.8
    short_run_f1: float | None = None


@dataclass(frozen=True, slots=True)
class RunNoise:
    """How one replayed run departs from its point.

    Attributes:
        energy_factor: Multiplies the run's energy and time (drift, short-run bias).
        f1: The run's F1 (replaces the point's).
        predictions: The run's test-set predictions, kept in its record like a real run's
            (``None``: the record keeps none, and F1 verdicts fall back to point estimates).
    """

    energy_factor: float
    f1: float
    predictions: RunPredictions | None = None


class ReplayNoise(Protocol):
    """Draws each run's departure from the landscape (see :class:`RunNoise`)."""

    def run(
        self, key: str, point: Point, *, fidelity: float, seed: int, clock_s: float
    ) -> RunNoise:
        """The noise of one run of ``key`` with training seed ``seed``.

        ``clock_s``: seconds of runs the replay has answered before this one (the time
        axis of drift).
        """
        ...


@dataclass
class ReplayRunner:
    """Callable like :func:`greensearch.pipeline.run_variant`, answering from a landscape.

    Attributes:
        landscape: Canonical bundle text (``format_bundle``) → :class:`Point`.
        noise_rel: Relative Gaussian noise on each run's energy and time (factor
            truncated at 0.05, so no run is free or negative).
        seed: Seed of the noise.
        fail: Bundles (canonical text) whose run raises, to test crash handling.
        planned_steps: Training steps of a full run.
        calls: Every request, in order: ``(bundle text, fidelity, repeats)``.
        machine: The ``machine`` each record names (a ``Machine.to_dict()``); none when
            ``None``, so the search's machine checks have nothing to compare.
        noise: Shapes each run on top of ``noise_rel`` (``None``: the point as it is).
        clock_s: Seconds of runs answered so far (each run's duration, after noise).
        test_examples: The test split's size, so a short run predicts the share a real one
            does (``greensearch.pipeline._eval_subset``) and its eval window costs that
            share; ``None``: every run predicts the whole split (the eval window a fixed
            ``1 - train_share`` of the point).
    """

    landscape: Mapping[str, Point]
    noise_rel: float = 0.0
    seed: int = 0
    fail: Mapping[str, Exception] = field(default_factory=dict)
    planned_steps: int = 100
    calls: list[tuple[str, float, int]] = field(default_factory=list)
    on_call: Callable[[str], None] | None = None
    machine: dict[str, Any] | None = None
    noise: ReplayNoise | None = None
    clock_s: float = 0.0
    test_examples: int | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def __call__(
        self,
        study: Any,
        bundle: Bundle,
        *,
        repeats: int = 1,
        fidelity: float = 1.0,
        first_repeat: int = 0,
        **_: Any,
    ) -> dict[str, Any]:
        key = format_bundle(bundle)
        self.calls.append((key, fidelity, repeats))
        if self.on_call is not None:
            self.on_call(key)
        if key in self.fail:
            raise self.fail[key]
        point = self.landscape[key]
        steps = max(1, round(self.planned_steps * fidelity))
        # repeat r trains with seed study.seed + r, as run_variant numbers them
        base_seed = int(getattr(study, "seed", 0) or 0)
        return summarize(
            [
                self._record(key, point, fidelity, steps, base_seed + r)
                for r in range(first_repeat, first_repeat + repeats)
            ]
        )

    def _record(self, key: str, p: Point, fidelity: float, steps: int, seed: int) -> dict[str, Any]:
        # Gaussian, truncated so that a very noisy landscape never yields a negative run
        jitter = (
            max(1.0 + self._rng.gauss(0.0, self.noise_rel), _MIN_JITTER) if self.noise_rel else 1.0
        )
        drawn = (
            self.noise.run(key, p, fidelity=fidelity, seed=seed, clock_s=self.clock_s)
            if self.noise is not None
            else None
        )
        if drawn is not None:
            jitter *= drawn.energy_factor
        frac = steps / self.planned_steps
        predicted = self._predicted(fidelity)
        share = predicted / self.test_examples if predicted and self.test_examples else 1.0
        fixed_e = p.energy_kwh * (1 - p.train_share) * share
        fixed_t = p.duration_s * (1 - p.train_share) * share
        train_e, train_t = p.energy_kwh * p.train_share * frac, p.duration_s * p.train_share * frac
        stages = {
            name: {"energy_kwh": 0.0, "net_energy_kwh": 0.0, "duration_s": 0.0, "co2_kg": 0.0}
            for name in WINDOWS
        }
        stages["train"].update(energy_kwh=train_e * jitter, duration_s=train_t * jitter)
        stages["eval"].update(energy_kwh=fixed_e * jitter, duration_s=fixed_t * jitter)
        energy = (fixed_e + train_e) * jitter
        f1 = p.short_run_f1 if fidelity < 1 and p.short_run_f1 is not None else p.f1
        if drawn is not None:
            f1 = drawn.f1
        duration = (fixed_t + train_t) * jitter
        self.clock_s += duration
        kept = drawn.predictions if drawn is not None else None
        return {
            "study": "replay",
            "knobs": key,
            "notes": [],
            "stages": stages,
            "energy_kwh": energy,
            "net_energy_kwh": energy,
            "duration_s": duration,
            "co2_kg": 0.0,
            "metrics": {"f1": f1, "f1_weighted": f1, "accuracy": f1, "degenerate": p.degenerate},
            "meter": {"name": "replay", "method": "estimated"},
            **({"machine": dict(self.machine)} if self.machine else {}),
            "fidelity": fidelity,
            "train_steps": steps,
            "planned_steps": self.planned_steps,
            "seed": seed,
            **({"predictions": kept.to_record()} if kept is not None else {}),
            **(
                {"eval_examples": predicted, "test_examples": self.test_examples}
                if predicted
                else {}
            ),
        }

    def _predicted(self, fidelity: float) -> int | None:
        """Test examples a run at ``fidelity`` predicts (``None``: no split size given)."""
        if self.test_examples is None:
            return None
        return eval_count(self.test_examples, fidelity)
