"""Finals that stop when they know: rounds are added while a finalist is undecided.

Why: three full runs per arm resolve an F1 loss of about 1 % on the default task, so a
finalist that truly loses 0.5 % against a 1 % budget is "uncertain" after three rounds
as often as not, and a fixed number of rounds either wastes runs on decided finalists
or stops short on undecided ones. Here the finals look at the verdicts after the
``first`` round and after each later round up to ``max_rounds``, and run the next round
only for the finalists still undecided and still able to become the oracle.

Why the level holds: each look confirms finalists at its own level ``alpha_l`` (Holm
over the finalists of that look), and the levels of all looks sum to ``alpha``. The
chance of confirming any false finalist at any look is at most the sum (a union bound),
whatever the stopping rule does with the data: no correlation between looks is assumed,
so the rule is conservative, and simulation checks it (``tests/search/test_sequential.py``).
Half of ``alpha`` goes to the first look, where most finalists are decided; the rest is
split evenly over the later looks.

A finalist stops early when it is decided (confirmed or confidently infeasible), when it
cannot become the oracle (a cheaper finalist is confirmed), or when it is futile: even
if its point estimate held, the bound at ``max_rounds`` would not clear the budget. A
finalist that cannot be judged at all (its runs report another metric than the
baseline's) stops too, unjudged: its trial fails with that reason when the finals are
recorded, and the others are judged without it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.search._f1_judging import judged_delta, learned_nothing
from greensearch.stats import F1Verdict, Finalist, judge, select_oracle

__all__ = [
    "FIRST_LOOK_SHARE",
    "last_round",
    "LookDecision",
    "decide_look",
    "look_confidence",
]

#: Share of the error rate spent at the first look.
FIRST_LOOK_SHARE = 0.5

#: Why a finalist without kept predictions gets no look (its verdict is its point's).
_UNJUDGED = "fixed rounds (no kept predictions)"


def last_round(repeats: int, max_rounds: int, confidence: float) -> int:
    """The finals' last round: ``max_rounds``, or ``repeats`` (fixed rounds) under the
    point-estimate rule (``confidence`` 0.5 keeps no level, so looking again buys nothing)."""
    return repeats if confidence <= 0.5 else max(max_rounds, repeats)


def look_confidence(confidence: float, first: int, max_rounds: int, rounds: int) -> float:
    """The one-sided confidence of the look after ``rounds`` rounds (``first`` is the
    first look, ``max_rounds`` the last).

    With one look (``max_rounds == first``) it is ``confidence`` itself, the fixed design.

    Raises:
        ValueError: ``rounds`` is not a look.
    """
    if not first <= rounds <= max_rounds:
        raise ValueError(f"round {rounds} is not a look ({first}..{max_rounds})")
    alpha = 1.0 - confidence
    if max_rounds == first:
        return confidence
    if rounds == first:
        return 1.0 - FIRST_LOOK_SHARE * alpha
    return 1.0 - (1.0 - FIRST_LOOK_SHARE) * alpha / (max_rounds - first)


@dataclass(frozen=True, slots=True)
class LookDecision:
    """What one look decided.

    Attributes:
        rounds: Rounds behind the look.
        confidence: Its one-sided confidence (see :func:`look_confidence`).
        confirmed: Finalists confirmed feasible at this look (Holm), cheapest first.
        go_on: Finalists that get another round, with the reason for each one that stops.
        why_stopped: Finalist -> why it gets no further round.
        judged: Finalists judged at this look (not those without kept predictions, nor
            those whose runs cannot be compared with the baseline's).
    """

    rounds: int
    confidence: float
    confirmed: tuple[str, ...]
    go_on: tuple[str, ...]
    why_stopped: Mapping[str, str]
    judged: frozenset[str]


def decide_look(
    attrs: Mapping[str, Mapping[str, Any]],
    *,
    rounds: int,
    confidence: float,
    budget_pct: float,
    max_rounds: int,
    cap_confidence: float | None = None,
) -> LookDecision:
    """Judge every finalist against the baseline (key ``""``) after ``rounds`` rounds.

    Args:
        attrs: Per key, the trial figures of its runs so far (``trial_attrs`` of the
            summary of its rounds, kept predictions included); the baseline under ``""``.
        rounds: Rounds behind every summary.
        confidence: This look's confidence (:func:`look_confidence`).
        budget_pct: The accepted F1 loss (non-negative percent).
        max_rounds: The last look: at it, no finalist goes on.
        cap_confidence: The last look's confidence (default: this look's).
    """
    base = attrs[""]
    finalists: list[Finalist] = []
    verdicts: dict[str, F1Verdict] = {}
    futile: set[str] = set()
    unjudged: set[str] = set()
    failed: dict[str, str] = {}
    energy = {k: float(a["energy_kwh"]) for k, a in attrs.items()}
    empty = learned_nothing(base, 1.0)  # the finals run at full fidelity
    for key, summary in attrs.items():
        if not key:
            continue
        if empty:  # nothing to judge against: every finalist fails with the reason
            failed[key] = f"failed: its baseline failed: {empty}"
            continue
        try:
            delta = judged_delta(summary, base, budget_pct=budget_pct, confidence=confidence)
        except ConfigError as err:  # not comparable with the baseline: this finalist fails
            failed[key] = f"failed: {err}"
            continue
        if delta is None:  # no kept predictions: the fixed design decides, on the point
            unjudged.add(key)
            continue
        verdicts[key] = judge(delta, degenerate=bool(summary.get("degenerate")), min_seeds=2)
        finalists.append(Finalist(key, delta, energy[key], bool(summary.get("degenerate"))))
        shrink = _shrink(rounds, max_rounds, confidence, cap_confidence or confidence)
        bound_at_cap = delta.mean_pct - (delta.mean_pct - delta.lower_pct) * shrink
        if bound_at_cap < -budget_pct:
            futile.add(key)
    confirmed = select_oracle(finalists, alpha=1.0 - confidence).confirmed if finalists else ()
    cheapest = min((energy[k] for k in confirmed), default=math.inf)
    why: dict[str, str] = dict.fromkeys(unjudged, _UNJUDGED) | failed
    for key, verdict in verdicts.items():
        if rounds >= max_rounds:
            why[key] = f"the last look (round {max_rounds})"
        elif key in confirmed:
            why[key] = "confirmed"
        elif verdict is F1Verdict.INFEASIBLE:
            why[key] = "over the budget"
        elif energy[key] >= cheapest:
            why[key] = "a cheaper one confirmed"
        elif key in futile:
            why[key] = f"undecidable by round {max_rounds}"
    go_on = tuple(k for k in verdicts if k not in why)
    return LookDecision(rounds, confidence, tuple(confirmed), go_on, why, frozenset(verdicts))


def _shrink(rounds: int, max_rounds: int, confidence: float, cap_confidence: float) -> float:
    """How far a bound's distance from the point moves in by the last look, if the
    estimate holds: the standard error as 1/sqrt(rounds), the t quantile with its degrees
    of freedom (rounds - 1, as the seed part pairs rounds) and the look's confidence.

    A heuristic for stopping only: it decides which rounds are run, never a verdict.
    """
    from scipy import stats

    if rounds >= max_rounds:
        return 1.0
    now = float(stats.t.ppf(confidence, max(rounds - 1, 1)))
    cap = float(stats.t.ppf(cap_confidence, max_rounds - 1))
    return math.sqrt(rounds / max_rounds) * cap / now
