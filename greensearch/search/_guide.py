"""Model-guided trials: measure next what the orthogonality model predicts cheapest.

Why: once the seeds have run, the checker knows every knob alone and learns a pairwise
model from each combination measured since. TPE has to rediscover from scratch what that
model already predicts (that independent savers compound), and on the paper-calibrated
landscape it needs tens of trials more to do so. So after the seeds every other trial is
the untried bundle the model predicts cheapest among those it predicts within the F1
budget; TPE proposes the trials in between, so a wrong model cannot trap the search, and
each guided measurement corrects the model's pair terms for the next proposal.

Every knob value measured alone that is not a clear cost is combined: its ratio alone is
below ``1 + margin`` (the checker's prune margin, 2 σ of a difference of two runs). A
knob whose single run looked a few percent worse may be neutral (one noisy run) and may
help once combined with the real savers: on the measured CPU landscape the optimum holds
two such knobs, which a rule combining only clear savers (below ``1 - noise``) reached far
later (``benchmarks/search_efficiency.py``; figures in ``benchmarks/README.md``). Knobs
never measured alone, degenerate alone or clearly costly are left to TPE.
A learned ΔF1 pair term counts against feasibility only once two combinations support
it: one bundle's higher-order F1 drop, split evenly over its pairs, would otherwise rule
out every subset of it.
"""

from __future__ import annotations

import itertools
import math

from greensearch.exceptions import MeasurementError
from greensearch.interactions._model import OrthogonalityChecker
from greensearch.knobs import Bundle
from greensearch.search._space import SearchSpace, _conflict

__all__ = ["MAX_CANDIDATES", "propose"]

#: Largest number of bundles scored at once; the weakest candidates are dropped to stay below.
MAX_CANDIDATES = 1 << 16


def propose(
    checker: OrthogonalityChecker, space: SearchSpace, budget_pct: float, tried: set[str]
) -> Bundle | None:
    """The cheapest predicted-feasible bundle of candidate knobs whose key is not in ``tried``.

    Args:
        checker: the study's checker (singles and combinations at the search fidelity).
        space: the search space (values, conflicts, canonical keys).
        budget_pct: accepted F1 loss in percent (positive).
        tried: keys of every bundle the study already holds, in any state.

    Returns:
        The bundle to measure next, or ``None`` when the model has nothing new to offer.
    """
    import numpy as np

    candidates = _candidates(checker, space)
    if not candidates:
        return None
    knobs = list(candidates)
    items = [
        (name, value, checker.canonical({name: value}))
        for name in knobs
        for value in candidates[name]
    ]
    column = {(name, value): i for i, (name, value, _) in enumerate(items)}
    rows = []
    for combo in itertools.product(*[[None, *candidates[n]] for n in knobs]):
        chosen = [(n, v) for n, v in zip(knobs, combo, strict=True) if v is not None]
        if len(chosen) < 2 or _conflicting(space, [n for n, _ in chosen]):
            continue  # singles are measured already; conflicts never run
        rows.append([column[c] for c in chosen])
    if not rows:
        return None
    matrix = np.zeros((len(rows), len(items)))
    for r, cols in enumerate(rows):
        matrix[r, cols] = 1.0
    log_e = np.empty(len(items))
    f1 = np.empty(len(items))
    for i, (name, value, _) in enumerate(items):
        pred = checker.predict({name: value})
        if pred.energy_ratio is None or pred.delta_f1_pct is None:  # _candidates: measured only
            raise MeasurementError(f"knob {name}={value} has no measured effect alone")
        log_e[i], f1[i] = math.log(pred.energy_ratio), pred.delta_f1_pct
    pred_e, pred_f1 = matrix @ log_e, matrix @ f1
    index = {item: i for i, (_, _, item) in enumerate(items)}
    for (a, b), inter in checker.interactions().items():
        if a in index and b in index:
            both = matrix[:, index[a]] * matrix[:, index[b]]
            pred_e += both * inter.log_energy
            if inter.n_combinations >= 2:
                pred_f1 += both * inter.delta_f1_pct
    feasible = pred_f1 >= -budget_pct
    for r in np.argsort(np.where(feasible, pred_e, np.inf), kind="stable"):
        if not feasible[r]:
            return None
        bundle = {items[c][0]: items[c][1] for c in rows[r]}
        if space.key(bundle) not in tried:
            return bundle
    return None


def _candidates(checker: OrthogonalityChecker, space: SearchSpace) -> dict[str, list[str]]:
    """Per knob, the values measured alone below ``1 + margin``, strongest knobs first."""
    found_by_knob: dict[str, list[tuple[float, str]]] = {}
    for name, values in space.choices.items():
        for value in values:
            pred = checker.predict({name: value})
            if (
                pred.measured_energy_ratio is None
                or pred.energy_ratio is None
                or pred.delta_f1_pct is None
            ):
                continue
            if pred.energy_ratio < 1.0 + checker.margin_rel:
                found_by_knob.setdefault(name, []).append((pred.energy_ratio, value))
    ranked = sorted(found_by_knob.items(), key=lambda kv: min(kv[1]))
    kept: dict[str, list[str]] = {}
    size = 1
    for name, found in ranked:
        if size * (1 + len(found)) > MAX_CANDIDATES:
            break
        size *= 1 + len(found)
        kept[name] = [value for _, value in sorted(found)]
    return kept


def _conflicting(space: SearchSpace, names: list[str]) -> bool:
    knobs = [space.registry.get(n) for n in names]
    return any(_conflict(a, b) for a, b in itertools.combinations(knobs, 2))
