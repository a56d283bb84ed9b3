"""When no finalist is confirmed: promote the next most promising bundle, if it pays.

Why: on a task whose F1 the finals resolve only coarsely, the cheapest finalists are
often *undecidable* (their interval straddles the budget by the last round), and the
answer would be "keep the baseline" while a bundle that saves less but surely within the
budget was measured in the search. Such a bundle is promoted to a final phase of its own
(a new invocation, so its rounds pair with a baseline measured beside them), judged by
the same rule, and named the oracle if confirmed.

Why only with ``--production-runs N``: a promotion costs its rounds (``repeats`` runs of
the baseline and of the bundle), which only the user's own runs can repay. A bundle is
promoted when its expected saving over those runs covers that cost:
``P(ΔF1 within budget) x (1 - ratio) x N > repeats x (1 + ratio)`` (in baseline runs;
the chance is the short run's bootstrap share, ``ratio`` its extrapolated energy over the
short baseline's). At most :data:`MAX_PROMOTIONS` promotions per study, so a resume never
promotes again what an earlier call already judged.

Why the level still holds: each final phase confirms at its own share of the error rate
(:func:`phase_confidence`): with ``--production-runs`` the first phase gets half of
``1 - confidence`` and each possible promotion an equal part of the other half, so the
chance of confirming any false finalist over all phases stays within ``1 - confidence``
by a union bound, however many promotions run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from greensearch.record import TrialRecord, search_baseline
from greensearch.search._f1_judging import short_run_chance

__all__ = ["MAX_PROMOTIONS", "Candidate", "candidates", "phase_confidence", "pick_promotion"]

#: Final phases a study may add after its first one, each for one promoted bundle.
MAX_PROMOTIONS = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    """A search bundle that could be promoted.

    Attributes:
        knobs: Canonical bundle text.
        energy_ratio: Its extrapolated energy over the search baseline's.
        chance: Its short run's chance of meeting the budget (the bootstrap share; 1 for
            a feasible point estimate where no predictions were kept).
    """

    knobs: str
    energy_ratio: float
    chance: float

    @property
    def value(self) -> float:
        """Expected saving per production run, in baseline runs."""
        return self.chance * max(1.0 - self.energy_ratio, 0.0)

    def pays(self, production_runs: int, repeats: int) -> bool:
        """Whether its expected saving over the runs covers the rounds that judge it."""
        return self.value * production_runs > repeats * (1.0 + self.energy_ratio)


def candidates(
    search: Iterable[TrialRecord], judged: set[str], budget_pct: float
) -> list[Candidate]:
    """Bundles of the search trials (at one fidelity) that are not judged yet, cheaper
    than the search baseline, not degenerate and not confidently over the budget
    (:func:`~greensearch.search._f1_judging.short_run_chance`)."""
    trials = [r for r in search if r.values and r.knobs is not None and not r.degenerate]
    base = search_baseline(trials)
    if base is None or base.values is None:
        return []
    found: dict[str, Candidate] = {}
    for r in trials:
        if not r.knobs or r.knobs in judged or r.values is None:
            continue
        ratio = r.values[0] / base.values[0]
        chance = short_run_chance(r, budget_pct)
        if ratio >= 1.0 or chance is None:
            continue
        best = found.get(r.knobs)
        if best is None or ratio < best.energy_ratio:
            found[r.knobs] = Candidate(r.knobs, ratio, chance)
    return list(found.values())


def pick_promotion(
    pool: Sequence[Candidate], *, production_runs: int | None, repeats: int
) -> Candidate | None:
    """The candidate of largest expected saving, if it pays for its rounds; else ``None``."""
    if production_runs is None or not pool:
        return None
    best = max(pool, key=lambda c: (c.value, -c.energy_ratio, c.knobs))
    return best if best.value > 0 and best.pays(production_runs, repeats) else None


def phase_confidence(confidence: float, *, promotions_possible: bool, promoted: bool) -> float:
    """The confidence one final phase confirms at (see the module's docstring).

    Without possible promotions, or under the point-estimate rule (0.5), the study's.
    """
    if not promotions_possible or confidence <= 0.5:
        return confidence
    alpha = 1.0 - confidence
    return 1.0 - (alpha / (2 * MAX_PROMOTIONS) if promoted else alpha / 2)
