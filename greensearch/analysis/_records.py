"""One normalized table of variants: the only input every analysis reads.

The paper's Table I, ``greensearch run --json`` records and (later) Optuna trials all become
the same columns here, so Pareto, synergy and plots never care where numbers came from.
Deltas are percent relative to the baseline row (the one with no knobs). Where a source
reports a delta itself (the paper does, from unrounded data), that value is kept; every other
delta is computed here from the absolute columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from greensearch.exceptions import ConfigError
from greensearch.knobs import format_bundle, parse_bundle
from greensearch.schema import FOLDED_WINDOWS, SCRIPT_WINDOW, STAGES

__all__ = [
    "COLUMNS",
    "FOLDED_WINDOWS",
    "PAPER_COLUMNS",
    "PAPER_DEGENERATE_VARIANTS",
    "STAGES",
    "baseline_row",
    "from_records",
    "load_paper_csv",
]


#: Columns of the normalized table, in order.
COLUMNS: tuple[str, ...] = (
    "variant",
    "knobs",
    "is_baseline",
    *(f"energy_{s}_kwh" for s in STAGES),
    "energy_kwh",
    "energy_kwh_std",
    *(f"{s}_duration_s" for s in STAGES),
    "duration_s",
    "f1",
    "delta_energy_pct",
    "delta_time_pct",
    "delta_f1_pct",
    "delta_f1_ci95_low_pct",
    "delta_f1_ci95_high_pct",
    "f1_verdict",
    "n_seeds",
    *(f"delta_energy_{s}_pct" for s in STAGES),
    *(f"delta_time_{s}_pct" for s in STAGES),
    "degenerate",
    "feasible",
    "repeats",
    "meter",
    "method",
    "fidelity",
    "phase",
    "trial",
)


#: Columns a paper-format CSV must have (Table I as transcribed in the paper folder).
PAPER_COLUMNS: tuple[str, ...] = (
    "variant",
    "code_bundle",
    *(f"{s}_kwh" for s in STAGES),
    "total_kwh",
    "delta_total_pct",
    "delta_f1_pct",
    "total_time_s",
    "eval_time_s",
    "delta_eval_time_pct",
)

#: Rows whose model learned nothing (predicts one class: F1 equals the all-"not vulnerable"
#: score). The table has no absolute F1 to detect this, so the paper's README names them.
PAPER_DEGENERATE_VARIANTS: frozenset[str] = frozenset({"V2", "V30"})

#: The paper's meter (CodeCarbon, one task per stage); its deltas are as published.
_PAPER_METER = "codecarbon"
_PAPER_METHOD = "reported"


def load_paper_csv(
    path: str | Path,
    *,
    degenerate_variants: Iterable[str] = PAPER_DEGENERATE_VARIANTS,
) -> pd.DataFrame:
    """Read a paper-format CSV (Table I) into the normalized table.

    ``code_bundle`` (what really ran) gives the knobs, not ``bundle`` (what the text says).
    A ``degenerate`` column in the CSV wins over ``degenerate_variants``. The table does not
    say which rows were repeated, so every row counts as one run.

    Args:
        path: the CSV file.
        degenerate_variants: variants known to predict a single class.

    Returns:
        The normalized table, one row per variant, columns :data:`COLUMNS`.

    Raises:
        ConfigError: if the file is missing or unreadable, lacks columns, holds a
            non-numeric value or a bad bundle, or has no single baseline row.

    """
    raw = _read_csv(Path(path))
    missing = [c for c in PAPER_COLUMNS if c not in raw.columns]
    if missing:
        raise ConfigError(
            f"{path}: missing column(s) {', '.join(missing)}; expected the paper's Table I "
            "format (`greensearch plot --help` lists its columns)"
        )
    numeric = [c for c in PAPER_COLUMNS if c not in ("variant", "code_bundle")]
    for column in numeric:
        raw[column] = _numeric(raw[column], column, path)
    degenerate = set(degenerate_variants)
    rows: list[dict[str, Any]] = []
    for _, rec in raw.iterrows():
        variant = str(rec["variant"]).strip()
        row: dict[str, Any] = {
            "variant": variant,
            "knobs": _canonical(rec["code_bundle"], variant),
            "energy_kwh": rec["total_kwh"],
            "duration_s": rec["total_time_s"],
            "eval_duration_s": rec["eval_time_s"],
            "delta_energy_pct": rec["delta_total_pct"],
            "delta_f1_pct": rec["delta_f1_pct"],
            "delta_time_eval_pct": rec["delta_eval_time_pct"],
            "degenerate": (
                _truthy(rec["degenerate"]) if "degenerate" in raw.columns else variant in degenerate
            ),
            "repeats": 1,
            "meter": _PAPER_METER,
            "method": _PAPER_METHOD,
        }
        for stage in STAGES:
            row[f"energy_{stage}_kwh"] = rec[f"{stage}_kwh"]
        rows.append(row)
    return _finish(rows, source=str(path))


def from_records(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Normalize run records (as ``greensearch run --json`` emits per variant).

    A record looks like ``{"variant": "V1", "knobs": "precision=fp16", "stages": {"train":
    {"energy_kwh": .., "duration_s": ..}, ..}, "energy_kwh": .., "duration_s": .., "metrics":
    {"f1": .., "degenerate": false}, "repeats": 3, "meter": {"name": "nvml", "method":
    "measured"}}``. Optional ``energy_kwh_std`` (sample std over repeats) feeds the noise
    estimate of the synergy analysis. The baseline is the record whose knobs are empty.
    A ``validate`` window counts toward ``train`` (:data:`FOLDED_WINDOWS`). Optional
    ``fidelity``, ``phase`` and ``trial`` say where a number came from; any ``delta_*_pct``
    column given (e.g. against a baseline measured at the record's own fidelity) is kept
    instead of being computed against the table's baseline row.

    Raises:
        ConfigError: if a record lacks a required field, has a bad bundle, or if there is
            not exactly one baseline.

    """
    rows: list[dict[str, Any]] = []
    for index, rec in enumerate(records):
        missing = [k for k in ("variant", "knobs", "energy_kwh", "duration_s") if k not in rec]
        if missing:
            raise ConfigError(
                f"run record #{index} lacks {', '.join(missing)}; records come from "
                "`greensearch run --json`"
            )
        variant = str(rec["variant"])
        metrics = rec.get("metrics") or {}
        meter = rec.get("meter") or {}
        stages = rec.get("stages") or {}
        unknown = sorted(set(stages) - set(STAGES) - set(FOLDED_WINDOWS) - {SCRIPT_WINDOW})
        if unknown:
            raise ConfigError(
                f"run record {variant!r} has unknown stage(s) {', '.join(unknown)}; "
                f"stages are {', '.join(STAGES)}"
            )
        row: dict[str, Any] = {
            "variant": variant,
            "knobs": _canonical(rec["knobs"], variant),
            "energy_kwh": _float(rec["energy_kwh"]),
            "energy_kwh_std": _float(rec.get("energy_kwh_std")),
            "duration_s": _float(rec["duration_s"]),
            "f1": _float(metrics.get("f1")),
            "degenerate": bool(metrics.get("degenerate", False)),
            "feasible": rec.get("feasible", math.nan),
            "repeats": int(rec.get("repeats", 1)),
            "meter": str(meter.get("name", "")),
            "method": str(meter.get("method", "")),
            "fidelity": _float(rec.get("fidelity")),
            "phase": rec.get("phase"),
            "trial": rec.get("trial"),
        }
        row |= {k: _float(v) for k, v in rec.items() if k.startswith("delta_") and k in COLUMNS}
        ci = rec.get("delta_f1_ci95_pct") or (math.nan, math.nan)
        row |= {
            "delta_f1_ci95_low_pct": _float(ci[0]),
            "delta_f1_ci95_high_pct": _float(ci[1]),
            "f1_verdict": rec.get("f1_verdict"),
            "n_seeds": _float(rec.get("n_seeds")),
        }
        for stage in STAGES:
            parts = [stages.get(stage) or {}] + [
                stages.get(w) or {} for w, into in FOLDED_WINDOWS.items() if into == stage
            ]
            for field, column in (
                ("energy_kwh", f"energy_{stage}_kwh"),
                ("duration_s", f"{stage}_duration_s"),
            ):
                values = [_float(p[field]) for p in parts if p.get(field) is not None]
                row[column] = math.fsum(values) if values else math.nan
        rows.append(row)
    return _finish(rows, source="run records")


