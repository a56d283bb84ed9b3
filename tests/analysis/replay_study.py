"""A study of the default task on a *replayed* landscape: the real search, no training.

The energies below are modelled, not measured: each knob value has an energy ratio, a
time ratio and an F1 loss, combined multiplicatively, with two interactions the synergy
analysis must find: ``group_by_length`` saves an extra 15 % with ``dynamic_padding``
(synergy: sorted batches only help when padding is per batch), and ``torch_compile``
keeps only half its saving with ``grad_checkpointing`` (antagonism). The search, the
storage and every trial attribute are exactly what ``greensearch optimize`` on the
default task writes.
"""

from __future__ import annotations

import gc
from typing import Any

from greensearch.config import load_study
from greensearch.knobs import parse_bundle
from greensearch.search import Point, ReplayRunner
from tests.search.run_search import run_search

BASE_ENERGY_KWH = 2.0e-4
BASE_TIME_S = 60.0
BASE_F1 = 0.80

#: knob -> value -> (energy ratio, time ratio, F1 loss in absolute points)
EFFECTS: dict[str, dict[str, tuple[float, float, float]]] = {
    "precision": {"bf16": (0.70, 0.72, 0.002), "fp16": (0.68, 0.70, 0.003)},
    "torch_compile": {"on": (0.85, 0.88, 0.0)},
    "grad_checkpointing": {"on": (1.25, 1.30, 0.0)},
    "dynamic_padding": {"on": (0.80, 0.82, 0.0)},
    "group_by_length": {"on": (0.97, 0.97, 0.002)},
    "quantization": {"int8": (0.75, 0.80, 0.012), "nf4": (0.65, 0.70, 0.030)},
}
KNOBS = tuple(EFFECTS)
#: Extra ratio of group_by_length on top of dynamic_padding (synergy).
SORTED_BATCHES = 0.85
#: Share of torch_compile's saving left under grad_checkpointing (antagonism).
COMPILE_UNDER_CKPT = 0.5


class Landscape(dict[str, Point]):
    """Canonical bundle text -> :class:`Point`, computed on first use."""

    def __missing__(self, key: str) -> Point:
        bundle = parse_bundle(key)
        energy = time = 1.0
        loss = 0.0
        for name, value in bundle.items():
            e, t, f = EFFECTS[name][value]
            if name == "torch_compile" and "grad_checkpointing" in bundle:
                e, t = 1 - (1 - e) * COMPILE_UNDER_CKPT, 1 - (1 - t) * COMPILE_UNDER_CKPT
            if name == "group_by_length" and "dynamic_padding" in bundle:
                e, t = e * SORTED_BATCHES, t * SORTED_BATCHES
            energy, time, loss = energy * e, time * t, loss + f
        point = Point(BASE_ENERGY_KWH * energy, BASE_TIME_S * time, BASE_F1 - loss)
        self[key] = point
        return point


def make_study(storage: Any, name: str = "default-replay", **kw: Any) -> dict[str, Any]:
    """Run ``optimize`` on the default task with the replayed landscape; return its result."""
    args: dict[str, Any] = {
        "budget_f1": "-1%",
        "n_trials": 18,
        "storage": storage,
        "study_name": name,
        "fidelity": 0.3,
        "repeats": 3,
        "baseline_repeats": 3,
        "finalists": 2,
        "near_misses": 0,
        "meter": None,
        "idle_seconds": 0,
        "include": list(KNOBS),
        "seed": 0,
        "run_fn": ReplayRunner(Landscape(), noise_rel=0.01, seed=3),
    }
    args.update(kw)
    # The search collects garbage after every trial (right for real training); with pandas
    # and plotly loaded each pass costs ~0.1 s. Freezing what exists keeps replays fast.
    gc.freeze()
    try:
        # the default study keeps torch_compile out of its search (too slow on a CPU); the
        # replay models it, so it is searched here
        return run_search(load_study(None).replace(search_exclude=()), **args).to_dict()
    finally:
        gc.unfreeze()
