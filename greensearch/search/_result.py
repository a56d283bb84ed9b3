"""From a finished study to an answer: finalists, the oracle, the Pareto table, payback.

Nothing is called the oracle on a low-fidelity estimate: the cheapest feasible bundles of
the search (and the most promising bundles whose short-run F1 verdict was uncertain) are
measured again at full fidelity, with ``repeats`` seeded runs, against a baseline
measured the same way. The oracle is the lowest-energy bundle confirmed within the budget
there, by Holm's rule over all finalists, so that judging several candidates does not
raise the chance of a false oracle. Where none is, the answer says so and names the
cheapest bundle not shown infeasible as not confirmed, never as the oracle.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from greensearch.interactions._model import prune_margin
from greensearch.pareto import cheapest_feasible, non_dominated
from greensearch.pipeline import describe
from greensearch.record import TrialRecord, completed_at, records, search_baseline, study_metric
from greensearch.schema import MeterSummary, Phase, StudyAttr, TrialAttr, TrialRow
from greensearch.search._checking import baseline_noise
from greensearch.search._f1_judging import (
    judged_delta,
    power_pct,
    resolution_pct,
    short_run_chance,
    verdict_of,
)
from greensearch.search._result_row import EnergyInterval, ResultRow
from greensearch.search._rounds import paired_baseline
from greensearch.search._settings import DEFAULT_CONFIDENCE
from greensearch.search._storage import retried_trial_numbers
from greensearch.stats import F1Verdict, Finalist, energy_delta, select_oracle, task_metric

if TYPE_CHECKING:
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState

__all__ = [
    "SearchResult",
    "build_result",
    "pareto_rows",
    "pick_final_candidates",
    "pick_finalists",
    "pick_near_misses",
    "trial_row",
]


def _r(t: FrozenTrial) -> TrialRecord:
    return TrialRecord.from_trial(t)


def trial_row(t: FrozenTrial) -> TrialRow:
    """The figures of one trial, as the result's tables show them."""
    return _r(t).to_row()


