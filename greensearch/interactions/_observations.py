"""Observations for the interaction model: measured bundles relative to their baseline.

The paper's Table I (``variant``, ``code_bundle``, ``delta_total_pct``, ``delta_f1_pct``, …)
is the first source of isolated measurements; a study's trials come later. ``code_bundle`` is
used, not ``bundle``: it is what really ran (V10 is fp16 + pinned memory + 4 workers).
Energy ratios come from ``delta_total_pct`` (the paper computed it from unrounded data; the
kWh columns keep three digits).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from greensearch.exceptions import ConfigError
from greensearch.interactions._model import OrthogonalityChecker
from greensearch.knobs import Bundle, format_bundle, parse_bundle

__all__ = ["MeasuredRow", "observe_rows", "read_paper_table"]

_REQUIRED = ("variant", "code_bundle", "delta_total_pct", "delta_f1_pct")


@dataclass(frozen=True, slots=True)
class MeasuredRow:
    """One measured variant relative to its baseline.

    Attributes:
        variant: the row's id (``V25``).
        bundle: knob name -> raw value, from ``code_bundle``.
        energy_ratio: energy / baseline energy (``1 + ΔE% / 100``).
        delta_f1_pct: ΔF1 in percent of baseline F1.
    """

    variant: str
    bundle: Bundle
    energy_ratio: float
    delta_f1_pct: float

    @property
    def text(self) -> str:
        """Canonical bundle text."""
        return format_bundle(self.bundle)


def read_paper_table(path: str | Path) -> list[MeasuredRow]:
    """Read a paper-format CSV (like the paper's ``table1.csv``) into measured rows.

    Raises:
        ConfigError: missing file or column, a non-number, or a bad ``code_bundle``.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"CSV file {str(path)!r} not found; pass an existing file to --csv")
    try:
        with path.open(newline="", encoding="utf-8") as f:
            records = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ConfigError(f"cannot read CSV {str(path)!r}: {err}".splitlines()[0]) from err
    missing = [c for c in _REQUIRED if not records or c not in records[0]]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}; expected the "
            "paper's Table I format (variant, code_bundle, delta_total_pct, ...)"
        )
    rows = []
    for rec in records:
        variant = (rec["variant"] or "").strip()
        try:
            bundle = parse_bundle(rec["code_bundle"] or "")
            ratio = 1.0 + float(rec["delta_total_pct"]) / 100.0
            f1 = float(rec["delta_f1_pct"])
        except ValueError as err:
            raise ConfigError(f"{path}: variant {variant!r}: not a number ({err})") from err
        except ConfigError as err:
            raise ConfigError(f"{path}: variant {variant!r}: {err}") from err
        if not (math.isfinite(ratio) and ratio > 0 and math.isfinite(f1)):
            raise ConfigError(
                f"{path}: variant {variant!r}: delta_total_pct must be > -100 "
                "and both deltas finite"
            )
        rows.append(MeasuredRow(variant, bundle, ratio, f1))
    return rows


def observe_rows(
    checker: OrthogonalityChecker,
    rows: Iterable[MeasuredRow],
    *,
    singles_only: bool = False,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Feed measured rows to a checker; rows it cannot take are skipped and named.

    Args:
        checker: receives :meth:`~OrthogonalityChecker.observe` calls.
        rows: measured rows, e.g. from :func:`read_paper_table`.
        singles_only: feed only isolated knobs (one knob per bundle).
        exclude: canonical bundle texts (:meth:`OrthogonalityChecker.canonical`) to leave
            out (e.g. the bundle being judged, so its verdict is a genuine prediction).

    Returns:
        One line per skipped row (a knob the registry lacks or rejects), for the user.
    """
    skip = set(exclude)
    notes = []
    for row in rows:
        if not row.bundle or (singles_only and len(row.bundle) != 1):
            continue
        try:
            if checker.canonical(row.bundle) in skip:
                continue
            checker.observe(row.bundle, row.energy_ratio, row.delta_f1_pct)
        except ConfigError as err:
            notes.append(f"{row.variant} ({row.text}) not used: {err}")
    return notes
