"""A small synthetic knob landscape with known answers, for search tests."""

from __future__ import annotations

import itertools

from greensearch.knobs import Knob, KnobRegistry, Param, RunPlan, format_bundle
from greensearch.search._replay import Point

BASE_ENERGY = 1.0e-3
BASE_TIME = 60.0
BASE_F1 = 0.90

# knob -> (energy ratio, F1 loss in absolute F1 points)
EFFECTS = {
    "prune": (0.50, 0.002),  # big saving, tiny F1 cost
    "trim": (0.70, 0.004),  # saving, small F1 cost
    "compile": (0.80, 0.0),  # free saving
    "ckpt": (1.30, 0.0),  # trade-off knob: costs energy alone
    "lossy": (0.30, 0.20),  # huge saving, far over any budget
}


def _noop(plan: RunPlan, value: dict) -> None:
    plan.note("noop")


#: ``prune=3`` where the landscape has it (``deeper=True``): saves more than ``prune=2``
#: within the budget, so the cheapest feasible bundle needs the knob's second value.
PRUNE3 = (0.35, 0.003)


def make_registry(*, deeper: bool = False) -> KnobRegistry:
    """Knobs named after the landscape; ``ckpt`` is a trade-off knob, ``lossy`` conflicts
    with ``compile`` (never sampled together); ``deeper`` searches ``prune=3`` too."""
    reg = KnobRegistry()
    reg.register(
        Knob(
            "prune",
            "model",
            ("compute", "memory"),
            "prune",
            _noop,
            params=(Param("n", int, 2, low=1, high=3),),
            search_values=("2", "3") if deeper else ("2",),
        )
    )
    reg.register(Knob("trim", "data", ("compute", "memory"), "trim", _noop))
    reg.register(Knob("compile", "training", ("compute",), "compile", _noop))
    reg.register(Knob("ckpt", "model", ("memory",), "ckpt", _noop, costs=("compute",)))
    reg.register(Knob("lossy", "model", ("compute",), "lossy", _noop, conflicts=("compile",)))
    return reg


#: An interaction the checker's model does not assume: prune and trim both cut compute and
#: memory, so together they save much less than the product of their savings (x1.8).
ANTAGONISM = {frozenset({"prune", "trim"}): 1.8}


def landscape(
    pair_factors: dict[frozenset[str], float] | None = None, *, deeper: bool = False
) -> dict[str, Point]:
    """Every combination's figures: multiplicative energy, additive F1 loss, times the
    energy factor of each pair in ``pair_factors`` the combination holds; ``deeper`` adds
    every combination with ``prune=3`` (:data:`PRUNE3`) instead of ``prune=2``."""
    points = _points(EFFECTS, "2", pair_factors)
    if deeper:
        points.update(_points({**EFFECTS, "prune": PRUNE3}, "3", pair_factors))
    return points


def _points(
    effects: dict[str, tuple[float, float]],
    prune: str,
    pair_factors: dict[frozenset[str], float] | None,
) -> dict[str, Point]:
    names = {
        "prune": f"prune={prune}",
        "trim": "trim",
        "compile": "compile",
        "ckpt": "ckpt",
        "lossy": "lossy",
    }
    points: dict[str, Point] = {}
    for r in range(len(effects) + 1):
        for combo in itertools.combinations(effects, r):
            ratio, loss = 1.0, 0.0
            for k in combo:
                ratio *= effects[k][0]
                loss += effects[k][1]
            for pair, factor in (pair_factors or {}).items():
                if pair <= set(combo):
                    ratio *= factor
            bundle = {k: names[k].partition("=")[2] or "on" for k in combo}
            points[format_bundle(bundle)] = Point(
                BASE_ENERGY * ratio, BASE_TIME * ratio, BASE_F1 - loss
            )
    return points


def true_oracle(budget_pct: float, points: dict[str, Point] | None = None) -> str:
    """The lowest-energy feasible bundle, by brute force (compile and lossy conflict)."""
    best, best_e = "", BASE_ENERGY
    for key, p in (points or landscape()).items():
        if "compile" in key and "lossy" in key:
            continue
        loss = (BASE_F1 - p.f1) / BASE_F1 * 100
        if loss <= budget_pct and p.energy_kwh < best_e:
            best, best_e = key, p.energy_kwh
    return best