def baseline_row(df: pd.DataFrame) -> pd.Series:
    """Return the baseline (no knobs) row: the reference of every delta."""
    return df.loc[df["is_baseline"]].iloc[0]


def _finish(rows: list[dict[str, Any]], *, source: str) -> pd.DataFrame:
    """Fill every column, mark the baseline and compute the deltas not already given."""
    df = pd.DataFrame(rows)
    for column in COLUMNS:
        if column not in df.columns:
            df[column] = math.nan
    df = df.loc[:, list(COLUMNS)].copy()
    df["is_baseline"] = df["knobs"] == ""
    n_base = int(df["is_baseline"].sum())
    if n_base != 1:
        raise ConfigError(
            f"{source}: found {n_base} baseline rows (empty knobs); exactly one is needed "
            "because every delta is relative to it"
        )
    if df["variant"].duplicated().any():
        dup = ", ".join(sorted(set(df.loc[df["variant"].duplicated(), "variant"])))
        raise ConfigError(f"{source}: variant name(s) {dup} appear twice; names must be unique")
    base = df.loc[df["is_baseline"]].iloc[0]
    pairs = [
        ("delta_energy_pct", "energy_kwh"),
        ("delta_time_pct", "duration_s"),
        ("delta_f1_pct", "f1"),
    ]
    pairs += [(f"delta_energy_{s}_pct", f"energy_{s}_kwh") for s in STAGES]
    pairs += [(f"delta_time_{s}_pct", f"{s}_duration_s") for s in STAGES]
    for delta, absolute in pairs:
        computed = (df[absolute].astype(float) / float(base[absolute]) - 1.0) * 100.0
        computed = computed.replace([math.inf, -math.inf], math.nan)  # a stage the base lacks
        df[delta] = df[delta].astype(float).fillna(computed)
    df["degenerate"] = df["degenerate"].fillna(False).astype(bool)
    df["repeats"] = df["repeats"].fillna(1).astype(int)
    return df.reset_index(drop=True)


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise ConfigError(f"CSV file {str(path)!r} not found; pass an existing file to --csv")
    try:
        return pd.read_csv(
            path,
            dtype={"variant": str, "code_bundle": str},
            keep_default_na=False,
            na_values={c: ["", "nan", "NaN"] for c in PAPER_COLUMNS[2:]},
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read CSV {str(path)!r}: {err}".splitlines()[0]) from err


def _numeric(column: pd.Series, name: str, path: str | Path) -> pd.Series:
    try:
        return pd.to_numeric(column, errors="raise").astype(float)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{path}: column {name!r} holds a non-number ({err})") from err


def _canonical(text: Any, variant: str) -> str:
    """Canonical bundle text, so equal bundles compare equal whatever their spelling."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    try:
        return format_bundle(parse_bundle(str(text)))
    except ConfigError as err:
        raise ConfigError(f"variant {variant!r}: {err}") from err


def _float(value: Any) -> float:
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"run record value {value!r} is not a number") from err


def _truthy(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "y")
