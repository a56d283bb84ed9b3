"""Small rendering helpers shared by subcommands: tables and JSON to stdout."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["print_json", "print_table", "fmt_energy", "fmt_pct"]


def print_json(obj: Any) -> None:
    """Print one JSON document on stdout (NaN becomes null)."""
    print(json.dumps(_clean(obj), indent=2, sort_keys=False, default=str))


def print_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    file: Any = None,
    align: str | None = None,
) -> None:
    """Print a plain text table; ``align`` holds one ``l``/``r`` per column (default: first
    column left, the others right, as for figures)."""
    out = file or sys.stdout
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)
    for n, row in enumerate(cells):
        line = "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        )
        print(line.rstrip(), file=out)
        if n == 0:
            print("  ".join("-" * w for w in widths), file=out)


def fmt_energy(kwh: float | None) -> str:
    """Energy in the unit that keeps 3 significant digits readable (kWh, Wh or J)."""
    if kwh is None or (isinstance(kwh, float) and math.isnan(kwh)):
        return "-"
    wh = kwh * 1000
    if wh >= 1000:
        return f"{kwh:.3g} kWh"
    if wh >= 0.1:
        return f"{wh:.3g} Wh"
    return f"{wh * 3600:.3g} J"


def fmt_pct(value: float | None) -> str:
    """Signed percentage, or '-' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.1f}%"


def _clean(obj: Any) -> Any:
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj
