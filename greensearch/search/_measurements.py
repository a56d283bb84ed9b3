"""Measurements for the checker: paper-format tables and the noise they imply.

The paper's Table I (``variant``, ``code_bundle``, ``delta_total_pct``, ``delta_f1_pct``, …)
is the first source of isolated measurements; a study's trials come later. ``code_bundle`` is
used, not ``bundle``: it is what really ran (V10 is fp16 + pinned memory + 4 workers).
Energy ratios come from ``delta_total_pct`` (the paper computed it from unrounded data; the
kWh columns keep three digits).

Noise is relative (std / mean of one measurement). With repeated baseline runs use
:func:`noise_from_repeats`; the paper ran each variant once, so :func:`equivalent_pairs` finds
runs that should agree (the same layers pruned at the top or at the bottom do the same
work) and :func:`noise_from_pairs` turns their gaps into a std: for two runs of one setting
``Var(a - b) = 2σ²``, hence ``σ = sqrt(mean((a - b)²) / 2)`` (on log-ratios for energy).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from greensearch.exceptions import ConfigError
from greensearch.knobs import Bundle, format_bundle, parse_bundle
from greensearch.search._orthogonality import OrthogonalityChecker

__all__ = [
    "MeasuredRow",
    "NoiseEstimate",
    "equivalent_pairs",
    "estimate_table_noise",
    "noise_from_pairs",
    "noise_from_repeats",
    "observe_rows",
    "read_paper_table",
]

_REQUIRED = ("variant", "code_bundle", "delta_total_pct", "delta_f1_pct")

#: Knobs whose ``N:side`` value does the same work on either side (pruning N layers).
_SIDE_INSENSITIVE = frozenset({"layer_prune"})


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


@dataclass(frozen=True, slots=True)
class NoiseEstimate:
    """Noise of one measurement, with the evidence.

    Attributes:
        noise_rel: relative energy std (``0.01`` is 1 %).
        noise_f1_pct: ΔF1 std in percent.
        detail: one line naming the evidence, for the user.
    """

    noise_rel: float
    noise_f1_pct: float
    detail: str


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


def equivalent_pairs(rows: Sequence[MeasuredRow]) -> list[tuple[MeasuredRow, MeasuredRow]]:
    """Pairs of non-baseline rows that should measure the same: equal bundles, where the side
    of a layer pruning (``12:top`` vs ``12:bottom``) is ignored (same work either side)."""
    groups: dict[str, list[MeasuredRow]] = {}
    for row in rows:
        if not row.bundle:
            continue  # baselines are ratio 1 by definition: their gaps say nothing
        key = {k: (v.split(":")[0] if k in _SIDE_INSENSITIVE else v) for k, v in row.bundle.items()}
        groups.setdefault(format_bundle(key), []).append(row)
    return [(members[0], other) for members in groups.values() for other in members[1:]]


def noise_from_pairs(pairs: Iterable[tuple[float, float]], *, relative: bool = True) -> float:
    """Std of one measurement from pairs that should agree: ``sqrt(mean(d²) / 2)``.

    Args:
        pairs: values of the two runs of each pair (energy ratios, or ΔF1 in percent).
        relative: ``True`` takes ``d`` on logs (relative noise, values must be > 0);
            ``False`` takes plain differences (ΔF1 noise in percent).

    Raises:
        ConfigError: no pairs, or a non-positive value with ``relative``.
    """
    diffs = []
    for a, b in pairs:
        if relative and not (a > 0 and b > 0):
            raise ConfigError(f"relative noise needs positive values, got {a!r} and {b!r}")
        diffs.append(math.log(a / b) if relative else a - b)
    if not diffs:
        raise ConfigError(
            "cannot estimate noise: no pairs of runs that should agree; "
            "pass the noise explicitly (--noise-pct)"
        )
    return math.sqrt(sum(d * d for d in diffs) / len(diffs) / 2.0)


def noise_from_repeats(values: Sequence[float]) -> float:
    """Relative std (sample std / mean) of repeated runs of one setting, e.g. the baseline.

    Raises:
        ConfigError: fewer than two runs or a non-positive mean.
    """
    if len(values) < 2:
        raise ConfigError(f"noise needs at least 2 repeated runs, got {len(values)}")
    mean = sum(values) / len(values)
    if not mean > 0:
        raise ConfigError(f"repeated runs must have a positive mean energy, got {mean!r}")
    var = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return math.sqrt(var) / mean


def estimate_table_noise(rows: Sequence[MeasuredRow]) -> NoiseEstimate:
    """Energy and ΔF1 noise from a table's :func:`equivalent_pairs`.

    Raises:
        ConfigError: the table has no equivalent pairs.
    """
    pairs = equivalent_pairs(rows)
    energy = noise_from_pairs((a.energy_ratio, b.energy_ratio) for a, b in pairs)
    f1 = noise_from_pairs(((a.delta_f1_pct, b.delta_f1_pct) for a, b in pairs), relative=False)
    names = ", ".join(f"{a.variant}/{b.variant}" for a, b in pairs)
    return NoiseEstimate(
        energy,
        f1,
        f"std of one run from {len(pairs)} pairs that should agree "
        f"({names}): energy {energy:.2%}, ΔF1 {f1:.3g}%",
    )


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
