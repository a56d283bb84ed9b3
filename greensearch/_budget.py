"""The F1-budget syntax shared by ``plot``, ``optimize`` and the search.

A budget is how much F1 a user accepts to lose, in percent of the baseline's F1. People write
it as a loss (``-1%``) or as a magnitude (``1%``); both mean the same, so one parser keeps
every command reading it alike.
"""

from __future__ import annotations

import math
import re

from greensearch.exceptions import ConfigError

__all__ = ["parse_f1_budget"]

_BUDGET = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)%$")


def parse_f1_budget(text: str) -> float:
    """Parse ``-1%``, ``-0.5%`` or ``1%`` into the F1 budget in percent.

    Args:
        text: the budget as typed; the sign is optional and the ``%`` is required, so a
            bare ``0.01`` (a fraction?) cannot be misread as a percentage.

    Returns:
        The budget in the user's sign, the loss negative (``-1.0`` for ``-1%`` and ``1%``).

    Raises:
        ConfigError: on any other text, or a budget above 100%.

    """
    cleaned = text.strip()
    if not _BUDGET.match(cleaned):
        raise ConfigError(
            f"bad F1 budget {text!r}; write the accepted F1 loss in percent, e.g. -1% or 0.5%"
        )
    value = abs(float(cleaned[:-1]))
    if not math.isfinite(value) or value > 100.0:
        raise ConfigError(f"bad F1 budget {text!r}; a loss cannot exceed 100%")
    return 0.0 - value  # 0.0, never -0.0, for a zero budget
