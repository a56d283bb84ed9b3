"""Plain-text formatting of figures and tables: what the CLI prints and a Python user
can print the same way (:func:`greensearch.format_result`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["KNOBS_WIDTH", "energy_unit", "fmt_energy", "fmt_pct", "table_lines"]

#: Widest a bundle's knobs print in a table before they wrap after a comma.
KNOBS_WIDTH = 48


def table_lines(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    align: str | None = None,
    wrap_first: int | None = None,
) -> list[str]:
    """A plain text table, one string per line; ``align`` holds one ``l``/``r`` per column
    (default: first column left, the others right, as for figures). ``wrap_first`` breaks a
    longer first cell after its commas (a bundle's knobs) onto indented lines of at most
    that width, so one long bundle does not push every figure off the screen."""
    lines: list[list[str]] = []
    for row in [list(headers), *rows]:
        cells = [str(c) for c in row]
        first = _wrap_commas(cells[0], wrap_first) if wrap_first else [cells[0]]
        lines.append([first[0], *cells[1:]])
        lines.extend([part, *[""] * (len(cells) - 1)] for part in first[1:])
    widths = [max(len(r[i]) for r in lines) for i in range(len(headers))]
    align = align or "l" + "r" * (len(headers) - 1)
    out: list[str] = []
    for n, row in enumerate(lines):
        line = "  ".join(
            c.ljust(w) if a == "l" else c.rjust(w)
            for c, w, a in zip(row, widths, align, strict=True)
        )
        out.append(line.rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def _wrap_commas(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` characters, broken after commas (the lines
    after the first indented by two); a part longer than ``width`` keeps its own line."""
    parts = text.split(",")
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 1 + len(part) <= width:
            lines[-1] += "," + part
        else:
            lines[-1] += ","
            lines.append("  " + part)
    return lines


#: kWh per unit, largest first: what :func:`energy_unit` picks from.
_UNITS = (("kWh", 1.0), ("Wh", 1e-3), ("J", 1e-3 / 3600))


def energy_unit(values: Iterable[float | None]) -> str:
    """One unit for a table column: the one its largest value reads best in, so a column
    never mixes units (``335 J`` under ``0.13 Wh``)."""
    known = [v for v in values if v is not None and not math.isnan(v)]
    return _unit_of(max(known)) if known else "Wh"


def _unit_of(kwh: float) -> str:
    wh = kwh * 1000
    return "kWh" if wh >= 1000 else "Wh" if wh >= 0.1 else "J"


def fmt_energy(kwh: float | None, unit: str | None = None) -> str:
    """Energy in ``unit``, or in the unit that keeps 3 significant digits readable (kWh,
    Wh or J)."""
    if kwh is None or (isinstance(kwh, float) and math.isnan(kwh)):
        return "-"
    name = unit or _unit_of(kwh)
    return f"{kwh / dict(_UNITS)[name]:.3g} {name}"


def fmt_pct(value: float | None) -> str:
    """Signed percentage, or '-' when unknown."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:+.1f}%"
