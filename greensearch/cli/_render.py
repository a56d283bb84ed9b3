"""Small rendering helpers shared by subcommands: tables and JSON to stdout."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from greensearch._text import table_lines

__all__ = ["machine_line", "print_json", "print_table"]


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout (NaN becomes null)."""
    print(json.dumps(_clean(obj), indent=2, sort_keys=False, default=str))


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    file: Any = None,
    align: str | None = None,
    wrap_first: int | None = None,
) -> None:
    """Print a plain text table (:func:`greensearch._text.table_lines`)."""
    for line in table_lines(headers, rows, align=align, wrap_first=wrap_first):
        print(line, file=file or sys.stdout)


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj


def machine_line(machine: dict[str, Any]) -> str:
    """The run's machine in one line: what a figure needs to be read on other hardware."""
    return (
        f"{machine['summary']}; {machine['cpu_threads_used']} threads used; "
        f"fingerprint {machine['fingerprint']}"
    )
