"""Model-guided trials: grow the bundles measured so far one knob at a time.

Why not stack every single that looked free: a short run's ΔF1 is one noisy comparison
with the baseline, and a sum of ``k`` singles' ΔF1 counts the baseline's error ``k``
times while the budget covers one comparison. Singles that share a lucky baseline all
look free together, and a stack of all of them loses far more than the budget. So a
proposal is a *core* (a bundle measured directly, compared with the baseline once, or
the baseline itself) plus one more knob value measured alone. Its predicted ΔF1 is the
core's plus the knob's, with the two spreads combined (``√(sd_core² + sd_knob²)``, the
baseline's error at most twice, never ``k`` times), and its predicted energy is the
core's measured ratio times the knob's, corrected by the learned pair terms with the
core's knobs. Proposals are ranked by expected saving under the F1 risk:
``(1 - ratio) · P(ΔF1 within the budget)``. Each guided measurement becomes a core for
the next proposal, so stacks grow only while their measured F1 holds.

A gain is credited only as far as it is resolved: a short run's ΔF1 enters at
``min(ΔF1, max(lower 95 % bound, 0))`` (:func:`credited`), its point estimate when it is a
loss. Why: one seed-42 short run compared with the baseline's 3-seed mean carries the
baseline's luck, the same for every knob. On the Intel VM (``steps-seed0``), 9 of 19 seeds
(fast tokenizer, dedup, sdpa, ...) predicted exactly as the baseline's seed-42 run did
and so showed the same +4.4 % "gain", ``lr_schedule=constant`` +6.4 % against ``layer_prune=2:top``
−0.06 %, all far inside the 19 % the short run resolves; ranked on those points the
guide grew ``seq_len=96`` with ``lr_schedule=constant`` (no work saved) instead of
``layer_prune=2:top``. Credited, unresolved gains count as no change, and the ranking
among knobs that look harmless follows their measured saving.

A knob that does not change the numbers (``Knob.numerics`` false: a kernel, the
tokenizer's implementation, padding) trains the same model as the core without it, seed
for seed, so its proposal carries the core's ΔF1 and spread, nothing of its own single
run. And a proposal whose model (its knobs that change the numbers) some measured bundle
already trains learns nothing new about F1: it is worth only the energy it takes off the
best run so far (the cheaper of that model's cheapest run and the cheapest core),
``(that ratio - ratio) · P``, whichever core it grows from.
Why: on replays whose F1 noise follows the measured numerics classes, the guide valued
such additions as new candidates and spent up to 6 of its 8 turns adding them to a core
whose one short run had read 0.0 % (truly -2.6 %), and never measured the best class
(``benchmarks/README.md``, issue 21 item 1).

A core is a measured bundle within the budget on its point estimate and not a clear
cost. A knob value enters as an addition when its ratio alone is below ``1 + margin`` (the
checker's prune margin, 2 σ of a difference of two runs): a knob whose single run looked
a few percent worse may be neutral (one noisy run). Knobs never measured alone,
degenerate alone or clearly costly are left to the sampler. A learned ΔF1 pair term
counts only once two combinations support it.

Value steps (:func:`next_step`): the seeds measure each knob's first search value alone,
and the additions are only values measured alone, so without steps a knob's other values
(``seq_len=96`` after ``seq_len=128``) would wait for the sampler, and a stack built on
them would never be grown. So before a core grows by the guide's next proposal, a value
of one of that proposal's knobs that alone saves beyond the noise (ratio below
``1 - margin``) within the budget on its point estimate opens the knob's next search
value that does other work, measured alone (``layer_prune=2:top`` opens ``3:top``:
``2:bottom`` removes as many layers); a step that is itself promising opens the one after
it. Why only the proposal's knobs: a step serves the stack being grown. Opened for every
knob that looked a saver, steps took 5 and 6 of the 8 turns after the seeds in two live
studies (``lr_schedule=constant``, ``optimizer=adafactor``, ``dataloader_workers=4``:
their first values had looked 18-25 % cheaper in single short runs while the machine
drifted), and the guide grew its stack twice or three times. A step is one short run
of one knob alone, stored as a seed is (phase ``single``), and takes a turn before the
guide's next; it is not weighed by the payback rule: what it saves cannot be predicted
from a value never measured.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from greensearch.interactions._model import OrthogonalityChecker
from greensearch.interactions._noise import same_work
from greensearch.knobs import Bundle, parse_bundle
from greensearch.search._space import SearchSpace, _conflict

__all__ = [
    "Evidence",
    "Proposal",
    "Step",
    "credited",
    "expected_saving",
    "next_step",
    "pays_for_itself",
    "propose",
]

#: Two-sided 95 % normal quantile: a stored 95 % ΔF1 interval spans ``2 · Z95`` SDs.
Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Evidence:
    """One bundle measured at the search fidelity, as the guide reads it.

    Attributes:
        knobs: Canonical bundle text (``""``: the baseline).
        energy_ratio: Its energy over the baseline's.
        delta_f1_pct: Its ΔF1 against the baseline, in percent.
        delta_f1_sd_pct: The SD of that ΔF1 (0: taken as exact, the point-estimate rule).
    """

    knobs: str
    energy_ratio: float
    delta_f1_pct: float
    delta_f1_sd_pct: float = 0.0

    @property
    def credited_delta_pct(self) -> float:
        """Its ΔF1 with an unresolved gain not credited (:func:`credited`)."""
        return credited(self.delta_f1_pct, self.delta_f1_sd_pct)

    @staticmethod
    def sd_of(ci95_pct: Sequence[float] | None) -> float:
        """The SD behind a stored 95 % ΔF1 interval (0 without one)."""
        if not ci95_pct or len(ci95_pct) != 2:
            return 0.0
        return max(float(ci95_pct[1]) - float(ci95_pct[0]), 0.0) / (2 * Z95)


@dataclass(frozen=True, slots=True)
class Proposal:
    """The bundle to measure next and why.

    Attributes:
        bundle: The knob values.
        core: The measured bundle it grows (``""``: the baseline).
        energy_ratio: Predicted energy over the baseline's.
        delta_f1_pct: Predicted ΔF1 in percent.
        delta_f1_sd_pct: Its propagated SD.
        p_feasible: Chance its ΔF1 is within the budget.
        expected_saving: ``(1 - energy_ratio) · p_feasible``, a share of the baseline
            (``1``: the cheapest measured ratio of the same model, where one is measured).
        gain: Expected improvement on the best measured bundle's expected saving:
            ``P(feasible) · E[max(0, 1 - ratio - best)]`` over the ratio's noise.
    """

    bundle: Bundle
    core: str
    energy_ratio: float
    delta_f1_pct: float
    delta_f1_sd_pct: float
    p_feasible: float
    expected_saving: float
    gain: float


@dataclass(frozen=True, slots=True)
class Step:
    """A knob's next search value to measure alone, and the value that opened it.

    Attributes:
        bundle: The knob at its next value (one knob).
        after: Canonical text of the promising value measured alone before it.
        after_ratio: That value's energy ratio alone.
    """

    bundle: Bundle
    after: str
    after_ratio: float


def next_step(
    checker: OrthogonalityChecker,
    space: SearchSpace,
    budget_pct: float,
    tried: set[str],
    knobs: Collection[str] | None = None,
) -> Step | None:
    """The next value of the knob whose promising value alone saves most, if untried.

    Promising: measured alone, a ratio below ``1 - margin`` and a ΔF1 within the budget on
    its point estimate. The step is the knob's search value after it, never measured or
    tried alone (see the module's docstring). ``knobs``: only these knobs' values open a
    step (the knobs of the bundle the guide would measure next); ``None``: any knob.
    """
    found: list[tuple[float, str, Step]] = []
    for name, values in space.choices.items():
        if knobs is not None and name not in knobs:
            continue
        for i, value in enumerate(values):
            # the next value that does other work (layer_prune=2:top -> 3:top, not 2:bottom)
            following = next((v for v in values[i + 1 :] if not same_work(name, value, v)), None)
            if following is None:
                continue
            pred = checker.predict({name: value})
            if (
                pred.measured_energy_ratio is None
                or pred.energy_ratio is None
                or pred.delta_f1_pct is None
                or pred.energy_ratio >= 1.0 - checker.margin_rel
                or pred.delta_f1_pct < -budget_pct
            ):
                continue
            bundle = {name: following}
            key = space.key(bundle)
            if key in tried or checker.predict(bundle).measured_energy_ratio is not None:
                continue
            step = Step(bundle, checker.canonical({name: value}), pred.energy_ratio)
            found.append((pred.energy_ratio, key, step))
    return min(found, key=lambda f: f[:2])[2] if found else None


def credited(delta_f1_pct: float, sd_pct: float) -> float:
    """A measured ΔF1 as the ranking reads it: a loss at its point, a gain only as far as
    its lower 95 % bound resolves it (``sd_pct`` 0: exact, the point)."""
    return min(delta_f1_pct, max(delta_f1_pct - Z95 * sd_pct, 0.0))


def expected_saving(
    energy_ratio: float, delta_f1_pct: float, sd_pct: float, budget: float
) -> float:
    """``(1 - ratio) · P(ΔF1 >= -budget)`` for a normal ΔF1 (a step where ``sd_pct`` is 0)."""
    return max(1.0 - energy_ratio, 0.0) * _p_within(delta_f1_pct, sd_pct, budget)


def _p_within(delta_f1_pct: float, sd_pct: float, budget: float) -> float:
    margin = delta_f1_pct + budget
    if sd_pct <= 0:
        return 1.0 if margin >= 0 else 0.0
    return _phi(margin / sd_pct)


def _improvement(ratio: float, log_sd: float, best: float) -> float:
    """``E[max(0, 1 - best - ratio · exp(log_sd · Z))]`` for a standard normal ``Z``.

    The lognormal put: ``c·Φ(d) - ratio·exp(log_sd²/2)·Φ(d - log_sd)``, ``c = 1 - best``,
    ``d = ln(c / ratio) / log_sd``.
    """
    c = 1.0 - best
    if log_sd <= 0 or c <= 0:
        return max(c - ratio, 0.0)
    d = math.log(c / ratio) / log_sd
    return c * _phi(d) - ratio * math.exp(log_sd**2 / 2) * _phi(d - log_sd)


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def propose(
    checker: OrthogonalityChecker,
    space: SearchSpace,
    budget_pct: float,
    tried: set[str],
    evidence: Sequence[Evidence],
) -> Proposal | None:
    """The untried core-plus-one-knob bundle with the largest expected saving.

    Args:
        checker: the study's checker (singles and combinations at the search fidelity):
            the knobs' effects alone and the learned pair terms.
        space: the search space (values, conflicts, canonical keys).
        budget_pct: accepted F1 loss in percent (positive).
        tried: keys of every bundle the study already holds, in any state.
        evidence: every bundle measured at the search fidelity (the cores), baseline included.

    Returns:
        The proposal, or ``None`` when no untried addition has any expected saving.
    """
    additions = _additions(checker, space)
    if not additions:
        return None
    singles = {e.knobs: e for e in evidence if e.knobs and "," not in e.knobs}
    best_measured = max(
        (
            expected_saving(e.energy_ratio, e.credited_delta_pct, e.delta_f1_sd_pct, budget_pct)
            for e in evidence
        ),
        default=0.0,
    )
    cores = [
        e
        for e in evidence
        if e.delta_f1_pct >= -budget_pct and e.energy_ratio < 1.0 + checker.margin_rel
    ]
    if not any(e.knobs == "" for e in cores):
        cores.append(Evidence("", 1.0, 0.0, 0.0))
    incumbent = min(e.energy_ratio for e in cores)
    trained: dict[str, float] = {}  # each measured model's cheapest run (its energy ratio)
    for e in evidence:
        model = space.model_key(parse_bundle(e.knobs) if e.knobs else {})
        trained[model] = min(trained.get(model, math.inf), e.energy_ratio)
    pairs = checker.interactions()
    # a predicted ratio is a core's run times a knob's run: two runs' noise (log SD)
    energy_sd = math.sqrt(2.0) * checker.noise_rel
    best: tuple[float, float, str, Proposal] | None = None
    for core in cores:
        core_bundle = parse_bundle(core.knobs) if core.knobs else {}
        core_items = [checker.canonical({k: v}) for k, v in core_bundle.items()]
        for name, value in additions:
            if name in core_bundle or _conflicts_with(space, name, core_bundle):
                continue
            bundle = {**core_bundle, name: value}
            key = space.key(bundle)
            if key in tried:
                continue
            item = checker.canonical({name: value})
            alone = checker.predict({name: value})
            if alone.energy_ratio is None or alone.delta_f1_pct is None:
                continue
            own = singles.get(item)
            own_sd = own.delta_f1_sd_pct if own else 0.0
            # a knob that does not change the numbers adds no F1 of its own (see above)
            same_model = not space.registry.get(name).numerics
            model = space.model_key(bundle)
            log_e = math.log(core.energy_ratio) + math.log(alone.energy_ratio)
            f1 = core.credited_delta_pct
            if not same_model:
                f1 += credited(alone.delta_f1_pct, own_sd)
            for other in core_items:
                inter = pairs.get((min(item, other), max(item, other)))
                if inter is not None:
                    log_e += inter.log_energy
                    if inter.n_combinations >= 2 and not same_model:
                        f1 += inter.delta_f1_pct
            sd = core.delta_f1_sd_pct if same_model else math.hypot(core.delta_f1_sd_pct, own_sd)
            ratio = math.exp(log_e)
            p = _p_within(f1, sd, budget_pct)
            # a model already measured: worth what it takes off the best run so far
            top = min(trained[model], incumbent) if model in trained else 1.0
            saving = max(top - ratio, 0.0) * p
            if saving <= 0:
                continue
            gain = p * _improvement(ratio, energy_sd, best_measured)
            proposal = Proposal(bundle, core.knobs, ratio, f1, sd, p, saving, gain)
            rank = (-saving, ratio, key, proposal)
            if best is None or rank[:3] < best[:3]:
                best = rank
    return None if best is None else best[3]


def pays_for_itself(
    proposal: Proposal,
    *,
    production_runs: int,
    baseline_full_kwh: float,
    baseline_run_kwh: float,
) -> bool:
    """Whether measuring ``proposal`` is expected to repay its run over the production runs.

    Args:
        proposal: the next guided bundle.
        production_runs: how often the user will run the result.
        baseline_full_kwh: the baseline's energy for one full production run.
        baseline_run_kwh: what one search run of the baseline costs at the search fidelity.
    """
    further = max(proposal.gain, 0.0) * baseline_full_kwh * production_runs
    return further > baseline_run_kwh * proposal.energy_ratio


def _additions(checker: OrthogonalityChecker, space: SearchSpace) -> list[tuple[str, str]]:
    """Knob values measured alone below ``1 + margin``, cheapest first."""
    found: list[tuple[float, str, str]] = []
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
                found.append((pred.energy_ratio, name, value))
    return [(name, value) for _, name, value in sorted(found)]


def _conflicts_with(space: SearchSpace, name: str, core: Bundle) -> bool:
    knob = space.registry.get(name)
    return any(_conflict(knob, space.registry.get(other)) for other in core)
