"""Holm over the finalists keeps the false-oracle rate at alpha; single tests do not."""

from __future__ import annotations

import numpy as np

from greensearch.stats import (
    Finalist,
    NoiseModel,
    delta_f1,
    holm_confirmed,
    select_oracle,
    simulate_arms,
)


def test_holm_steps_down_from_the_smallest_p_value():
    # alpha 0.05 over 3: 0.01 <= 0.05/3 yes, 0.02 <= 0.05/2 yes, 0.04 <= 0.05 yes.
    assert holm_confirmed([0.04, 0.01, 0.02], alpha=0.05) == [True, True, True]
    # 0.03 > 0.05/2 stops the walk, so 0.04 is not confirmed although it is below 0.05.
    assert holm_confirmed([0.04, 0.01, 0.03], alpha=0.05) == [False, True, False]
    assert holm_confirmed([0.03, 0.04], alpha=0.05) == [False, False]


def test_two_finalists_at_the_budget_edge_name_a_false_oracle_at_most_5_percent():
    # Both candidates lose exactly the budget (in truth, not feasible); each is tested at
    # 0.95. Naming either one is a false oracle. Seeds dominate the noise, where each
    # single test sits near its 5 %, so two of them err more often than one.
    model = NoiseModel(difficulty_sd=0.05, seed_sd=0.05)
    loss = 0.02  # accuracy points: 2/0.85 = 2.35 % of the F1
    budget = 100 * loss / model.accuracy
    rng = np.random.default_rng(5)
    replicates, holm, single = 200, 0, 0
    for i in range(replicates):
        base, a, b = simulate_arms(rng, model, runs=(3, 3, 3), shifts=(0, -loss, -loss))
        finalists = [
            Finalist(key, delta_f1(base, arm, budget_pct=budget, n_resamples=400, seed=i), e)
            for key, arm, e in (("a", a, 1.0), ("b", b, 2.0))
        ]
        holm += select_oracle(finalists).key is not None
        single += any(f.delta.lower_pct >= -budget for f in finalists)
    assert holm / replicates <= 0.05 + 2 * np.sqrt(0.05 * 0.95 / replicates)
    assert holm < single  # single tests at 0.95 name a false oracle more often


def test_the_cheapest_confirmed_finalist_is_the_oracle():
    model = NoiseModel(n_examples=4000, seed_sd=0.0)
    rng = np.random.default_rng(6)
    base, good, bad = simulate_arms(rng, model, runs=(3, 3, 3), shifts=(0, 0.05, -0.2))
    finalists = [
        Finalist("bad", delta_f1(base, bad, budget_pct=1.0, n_resamples=1000), 0.5),
        Finalist("good", delta_f1(base, good, budget_pct=1.0, n_resamples=1000), 1.0),
        Finalist("broken", delta_f1(base, good, budget_pct=1.0, n_resamples=1000), 0.1, True),
    ]
    choice = select_oracle(finalists)
    assert choice.key == "good"
    assert choice.confirmed == ("good",)
    assert abs(choice.alpha - 0.05) < 1e-12
