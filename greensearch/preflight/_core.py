"""The collector every preflight fills: problems (refuse) and notes (say, then go on).

A preflight runs each check even after one failed, so the user sees every problem of an
input in one round, before any storage, file or energy is spent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from greensearch.exceptions import ConfigError, PreflightError

__all__ = ["Preflight"]

T = TypeVar("T")


class Preflight:
    """Problems and notes found before a command starts its work."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.notes: list[str] = []

    def problem(self, message: str | None) -> None:
        """Record one problem (``None``: nothing wrong), once."""
        if message and message not in self.problems:
            self.problems.append(message)

    def attempt(self, check: Callable[..., T], *args: object, **kwargs: object) -> T | None:
        """Run a check that raises :class:`ConfigError`; keep its problems, return ``None``."""
        try:
            return check(*args, **kwargs)
        except PreflightError as err:
            for message in err.problems:
                self.problem(message)
        except ConfigError as err:
            self.problem(str(err))
        return None

    def raise_if_any(self) -> None:
        """Refuse to start: every problem, one line each (the CLI exits 2).

        Raises:
            PreflightError: at least one problem was found.
        """
        if self.problems:
            raise PreflightError(self.problems)
