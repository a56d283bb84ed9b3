"""Prediction engines for the ``eval`` stage.

``torch`` is the baseline (HF Trainer prediction loop). Other engines are selected by
the ``inference_engine`` knob; each returns plain predicted class ids so metrics are
computed identically whatever engine produced them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greensearch.exceptions import ConfigError

__all__ = ["predict", "ENGINES", "register_engine"]

Engine = Callable[[Any, Any], list[int]]
ENGINES: dict[str, Engine] = {}


def register_engine(name: str) -> Callable[[Engine], Engine]:
    """Decorator adding an engine under ``name``."""

    def add(fn: Engine) -> Engine:
        ENGINES[name] = fn
        return fn

    return add


def predict(state: Any, dataset: Any) -> list[int]:
    """Predict class ids for ``dataset`` with the engine the plan names."""
    name = state.plan.eval_engine
    try:
        engine = ENGINES[name]
    except KeyError:
        raise ConfigError(f"unknown eval engine '{name}'; known: {', '.join(sorted(ENGINES))}") from None
    return engine(state, dataset)


@register_engine("torch")
def _predict_torch(state: Any, dataset: Any) -> list[int]:
    output = state.trainer.predict(dataset)
    return [int(i) for i in output.predictions.argmax(-1)]
