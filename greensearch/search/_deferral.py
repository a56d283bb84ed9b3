"""Finals in cost order: a dear candidate waits while cheaper ones may be confirmed.

Why: the oracle is the cheapest finalist confirmed within the budget, so a candidate's
own rounds buy an answer only when every cheaper candidate fails. Judged in the same
phase, it pays its rounds always (``repeats x e``, ``e`` its energy over the baseline's);
judged later, in a phase of its own, it pays them and the baseline's rounds again
(``repeats x (1 + e)``), but only when the cheaper ones all failed. On the live runs of
the default task a third slot went to ``seq_len=128`` at 0.65 of a baseline run per
round, 2.4x the first finalist: 1.95 baseline runs for a bundle that could answer only
if both cheaper ones failed, and both were confirmed.

Rule: the candidates sorted by short-run energy ratio; the cheapest runs now; the next
runs now while ``e < P(every cheaper one now fails) x (1 + e)``, each cheaper one
failing with one minus its short run's chance of meeting the budget
(:func:`~greensearch.search._f1_judging.short_run_chance`), but at least
:data:`MIN_FAIL` (taken as independent); from the first that waits on, every dearer one
waits. A candidate the short runs cannot price runs now. The waiting ones get a phase
of their own (a new invocation, its own baseline rounds) only when the first phase
confirms nothing.

Why the floor: the short-run chance is no chance of being *confirmed* in full runs. On
the reliability replay the cheapest candidate was truly feasible in 9 of 30 draws while
its chance averaged 0.61 (the cheapest short runs are the ones whose F1 loss the short
run hides: a bundle that truly lost 10 % had 0.79), and even a truly lossless bundle
is confirmed only now and then where the finals resolve about the budget. Taken at face
value, the chances made the finals dearer on the replay (median 6.4 baseline runs
against 6.1, the same answers); with the floor the second candidate always runs beside
the first, and the third waits when it costs a third of a baseline run or more.

Why the level holds: of the study's error rate, a phase of ``k_p`` of the ``k``
candidates gets ``k_p / k`` (Holm inside it), so the phases' shares sum to the whole
(a union bound, however the first phase ends), and each candidate's first Holm step is
``alpha / k``, as in one phase of all ``k``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from greensearch.search._promotion import Candidate

__all__ = ["MIN_FAIL", "Deferral", "defer_dear"]

#: The least chance that a cheaper candidate fails to be confirmed (see the docstring).
MIN_FAIL = 0.5


@dataclass(frozen=True, slots=True)
class Deferral:
    """Which finals candidates are judged now and which wait.

    Attributes:
        now: Judged in the first phase, in the order given.
        later: Judged in a phase of their own only if the first confirms nothing,
            cheapest first.
    """

    now: tuple[str, ...]
    later: tuple[str, ...]

    def confidence(self, confidence: float, *, later: bool) -> float:
        """The confidence of the phase of ``now`` (or of ``later``): its share of the
        error rate of ``confidence``. Without waiting candidates, or under the
        point-estimate rule (0.5), ``confidence`` itself."""
        if not self.later or confidence <= 0.5:
            return confidence
        part = len(self.later if later else self.now) / (len(self.now) + len(self.later))
        return 1.0 - (1.0 - confidence) * part


def defer_dear(keys: Sequence[str], priced: Mapping[str, Candidate]) -> Deferral:
    """Split ``keys`` (the finals' candidates) by the rule of the module's docstring.

    Args:
        keys: Candidate bundles (canonical texts), each once.
        priced: Per bundle, its short-run energy ratio and chance of meeting the budget
            (:func:`~greensearch.search._promotion.candidates`); a key without one is
            judged now.
    """
    unpriced = [k for k in keys if k not in priced]
    ordered = sorted((priced[k] for k in keys if k in priced), key=lambda c: c.energy_ratio)
    now: list[str] = []
    later: list[str] = []
    all_fail = 1.0
    for c in ordered:
        if now and (later or c.energy_ratio >= all_fail * (1.0 + c.energy_ratio)):
            later.append(c.knobs)
            continue
        now.append(c.knobs)
        all_fail *= max(1.0 - c.chance, MIN_FAIL)
    kept = set(now) | set(unpriced)
    return Deferral(tuple(k for k in keys if k in kept), tuple(later))
