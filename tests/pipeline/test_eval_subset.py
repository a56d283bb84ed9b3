"""Which test examples a short run predicts."""

from __future__ import annotations

import pytest

from greensearch.pipeline._eval_subset import MIN_EVAL_EXAMPLES, eval_indices


def test_a_short_run_predicts_its_share_never_below_the_floor() -> None:
    picked = eval_indices(4000, 0.25, seed=42)
    assert picked is not None and len(picked) == 1000
    assert picked == sorted(set(picked)) and 0 <= picked[0] and picked[-1] < 4000
    small = eval_indices(1000, 0.1, seed=42)
    assert small is not None and len(small) == MIN_EVAL_EXAMPLES


def test_the_whole_split_when_the_share_covers_it() -> None:
    assert eval_indices(4000, 1.0, seed=42) is None
    assert eval_indices(MIN_EVAL_EXAMPLES, 0.2, seed=42) is None


def test_the_split_seed_alone_decides_the_examples() -> None:
    assert eval_indices(3000, 0.25, seed=7) == eval_indices(3000, 0.25, seed=7)
    assert eval_indices(3000, 0.25, seed=7) != eval_indices(3000, 0.25, seed=8)


def test_a_fraction_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        eval_indices(100, 0.0, seed=1)
