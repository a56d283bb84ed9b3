"""The macro-F1 branch of compute_metrics, against hand-counted confusion matrices."""

from __future__ import annotations

import pytest

from greensearch.pipeline import compute_metrics


def test_three_classes_give_macro_f1() -> None:
    # class 0: TP 1, FP 1, FN 1 -> F1 1/2; class 1: TP 2, FP 1 -> 4/5; class 2: TP 1, FN 1 -> 2/3
    m = compute_metrics([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0])
    assert m.f1 == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)  # 59/90
    assert m.f1_weighted == pytest.approx(59 / 90)  # equal supports: the same mean
    assert m.accuracy == pytest.approx(4 / 6)
    assert m.majority_share == pytest.approx(3 / 6) and not m.degenerate and m.n == 6


def test_a_stray_class_in_binary_labels_switches_to_macro_over_every_class() -> None:
    # labels are binary, a prediction is not: classes {0, 1, 2}; 0: F1 1, 1: 2/3, 2: 0
    m = compute_metrics([0, 1, 1, 0], [0, 1, 2, 0])
    assert m.f1 == pytest.approx((1 + 2 / 3 + 0) / 3)
