"""Times each batch the eval stage predicts, so a short run scales batches, not the window.

A short search run predicts only a share of the test split (``_eval_subset``), and its
eval window holds one-off work beside the batches: the Trainer's prediction set-up and
the first batch's warm-up, an engine's model reload, export or quantization. Scaling the
whole window by ``test examples / predicted examples`` multiplies that work too: an ONNX
export taking most of a short eval window was counted four times (``benchmarks/README.md``).
With the batch times, the full window is predicted as
``window - Σ batches + first + (test examples - batch) / batch x steady batch``
(``greensearch.search._extrapolate``), the same rule as the training steps' clock.
"""

from __future__ import annotations

import time
from typing import Any

__all__ = ["BatchClock", "trainer_callback"]


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
        """Batches, their total, the first and a steady batch: the 10 %-trimmed mean of
        those between the first and the last (the last may hold fewer examples)."""
        if not self.times:
            return None
        middle = self.times[1:-1] if len(self.times) > 2 else self.times[1:]
        later = sorted(middle) or self.times[:1]
        cut = len(later) // 10
        kept = later[cut : len(later) - cut]
        return {
            "n": len(self.times),
            "total_s": sum(self.times),
            "first_s": self.times[0],
            "steady_s": sum(kept) / len(kept),
            "batch_size": self.batch_size,
        }


def trainer_callback(clock: BatchClock) -> Any:
    """A ``TrainerCallback`` that ticks ``clock`` at each prediction step."""
    from transformers import TrainerCallback

    class _BatchTicks(TrainerCallback):
        def on_prediction_step(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            clock.tick(args.eval_batch_size)

    return _BatchTicks()
