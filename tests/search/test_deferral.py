"""Finals in cost order: which candidates wait for cheaper ones, and at what level."""

from __future__ import annotations

import random

import pytest

from greensearch.search._deferral import MIN_FAIL, Deferral, defer_dear
from greensearch.search._promotion import Candidate


def _priced(*rows: tuple[str, float, float]) -> dict[str, Candidate]:
    return {k: Candidate(k, ratio, chance) for k, ratio, chance in rows}


def test_the_live_runs_third_slot_waits_for_the_two_cheaper_ones():
    # seed 0 on 608f4ed: 0.27, 0.35 and seq_len=128 at 0.65 of a baseline run per round
    priced = _priced(("a", 0.27, 0.6), ("b", 0.35, 0.6), ("seq_len=128", 0.65, 0.9))
    split = defer_dear(["seq_len=128", "a", "b"], priced)
    # b runs now: 0.35 < 0.5 x 1.35; seq_len=128 waits: 0.65 >= 0.5 x 0.5 x 1.65
    assert split == Deferral(now=("a", "b"), later=("seq_len=128",))


def test_a_sure_short_run_still_fails_half_the_time():
    # the chance is no chance of confirmation: at least MIN_FAIL of failing, so the second
    # candidate always runs beside the first, and a third waits from a third of a baseline
    assert MIN_FAIL == 0.5
    sure = [("a", 0.3, 0.99), ("b", 0.31, 0.99)]
    assert defer_dear(["a", "b", "c"], _priced(*sure, ("c", 0.32, 0.99))).later == ()
    assert defer_dear(["a", "b", "c"], _priced(*sure, ("c", 0.34, 0.99))).later == ("c",)


def test_unsure_cheap_candidates_keep_a_dear_one_beside_them():
    # 0.5 < 0.8 x 0.8 x 1.5: the cheaper ones' chance of failing repays its rounds now
    priced = _priced(("a", 0.3, 0.2), ("b", 0.4, 0.2), ("c", 0.5, 0.5))
    split = defer_dear(["a", "b", "c"], priced)
    assert split.now == ("a", "b", "c") and not split.later


def test_the_candidates_judged_now_are_the_cheapest_ones():
    rng = random.Random(0)
    for _ in range(200):
        rows = [(f"k{i}", rng.uniform(0.05, 0.99), rng.random()) for i in range(5)]
        split = defer_dear([k for k, _, _ in rows], _priced(*rows))
        ratio = {k: r for k, r, _ in rows}
        assert split.now and sorted(split.now + split.later) == sorted(ratio)
        if split.later:
            assert max(ratio[k] for k in split.now) <= min(ratio[k] for k in split.later)
        assert list(split.later) == sorted(split.later, key=ratio.__getitem__)


def test_a_candidate_the_short_runs_cannot_price_is_judged_now():
    priced = _priced(("a", 0.3, 0.99), ("b", 0.6, 0.5), ("c", 0.7, 0.5))
    split = defer_dear(["x", "a", "b", "c"], priced)
    assert split == Deferral(now=("x", "a", "b"), later=("c",))


def test_the_cheapest_is_judged_now_whatever_its_chance():
    assert defer_dear(["a"], _priced(("a", 0.1, 1.0))) == Deferral(now=("a",), later=())


@pytest.mark.parametrize("confidence", [0.95, 0.975, 0.9])
@pytest.mark.parametrize(("now", "later"), [(1, 1), (2, 1), (1, 3)])
def test_the_phases_shares_of_the_error_rate_sum_to_the_whole(confidence, now, later):
    split = Deferral(tuple(f"n{i}" for i in range(now)), tuple(f"l{i}" for i in range(later)))
    alpha = (1 - split.confidence(confidence, later=False)) + (
        1 - split.confidence(confidence, later=True)
    )
    assert alpha == pytest.approx(1 - confidence)
    # each candidate's first Holm step is alpha / k, as in one phase of all k
    k = now + later
    assert (1 - split.confidence(confidence, later=False)) / now == pytest.approx(
        (1 - confidence) / k
    )


def test_without_waiting_candidates_or_levels_the_confidence_is_the_studys():
    assert Deferral(("a", "b"), ()).confidence(0.95, later=False) == 0.95
    assert Deferral(("a",), ("b",)).confidence(0.5, later=True) == 0.5
