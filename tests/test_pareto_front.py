"""The one Pareto front and oracle rule of the search and the analysis."""

from __future__ import annotations

import math

from greensearch.pareto import cheapest_feasible, non_dominated


def test_the_front_keeps_what_nothing_beats_on_both_costs_cheapest_first():
    costs = [(3.0, 0.0), (1.0, 2.0), (2.0, 1.0), (2.0, 1.5), (4.0, 0.0), (1.0, 2.0)]
    # (2, 1.5) loses to (2, 1); (4, 0) to (3, 0); the two (1, 2) beat neither each other
    assert non_dominated(costs) == [1, 5, 2, 0]


def test_a_point_with_an_unknown_cost_is_never_on_the_front():
    assert non_dominated([(1.0, math.nan), (2.0, 1.0)]) == [1]


def test_the_oracle_is_the_cheapest_feasible_point_the_first_of_equals():
    assert cheapest_feasible([3.0, 1.0, 2.0, 1.0], [True, False, True, True]) == 3
    assert cheapest_feasible([2.0, 2.0], [True, True]) == 0
    assert cheapest_feasible([1.0], [False]) is None
