"""Clocks for the repeated work of a window, so a short run scales it and not the rest.

A short search run trains for a share of the planned steps and predicts a share of the
test split. Its train and eval windows hold one-off work beside the repeated steps or
batches (Trainer set-up, the first step's allocator and kernel warm-up, a compile; an
engine's model reload, export or quantization). Scaling a whole window multiplies that
work too: an ONNX export taking most of a short eval window was counted four times
(``benchmarks/README.md``). With the step or batch times, the full window is predicted as
``window - Σ intervals + first + (full count - 1) x steady interval``
(``greensearch.search._extrapolate``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

__all__ = ["BatchClock", "batch_ticks", "step_clock", "summarize"]


def summarize(times: Sequence[float], steady: Sequence[float]) -> dict[str, float] | None:
    """Intervals, their total, the first and a steady one: the 10 %-trimmed mean of
    ``steady`` (the later intervals fit to stand for the rest), so a one-off recompile or
    a stray slow interval does not set it."""
    if not times:
        return None
    later = sorted(steady) or list(times[:1])
    cut = len(later) // 10
    kept = later[cut : len(later) - cut]
    return {
        "n": len(times),
        "total_s": sum(times),
        "first_s": times[0],
        "steady_s": sum(kept) / len(kept),
    }


def step_clock() -> Any:
    """Times each optimizer step, so a short run extrapolates per step, not per window.

    The train window holds one-off costs (Trainer set-up, the first step's allocator and
    kernel warm-up, a compile) beside the steps. Scaling the whole window by
    ``planned / run steps`` multiplies those one-off costs too; with the step times, a
    short run predicts ``window - Σ steps + first + (planned - 1) x steady step``.
    A step is timed from the end of the previous one (the first from the start of
    training), so it includes fetching and padding its batches; validation passes inside
    an interval are subtracted (the trainer reports them through :meth:`exclude`). The
    steady step is a 10 %-trimmed mean of the later steps, so a one-off recompile in a
    short run is not multiplied by the planned steps.
    """
    from transformers import TrainerCallback

    class _StepClock(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []
            self._mark = 0.0
            self._excluded = 0.0

        def exclude(self, seconds: float) -> None:
            self._excluded += seconds

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            self._mark, self._excluded = time.perf_counter(), 0.0

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            now = time.perf_counter()
            self.times.append(max(now - self._mark - self._excluded, 0.0))
            self._mark, self._excluded = now, 0.0

        def summary(self) -> dict[str, float] | None:
            return summarize(self.times, self.times[1:])

    return _StepClock()


class BatchClock:
    """Intervals between predicted batches, the first from the clock's creation.

    An engine that predicts in batches calls :meth:`tick` after each; one that does not
    leaves the clock empty, and its short runs scale the window linearly.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self.batch_size = 0
        self._mark = time.perf_counter()

    def tick(self, batch_size: int) -> None:
        """A batch is predicted; ``batch_size`` is the engine's (the last may hold fewer)."""
        now = time.perf_counter()
        self.times.append(now - self._mark)
        self.batch_size = int(batch_size)
        self._mark = now

    def summary(self) -> dict[str, float] | None:
        """:func:`summarize` with the engine's batch size; the steady batch is taken
        between the first and the last (the last may hold fewer examples)."""
        middle = self.times[1:-1] if len(self.times) > 2 else self.times[1:]
        figures = summarize(self.times, middle)
        return None if figures is None else {**figures, "batch_size": self.batch_size}


def batch_ticks(clock: BatchClock) -> Any:
    """A ``TrainerCallback`` that ticks ``clock`` at each prediction step."""
    from transformers import TrainerCallback

    class _BatchTicks(TrainerCallback):
        def on_prediction_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.tick(args.eval_batch_size)

    return _BatchTicks()
