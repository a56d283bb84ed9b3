"""The null models and the verdict the search and the analysis share."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest

from greensearch.interactions import (
    expected_additive_pct,
    expected_multiplicative_pct,
    interaction_verdict,
)


def test_null_models_of_two_savers() -> None:
    # -20 % and -50 % alone: the sum says -70 %, independent savings 1 - 0.8 x 0.5 = -60 %
    assert expected_additive_pct([-20.0, -50.0]) == -70.0
    assert expected_multiplicative_pct([-20.0, -50.0]) == pytest.approx(-60.0)
    # the additive null can expect more than everything; the multiplicative one cannot
    assert expected_additive_pct([-60.0, -70.0]) == -130.0
    assert expected_multiplicative_pct([-60.0, -70.0]) == pytest.approx(-88.0)


@pytest.mark.parametrize(
    ("excess", "band", "verdict"),
    [
        (2.5, 2.0, "synergistic"),
        (-2.5, 2.0, "antagonistic"),
        (2.0, 2.0, "independent"),  # on the band edge: not beyond the noise
        (-2.0, 2.0, "independent"),
        (math.nan, 2.0, "not_judgeable"),
    ],
)
def test_interaction_verdict(excess: float, band: float, verdict: str) -> None:
    assert interaction_verdict(excess, band) == verdict


def test_the_interaction_model_loads_neither_optuna_nor_pandas() -> None:
    code = (
        "import sys, greensearch.interactions; "
        "print(sorted(m for m in ('optuna', 'pandas', 'torch') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    assert out == "[]"
