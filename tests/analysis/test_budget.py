from __future__ import annotations

import pytest

from greensearch._budget import parse_f1_budget
from greensearch.exceptions import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [("-1%", -1.0), ("-0.5%", -0.5), ("1%", -1.0), (" 0.25% ", -0.25), ("0%", 0.0), ("-.5%", -0.5)],
)
def test_budget_spellings_mean_the_users_signed_budget(text: str, expected: float) -> None:
    assert parse_f1_budget(text) == expected


@pytest.mark.parametrize(
    "text",
    ["1", "-1", "0.01", "1 %", "+1%", "%", "-%", "abc", "nan%", "1e1%", "101%", "", "--1%", "1%%"],
)
def test_other_budget_texts_are_config_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="F1 budget"):
        parse_f1_budget(text)