def _pareto(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """Non-dominated trials on (energy, F1 loss), both minimised, cheapest first."""
    return [trials[i] for i in non_dominated([(t.values[0], t.values[1]) for t in trials])]


def pick_finalists(study: Study, fidelity: float, k: int) -> list[str]:
    """The ``k`` lowest-energy knob sets of the search whose F1 verdict is ``feasible``."""
    feasible = [
        t
        for t in completed_at(study, fidelity)
        if verdict_of(_r(t).attrs) is F1Verdict.FEASIBLE and _r(t).knobs
    ]
    return _cheapest_keys(feasible, k)


def _cheapest_keys(trials: list[FrozenTrial], n: int) -> list[str]:
    """The knob sets of the ``n`` lowest-energy trials, each set once."""
    keys: list[str] = []
    for t in sorted(trials, key=lambda t: t.values[0]):
        if len(keys) == n:
            break
        knobs = str(_r(t).knobs)
        if knobs not in keys:
            keys.append(knobs)
    return keys


def pick_near_misses(
    study: Study,
    fidelity: float,
    budget_pct: float,
    n: int,
    finalists: list[str],
    model_of: Callable[[str], str] | None = None,
) -> list[str]:
    """Up to ``n`` bundles whose short-run F1 verdict is uncertain and that could win.

    A short run's F1 is a noisy proxy of the full run's (a knob can lose 1.1 % at
    fidelity 0.25 and gain F1 fully trained), so a bundle leaves the pool only when it is
    confidently infeasible. Among the ``uncertain`` ones cheaper than every finalist and
    the baseline, those with the largest expected saving (the chance of meeting the
    budget, :func:`short_run_chance`, times the energy saved against that ceiling) are
    judged at full fidelity too. A bundle one knob away from one already picked, with a
    short-run energy within the noise of it, is passed over: its final runs would repeat
    the other's, where the slot can judge a different stack. So is a bundle that trains
    the same model as one already picked (``model_of``, ``SearchSpace.model_key``): it
    shares that one's F1, seed for seed, so the two verdicts fall together and the slot
    buys no second chance (on replays both finalists were one infeasible model). Nothing
    is picked at fidelity 1 (no proxy) or a zero budget.
    """
    if n < 1 or fidelity >= 1.0 or budget_pct <= 0:
        return []
    trials = [t for t in completed_at(study, fidelity) if not _r(t).degenerate]
    energy: dict[str, float] = {}
    for t in sorted(trials, key=lambda t: -t.values[0]):  # the lowest run of each wins
        energy[str(_r(t).knobs)] = t.values[0]
    ceiling = min((energy[k] for k in ["", *finalists] if k in energy), default=math.inf)
    scored = []
    for t in trials:
        r = _r(t)
        if not r.knobs or r.knobs in finalists or t.values[0] >= ceiling:
            continue
        if r.attrs.get("f1_interval") and verdict_of(r.attrs) is not F1Verdict.UNCERTAIN:
            continue
        chance = short_run_chance(r, budget_pct)
        if chance is None or (not r.attrs.get("f1_interval") and r.feasible):
            continue
        saving = ceiling - t.values[0] if ceiling != math.inf else 1.0
        scored.append((-chance * saving, t.values[0], r.knobs))
    base = search_baseline(records(trials))
    margin = prune_margin(baseline_noise(base.energy_kwh_runs if base else []))
    keys: list[str] = []
    models = {model_of(k) for k in finalists} if model_of is not None else set()
    for _, e, key in sorted(scored):
        if len(keys) == n:
            break
        if key in keys or any(
            one_knob_apart(key, other) and abs(e - energy[other]) <= energy[other] * margin
            for other in [*finalists, *keys]
            if other in energy
        ):
            continue
        if model_of is not None:
            if model_of(key) in models:
                continue
            models.add(model_of(key))
        keys.append(key)
    return keys


def one_knob_apart(a: str, b: str) -> bool:
    """Whether one bundle is the other plus one knob (canonical texts)."""
    x, y = set(a.split(",")) - {""}, set(b.split(",")) - {""}
    return len(x ^ y) == 1


def pick_final_candidates(
    study: Study,
    fidelity: float,
    budget_pct: float,
    k: int,
    near_misses: int,
    model_of: Callable[[str], str] | None = None,
) -> tuple[list[str], list[str]]:
    """What the final phase measures: up to ``k`` finalists and the uncertain bundles.

    A finalist slot no short run filled (a task that cannot resolve its budget at the
    search's fidelity calls every short run *uncertain*) goes to the next most promising
    uncertain bundle, so the final phase still judges ``k + near_misses`` candidates.
    ``near_misses=0`` keeps the short runs' verdicts as they are: nothing uncertain.
    """
    best = pick_finalists(study, fidelity, k)
    spare = k - len(best) if near_misses > 0 else 0
    near = pick_near_misses(study, fidelity, budget_pct, near_misses + spare, best, model_of)
    return best, near


def pareto_rows(study: Study, fidelity: float) -> list[ResultRow]:
    """Pareto front of the search trials (non-degenerate) as table rows."""
    trials = [t for t in completed_at(study, fidelity) if not _r(t).degenerate]
    return [ResultRow(trial_row(t)) for t in _pareto(trials)]


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The answer of a search, typed; :meth:`to_dict` is what ``--json`` prints.

    Attributes:
        study_name: The Optuna study.
        budget_f1_pct: The F1 budget as a loss (negative percent, e.g. ``-1.0``).
        fidelity: Fraction of training steps of the search trials.
        oracle: The lowest-energy finalist confirmed within the budget at full fidelity by
            Holm's rule over all finalists (their own verdicts where no predictions were
            kept), or ``None``.
        oracle_rule: How the oracle was chosen, in words (``None`` before the finals).
        not_confirmed: The cheapest finalist with an ``uncertain`` verdict whose point
            estimate meets the budget, cheaper than any oracle, with what would confirm it
            (``to_confirm``), or ``None``: the best bet the statistics cannot yet back.
        f1_resolution_pct: The smallest F1 loss the finals (seeds against the baseline's
            seeds) can resolve, or ``None``.
        search_f1_resolution_pct: The same for a search trial (one run against the search
            baseline's seeds), or ``None``.
        search_f1_power_pct: The F1 margin a search trial resolves 80 % of the time (a
            lossless bundle confirmed, a loss this far past the budget flagged), or ``None``.
        baseline: The baseline's full-fidelity figures, or ``None`` before the finals.
        finalists: Every bundle judged at full fidelity (the baseline included).
        pareto: Non-dominated search trials on (energy, F1 loss).
        n_trials: Search trials (seeds included, finals not).
        n_complete: Search trials measured or reused.
        n_pruned: Search trials the checker pruned.
        n_failed: Search trials that failed.
        n_guided: Model-guided search trials.
        n_reused: Search trials answered from an earlier measurement.
        pruned: ``trial``, ``knobs``, ``reason`` of each pruned trial.
        failed: ``trial``, ``knobs``, ``error`` of each failed trial.
        search_energy_kwh: Energy of every run the study made.
        search_duration_s: Duration of those runs.
        extrapolation: Error of the short-run energy estimate on the finalists, or ``None``.
        meter: ``name`` and ``method`` (measured / estimated) of the meter(s) used.
        payback_runs: Production runs of the oracle that repay the search, or ``None``.
        search_baseline_runs: The search's energy in full-fidelity baseline runs (comparable
            across machines and tasks, where kWh are not), or ``None`` without a baseline.
        machine: The machine that measured the baseline (``Machine.to_dict()`` with its
            ``summary``), or ``None`` for a study made before machines were recorded.
        left_out_values: Knob values left out of the search because this machine only
            emulates their precision (``precision=bf16``), with the reason.
        left_out_knobs: Knobs that cannot apply to the user's own code (a Trainer handed
            to ``greensearch.hf.search``), with the reason; empty for the staged pipeline.
        production_runs: How often the user will run the result (``--production-runs``).
        total_energy_kwh: The search's energy plus ``production_runs`` runs of the oracle
            (of the baseline where there is no oracle), or ``None``.
        production_baseline_kwh: ``production_runs`` runs of the baseline: what the total
            is weighed against, or ``None``.
        waited: The finals candidates that waited for cheaper ones (``knobs``,
            ``energy_ratio``, ``chance``; ``search._deferral``), judged only if those
            confirmed nothing: a row of ``finalists`` then.
        metric: ID of the task metric every "F1" above stands for (``entity_f1``,
            ``exact_match``; see :class:`greensearch.stats.TaskMetric`); the budget applies
            to it.
    """

    study_name: str
    budget_f1_pct: float
    fidelity: float
    oracle: ResultRow | None
    oracle_rule: str | None
    not_confirmed: ResultRow | None
    f1_resolution_pct: float | None
    search_f1_resolution_pct: float | None
    search_f1_power_pct: float | None
    baseline: ResultRow | None
    finalists: list[ResultRow]
    pareto: list[ResultRow]
    n_trials: int
    n_complete: int
    n_pruned: int
    n_failed: int
    n_guided: int
    n_reused: int
    pruned: list[dict[str, Any]]
    failed: list[dict[str, Any]]
    search_energy_kwh: float
    search_duration_s: float
    extrapolation: dict[str, Any] | None
    meter: MeterSummary
    payback_runs: float | None
    search_baseline_runs: float | None
    machine: dict[str, Any] | None = None
    left_out_values: dict[str, str] = field(default_factory=dict)
    left_out_knobs: dict[str, str] = field(default_factory=dict)
    production_runs: int | None = None
    total_energy_kwh: float | None = None
    production_baseline_kwh: float | None = None
    waited: list[dict[str, Any]] = field(default_factory=list)
    metric: str = "f1"

    @property
    def metric_label(self) -> str:
        """The metric's name in the output (``F1``, ``entity F1``, ``exact match``)."""
        return task_metric(self.metric).label

    def to_dict(self) -> dict[str, Any]:
        """A plain JSON-ready dict, keys in field order (``greensearch optimize --json``)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, ResultRow):
                value = value.to_dict()
            elif isinstance(value, list) and value and isinstance(value[0], ResultRow):
                value = [row.to_dict() for row in value]
            out[f.name] = value
        return out


@dataclass(frozen=True, slots=True)
class JudgedFinals:
    """The full-fidelity finals and the oracle Holm's rule picks among them.

    Attributes:
        finals: Every completed final trial (baselines included).
        pairs: Each final's number -> the baseline of its own invocation's rounds.
        base: The last baseline final, or ``None`` before the finals.
        bundles: The finals that are bundles (not the baseline).
        confidence: The study's confidence.
        choice: The oracle rule's choice.
        oracle: The oracle's trial, or ``None``.
    """

    finals: list[FrozenTrial]
    pairs: dict[int, FrozenTrial | None]
    base: FrozenTrial | None
    bundles: list[FrozenTrial]
    confidence: float
    choice: _OracleChoice
    oracle: FrozenTrial | None


def judge_finals(study: Study, budget_f1_pct: float) -> JudgedFinals:
    """Judge the stored finals (what :func:`build_result` and a promotion decide on)."""
    finals = [t for t in completed_at(study, 1.0) if _r(t).is_final]
    # each final pairs with the baseline of its own invocation's rounds
    pairs = {t.number: paired_baseline(finals, t) for t in finals}
    base = max((t for t in finals if _r(t).is_baseline), key=lambda t: t.number, default=None)
    bundles = [t for t in finals if _r(t).knobs]
    confidence = _confidence(study, base) if base is not None else DEFAULT_CONFIDENCE
    choice = _choose_oracle(bundles, pairs, loss_pct=-budget_f1_pct, confidence=confidence)
    choice = _saving_only(choice, bundles, pairs)
    oracle = next((t for t in bundles if t.number == choice.trial), None)
    return JudgedFinals(finals, pairs, base, bundles, confidence, choice, oracle)


def build_result(
    study: Study,
    *,
    fidelity: float,
    budget_f1_pct: float,
    production_runs: int | None = None,
) -> SearchResult:
    """Assemble the answer of ``greensearch optimize`` from the stored trials.

    Args:
        study: The Optuna study.
        fidelity: The search fidelity.
        budget_f1_pct: The F1 budget in the user's sign (``-1.0``).
        production_runs: How often the result will be run (adds the total energy).
    """

    all_trials = study.get_trials(deepcopy=False)
    # a trial killed mid-run (or deferred) and retried is accounted for by its retry
    retried = retried_trial_numbers(all_trials)
    search = [t for t in all_trials if _r(t).in_search and t.number not in retried]
    judged = judge_finals(study, budget_f1_pct)
    finals, pairs, base, bundles = judged.finals, judged.pairs, judged.base, judged.bundles
    confidence, choice, oracle = judged.confidence, judged.choice, judged.oracle
    unconfirmed = _cheapest(
        [t for t in bundles if t.number not in choice.confirmed and _within(t, budget_f1_pct)],
        lambda v: v is not F1Verdict.INFEASIBLE,
    )
    if oracle is not None and unconfirmed is not None and unconfirmed.values[0] >= oracle.values[0]:
        unconfirmed = None
    search_base = search_baseline(r for r in records(completed_at(study, fidelity)) if r.in_search)
    spent = sum(_r(t).energy_kwh_spent for t in all_trials)
    result: dict[str, Any] = {
        "study_name": study.study_name,
        "budget_f1_pct": budget_f1_pct,
        "fidelity": fidelity,
        "oracle": _final_row(oracle, pairs) if oracle is not None else None,
        "oracle_rule": choice.note if bundles else None,
        "not_confirmed": (
            _final_row(unconfirmed, pairs, to_confirm=_to_confirm(unconfirmed, budget_f1_pct))
            if unconfirmed is not None
            else None
        ),
        "f1_resolution_pct": (
            resolution_pct(_r(base).attrs, confidence=confidence) if base is not None else None
        ),
        "search_f1_resolution_pct": (
            resolution_pct(search_base.attrs, confidence=confidence, design="one_vs_n")
            if search_base is not None
            else None
        ),
        "search_f1_power_pct": (
            power_pct(search_base.attrs, confidence=confidence, design="one_vs_n")
            if search_base is not None
            else None
        ),
        "baseline": _final_row(base, pairs) if base is not None else None,
        "finalists": sorted(
            [
                _final_row(t, pairs, near_miss=_r(t).near_miss, promoted=_r(t).promoted)
                for t in finals
            ]
            + [_failed_row(t) for t in _failed_finals(all_trials, finals, retried)],
            key=lambda row: row.row["trial"],
        ),
        "pareto": pareto_rows(study, fidelity),
        **_counts(search),
        "search_energy_kwh": spent,
        "search_duration_s": sum(_r(t).duration_s_spent for t in all_trials),
        "extrapolation": _extrapolation(study, finals, fidelity),
        "meter": _meter(all_trials),
        "machine": study.user_attrs.get(StudyAttr.BASELINE_MACHINE),
        "left_out_values": {
            k: v for k, v in study.user_attrs.get(StudyAttr.SKIPPED_KNOBS, {}).items() if "=" in k
        },
        "left_out_knobs": dict(study.user_attrs.get(StudyAttr.LEFT_OUT_KNOBS, {})),
        "waited": list(study.user_attrs.get(StudyAttr.FINALS_DEFERRED, [])),
        "metric": study_metric(_r(t) for t in ([base] if base is not None else []) + all_trials),
    }
    oracle_base = pairs.get(oracle.number) if oracle is not None else None
    saving = (
        oracle_base.values[0] - oracle.values[0]
        if oracle is not None and oracle_base is not None
        else 0.0
    )
    result["payback_runs"] = spent / saving if saving > 0 else None
    # The search's cost in runs of the baseline at full fidelity: comparable across
    # machines and tasks, where kWh are not.
    result["search_baseline_runs"] = spent / base.values[0] if base is not None else None
    if production_runs is not None and base is not None:
        chosen = oracle if oracle is not None else base
        result["production_runs"] = production_runs
        result["total_energy_kwh"] = spent + production_runs * chosen.values[0]
        result["production_baseline_kwh"] = production_runs * base.values[0]
    return SearchResult(**result)


def _failed_finals(
    trials: list[FrozenTrial], finals: list[FrozenTrial], retried: set[int]
) -> list[FrozenTrial]:
    """The last failed final trial of each bundle (its runs could not be judged against
    the baseline's, say) that has no completed final trial."""
    import optuna

    done = {_r(t).knobs for t in finals}
    last = {
        r.knobs: t
        for t in trials
        if t.state == optuna.trial.TrialState.FAIL
        and t.number not in retried
        and (r := _r(t)).is_final
        and r.knobs
        and r.knobs not in done
    }
    return list(last.values())


def _failed_row(t: FrozenTrial) -> ResultRow:
    """A failed finalist's row: its knobs and why it failed, no verdict."""
    row = trial_row(t)
    row["f1_verdict"] = None
    r = _r(t)
    return ResultRow(row, near_miss=r.near_miss, error=r.error or "its final trial failed")


def _counts(search: list[FrozenTrial]) -> dict[str, Any]:
    """How the search trials ended, and why each pruned or failed one did."""
    import optuna

    state = optuna.trial.TrialState
    return {
        "n_trials": len(search),
        "n_complete": sum(t.state == state.COMPLETE for t in search),
        "n_pruned": sum(t.state == state.PRUNED for t in search),
        "n_failed": sum(t.state == state.FAIL for t in search),
        "n_guided": sum(_r(t).phase == Phase.GUIDED for t in search),
        "n_reused": sum(_r(t).reused_from is not None for t in search),
        "pruned": _why(search, state.PRUNED, "reason", TrialAttr.PRUNED_REASON),
        "failed": _why(search, state.FAIL, "error", TrialAttr.ERROR),
    }


def _cheapest(trials: list[FrozenTrial], wanted: Callable[[F1Verdict], bool]) -> FrozenTrial | None:
    """The lowest-energy trial whose stored verdict is ``wanted``."""
    found = cheapest_feasible(
        [t.values[0] for t in trials], [wanted(verdict_of(_r(t).attrs)) for t in trials]
    )
    return None if found is None else trials[found]


@dataclass(frozen=True, slots=True)
class _OracleChoice:
    """The oracle's trial number (``None``: none), the finalists confirmed feasible and
    the rule that chose, in words for the output."""

    trial: int | None
    confirmed: frozenset[int]
    note: str


def _choose_oracle(
    bundles: list[FrozenTrial],
    pairs: dict[int, FrozenTrial | None],
    *,
    loss_pct: float,
    confidence: float,
) -> _OracleChoice:
    """The cheapest finalist confirmed within the budget by Holm's rule over all finalists.

    Each finalist tested alone at ``confidence`` gives m chances to confirm a false one;
    Holm keeps that chance at ``1 - confidence`` for the set. Finals without kept
    predictions (replayed or older studies) have no p-value: there the oracle is the
    cheapest finalist whose own verdict is feasible, and the note says so.
    """
    looks = [_r(t).look for t in bundles]
    if bundles and all(look is not None for look in looks):
        return _by_looks(bundles, looks, confidence)
    finalists: list[Finalist] = []
    for t in bundles:
        base = pairs.get(t.number)
        delta = (
            judged_delta(_r(t).attrs, _r(base).attrs, budget_pct=loss_pct, confidence=confidence)
            if base is not None
            else None
        )
        if delta is None:
            break
        finalists.append(Finalist(str(t.number), delta, t.values[0], bool(_r(t).degenerate)))
    else:
        if finalists:
            chosen = select_oracle(finalists, alpha=1.0 - confidence)
            return _OracleChoice(
                trial=int(chosen.key) if chosen.key is not None else None,
                confirmed=frozenset(int(k) for k in chosen.confirmed),
                note=(
                    f"the cheapest finalist confirmed within the budget by Holm's rule over "
                    f"{len(finalists)} finalists (chance of confirming any false one "
                    f"<= {100 * chosen.alpha:g}%); {len(chosen.confirmed)} confirmed"
                ),
            )
    oracle = _cheapest(bundles, lambda v: v is F1Verdict.FEASIBLE)
    return _OracleChoice(
        trial=oracle.number if oracle is not None else None,
        confirmed=frozenset(
            t.number for t in bundles if verdict_of(_r(t).attrs) is F1Verdict.FEASIBLE
        ),
        note=(
            "the cheapest finalist judged feasible on its own (finals without kept "
            "predictions: no p-values for Holm's rule over the finalists)"
        ),
    )


def _saving_only(
    choice: _OracleChoice, bundles: list[FrozenTrial], pairs: dict[int, FrozenTrial | None]
) -> _OracleChoice:
    """The cheapest confirmed finalist that used less energy than the baseline of its
    rounds: one whose short run looked cheaper but whose full runs cost more (a schedule
    change on a generative task did: +2.3 %) is confirmed within the F1 budget, and no
    answer. The F1 confirmations stand as they are."""

    def saves(t: FrozenTrial) -> bool:
        point = _energy(t, pairs.get(t.number))[1]
        if point is not None:
            return point < 0
        base = pairs.get(t.number)
        return base is None or t.values[0] < base.values[0]

    saving = [t for t in bundles if t.number in choice.confirmed and saves(t)]
    best = min(saving, key=lambda t: t.values[0], default=None)
    trial = best.number if best is not None else None
    if trial == choice.trial:
        return choice
    return dataclasses.replace(
        choice,
        trial=trial,
        note=f"{choice.note}; a confirmed finalist that used more energy than the baseline "
        "in its full runs is not an answer",
    )


def _by_looks(bundles: list[FrozenTrial], looks: list[Any], confidence: float) -> _OracleChoice:
    """The cheapest finalist confirmed at the look that ended its rounds.

    Each look confirmed by Holm's rule over its finalists at its share of the error rate;
    the shares sum to ``1 - confidence`` (see ``greensearch.search._sequential``).
    """
    confirmed = [t for t, look in zip(bundles, looks, strict=True) if look["confirmed"]]
    oracle = min(confirmed, key=lambda t: t.values[0], default=None)
    rounds = sorted({int(look["rounds"]) for look in looks})
    return _OracleChoice(
        trial=oracle.number if oracle is not None else None,
        confirmed=frozenset(t.number for t in confirmed),
        note=(
            f"the cheapest finalist confirmed within the budget by Holm's rule at the look "
            f"that ended its rounds ({', '.join(map(str, rounds))} rounds; the looks' shares "
            f"of the error rate sum to {100 * (1 - confidence):g}%, the chance of confirming "
            f"any false finalist); {len(confirmed)} confirmed"
        ),
    )


def _confidence(study: Study, base: FrozenTrial) -> float:
    """The study's confidence; a study that did not store it: the baseline's judgement's."""
    stored = study.user_attrs.get(StudyAttr.CONFIDENCE, _r(base).f1_confidence)
    return DEFAULT_CONFIDENCE if stored is None else float(stored)


def _within(t: FrozenTrial, budget_f1_pct: float) -> bool:
    """Whether a final's point estimate of ΔF1 meets the budget (user's sign, ``-1``)."""
    point = _r(t).delta_f1_pct
    return point is not None and point >= budget_f1_pct


#: Past this many rounds, ``to confirm`` names no count: none is worth running.
_MOST_ROUNDS_WORTH_NAMING = 100


def _to_confirm(t: FrozenTrial, budget_f1_pct: float) -> str:
    """What would settle an uncertain verdict, for the output.

    The bound's distance from the point shrinks about as 1/sqrt(rounds): the rounds at
    which it would clear the budget if the point estimate held.
    """
    r = _r(t)
    rounds = int(r.n_seeds or r.repeats or 1)
    point, bounds = r.delta_f1_pct, r.delta_f1_bounds_pct
    margin = None if point is None else point - budget_f1_pct
    if point is None or not bounds or margin is None or margin <= 0 or bounds[0] >= point:
        return "a larger test split, or a looser budget"
    needed = math.ceil(rounds * ((point - bounds[0]) / margin) ** 2)
    if needed <= rounds:
        return (
            "it clears the budget alone; Holm's rule over the finalists (or a later look's "
            "share of the error rate) asks more: more rounds (--max-rounds) or fewer finalists"
        )
    if needed > _MOST_ROUNDS_WORTH_NAMING:
        return (
            f"more than {_MOST_ROUNDS_WORTH_NAMING} rounds even if its point estimate holds "
            f"(it lies {margin:.2g}% inside the budget; the interval spans "
            f"{bounds[1] - bounds[0]:.3g}%): a larger test split, or a looser budget"
        )
    return (
        f"about {needed} rounds if its point estimate holds (--repeats {needed}; it had "
        f"{rounds}), a larger test split, or a looser budget"
    )


def _final_row(t: FrozenTrial, pairs: dict[int, FrozenTrial | None], **extra: Any) -> ResultRow:
    """A full-fidelity trial's row: ΔEnergy's point and interval against the baseline of
    its rounds (one estimator, see :func:`_energy`)."""
    row = trial_row(t)
    interval, point = _energy(t, pairs.get(t.number))
    if point is not None:
        row["delta_energy_pct"] = point
    return ResultRow(row, interval, **extra)


def _energy(t: FrozenTrial, base: FrozenTrial | None) -> tuple[EnergyInterval, float | None]:
    """ΔEnergy's 95 % interval, and the point that goes with it where they are paired.

    Paired by round where both ran in rounds: the geometric mean of the per-round ratios
    and its t interval (:func:`greensearch.stats.energy_delta`); else (older studies) the
    runs against the baseline's mean, the point left as stored.
    """
    r = _r(t)
    runs = r.energy_kwh_runs
    if base is None or len(runs) < 2:
        return EnergyInterval(None), None
    # a finalist that stopped early pairs with the baseline's first rounds (_sequential)
    base_runs = _r(base).energy_kwh_runs[: len(runs)]
    if r.rounds and _r(base).rounds and len(base_runs) == len(runs) and t is not base:
        paired = energy_delta(base_runs, runs)
        ci = list(paired.ci95_pct) if paired.ci95_pct is not None else None
        return EnergyInterval(ci, "paired rounds", r.attrs.get("energy_kwh_ci95")), (
            paired.delta_pct
        )
    stats = describe([(e / base.values[0] - 1.0) * 100.0 for e in runs])
    return EnergyInterval(
        [float(stats["ci95_low"] or 0.0), float(stats["ci95_high"] or 0.0)],  # two runs or more
        "runs vs baseline mean",
        r.attrs.get("energy_kwh_ci95"),
    ), None


def _why(
    trials: list[FrozenTrial], state: TrialState, field: str, attr: str
) -> list[dict[str, Any]]:
    """The trials in ``state``, each with its knobs and the stored ``attr`` as ``field``."""
    rows = []
    for t in trials:
        if t.state == state:
            r = _r(t)
            rows.append({"trial": t.number, "knobs": r.knobs, field: r.attrs.get(attr)})
    return rows


def _extrapolation(
    study: Study, finals: list[FrozenTrial], fidelity: float
) -> dict[str, Any] | None:
    """Relative error of the low-fidelity energy estimate against the full measurement."""
    if fidelity >= 1.0:
        return None
    low = {_r(t).knobs: t for t in completed_at(study, fidelity)}
    short_base, full_base = (
        low.get(""),
        next((t for t in finals if _r(t).is_baseline), None),
    )
    margin = _contradiction_margin_pct(short_base)
    errors = []
    for t in finals:
        est = low.get(_r(t).knobs)
        if est is not None:
            row = {
                "knobs": _r(t).knobs,
                "estimated_kwh": est.values[0],
                "measured_kwh": t.values[0],
                "error_pct": (est.values[0] / t.values[0] - 1.0) * 100.0,
            }
            if short_base is not None and full_base is not None and t is not full_base:
                short = (est.values[0] / short_base.values[0] - 1.0) * 100.0
                full = (t.values[0] / full_base.values[0] - 1.0) * 100.0
                row.update(
                    short_delta_energy_pct=short,
                    full_delta_energy_pct=full,
                    contradicts_short_run=margin is not None and abs(full - short) > margin,
                )
            errors.append(row)
    if not errors:
        return None
    abs_err = [abs(e["error_pct"]) for e in errors]
    return {
        "finalists": errors,
        "median_abs_error_pct": statistics.median(abs_err),
        "max_abs_error_pct": max(abs_err),
    }


def _contradiction_margin_pct(short_base: FrozenTrial | None) -> float | None:
    """2 σ of a difference of two runs' ΔEnergy, from the search baseline's repeats: a
    finalist's full-run ΔEnergy further than this from its short run's contradicts it."""
    if short_base is None:
        return None
    r = _r(short_base)
    std, mean = r.attrs.get("energy_kwh_std"), r.energy_kwh
    if not std or not mean:
        return None
    return 2.0 * 2.0**0.5 * std / mean * 100.0


def _meter(trials: list[FrozenTrial]) -> MeterSummary:
    methods: set[str] = {m for m in (_r(t).method for t in trials) if m}
    meters: set[str] = {m for m in (_r(t).meter for t in trials) if m}
    return {
        "name": ",".join(sorted(meters)) or None,
        "method": "measured" if methods == {"measured"} else ("estimated" if methods else None),
    }
