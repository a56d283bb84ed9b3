"""Do knobs combine as their isolated effects predict? Measured bundles vs two null models.

For a bundle of components c (each a single ``knob=value``) measured alone with ΔEnergy d_c:

* additive null: expected Δ = Σ d_c;
* multiplicative null (independent fractional savings s_c = -d_c/100): expected saving
  = 1 - Π(1 - s_c), i.e. expected Δ = (Π(1 + d_c/100) - 1)·100.

Saving means -ΔEnergy in percent of the baseline. The *excess saving* is measured saving minus
expected saving (percentage points); the verdict compares it with the bundle's noise band
(:func:`greensearch.interactions.interaction_band_pp`: ``2σ·sqrt(1 + k)`` for single runs,
σ the relative noise of one run): above +band synergistic, below -band antagonistic,
otherwise independent (within noise). σ, the band and the verdict are the interaction
model's (``greensearch check`` judges a measured bundle by the same rule); this module only
views them as a table. The *synergy ratio* is measured saving / expected saving under the
multiplicative null; it is only reported when the expected saving exceeds the band, because
a ratio against a near-zero or negative expectation flips meaning. ``verdict`` uses the
multiplicative null (the additive one can expect savings above 100 %); ``verdict_additive``
is given alongside.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import pandas as pd

from greensearch.analysis._pareto import axis_columns
from greensearch.exceptions import ConfigError
from greensearch.interactions import (
    MeasuredRow,
    NoiseEstimate,
    estimate_table_noise,
    expected_additive_pct,
    expected_multiplicative_pct,
    interaction_verdict,
    judge_bundle,
    noise_from_repeated_rows,
)
from greensearch.knobs import format_bundle, parse_bundle

__all__ = ["BAND_RULE", "estimate_noise", "synergy_table"]

#: The band rule in words, for the notes that show a table's σ.
BAND_RULE = "band 2σ·sqrt(1 + k) pp for a bundle of k measured knobs, less where rows repeat"


def estimate_noise(
    df: pd.DataFrame, *, noise_pct: float | None = None, stage: str = "total"
) -> NoiseEstimate:
    """σ, the relative noise of one run: given, else from repeats, else from replicate pairs.

    * ``noise_pct`` given: σ in percent, used as is.
    * rows with ``repeats >= 2`` and ``energy_kwh_std`` (total only): σ pooled over those
      rows (:func:`~greensearch.interactions.noise_from_repeated_rows`).
    * otherwise (single runs, e.g. the paper): the pooled std of the table's replicate
      pairs (:func:`~greensearch.interactions.estimate_table_noise` on ``stage``'s ΔEnergy),
      the estimator ``greensearch check`` uses.

    Raises:
        ConfigError: if ``noise_pct`` is negative or no source of noise is available.

    """
    if noise_pct is not None:
        if not noise_pct >= 0:
            raise ConfigError(f"--noise-pct must be a non-negative number, got {noise_pct!r}")
        return NoiseEstimate(noise_pct / 100.0, 0.0, f"noise {noise_pct:g}% given", "given")
    if stage == "total":
        repeated = df.loc[(df["repeats"] >= 2) & df["energy_kwh_std"].notna()]
        if not repeated.empty:
            rel = repeated["energy_kwh_std"] / repeated["energy_kwh"]
            sigma = noise_from_repeated_rows([float(v) for v in rel])
            return NoiseEstimate(
                sigma,
                0.0,
                f"std of one run {sigma:.3%} (RMS over {len(repeated)} repeated variants)",
                "repeats",
            )
    _, energy_column, _ = axis_columns(df, stage)
    rows = [
        MeasuredRow(
            str(v), parse_bundle(str(k)), 1.0 + float(d) / 100.0, 0.0 if math.isnan(f) else f
        )
        for v, k, d, f in zip(
            df["variant"], df["knobs"], df[energy_column], df["delta_f1_pct"], strict=True
        )
        if math.isfinite(float(d))
    ]
    try:
        return estimate_table_noise(rows)
    except ConfigError as err:
        raise ConfigError(
            "cannot estimate noise: no repeats and no pairs of equivalent variants; "
            "pass --noise-pct"
        ) from err


def synergy_table(
    df: pd.DataFrame,
    *,
    noise_pct: float | None = None,
    assume_neutral_unmeasured: bool = False,
    stage: str = "total",
) -> pd.DataFrame:
    """Compare every multi-knob bundle with what its components measured alone predict.

    A component is "measured alone" when some row's bundle is exactly that one
    ``knob=value`` (several such rows are averaged). A bundle with a component never
    measured alone cannot be judged, unless ``assume_neutral_unmeasured`` treats those
    components as 0 % (the kindest assumption); the ``note`` then says so. A bundle none of
    whose components was measured alone is never judged.

    Args:
        df: the normalized table.
        noise_pct: σ, the noise of one run in percent; estimated when None
            (see :func:`estimate_noise`).
        assume_neutral_unmeasured: judge bundles with unmeasured components anyway.
        stage: whose energy to compare, ``total`` or a stage name.

    Returns:
        One row per bundle of two or more knobs: ``variant``, ``knobs``, ``components``,
        ``measured_alone`` (the variants that measured each measured component, in
        component order), ``unmeasured``, ``assumed_neutral``,
        ``measured_delta_energy_pct``, ``expected_additive_pct``,
        ``expected_multiplicative_pct`` (expected ΔEnergy), ``measured_saving_pct``,
        ``expected_saving_pct`` (multiplicative), ``excess_saving_pp``,
        ``excess_saving_additive_pp``, ``synergy_ratio``, ``verdict``, ``verdict_additive``,
        ``measured_delta_time_pct``, ``expected_delta_time_pct`` (multiplicative),
        ``measured_delta_f1_pct``, ``expected_delta_f1_pct`` (additive), ``degenerate``,
        ``noise_pct`` (the band this row's verdict used, percentage points; NaN when not
        judged), ``note``. ``df.attrs["noise"]`` holds the
        :class:`~greensearch.interactions.NoiseEstimate` (σ) as a dict.

    """
    noise = estimate_noise(df, noise_pct=noise_pct, stage=stage)
    time_column, energy_column, _ = axis_columns(df, stage)
    singles = _singles(df, (energy_column, time_column, "delta_f1_pct"))
    rows = []
    for _, rec in df.iterrows():
        bundle = parse_bundle(rec["knobs"])
        if len(bundle) < 2:
            continue
        comps = [format_bundle({k: v}) for k, v in sorted(bundle.items())]
        measured = [c for c in comps if c in singles]
        missing = [c for c in comps if c not in singles]
        row = {
            "variant": rec["variant"],
            "knobs": rec["knobs"],
            "components": ",".join(comps),
            "measured_alone": ",".join(str(singles[c]["variants"]) for c in measured),
            "unmeasured": ",".join(missing),
            "assumed_neutral": "",
            "measured_delta_energy_pct": float(rec[energy_column]),
            "measured_delta_time_pct": float(rec[time_column]),
            "measured_delta_f1_pct": float(rec["delta_f1_pct"]),
            "degenerate": bool(rec["degenerate"]),
            "runs": float(max(int(rec["repeats"]), 1)),
        }
        judgeable = not missing or (assume_neutral_unmeasured and bool(measured))
        if not judgeable:
            why = "no component measured alone" if not measured else "never measured alone"
            row |= _empty_result(f"not judgeable: {why}: {', '.join(missing)}")
            if row["degenerate"]:
                row["note"] += f"; {_DEGENERATE_NOTE}"
        else:
            if missing:
                row["assumed_neutral"] = ",".join(missing)
            row |= _judge(
                [singles[c] for c in measured], row, energy_column, time_column, noise, missing
            )
        rows.append(row)
    out = pd.DataFrame(rows, columns=_RESULT_COLUMNS)  # drops the helper "runs"
    out.attrs["noise"] = asdict(noise)
    return out


_DEGENERATE_NOTE = "degenerate model (predicts one class): its ΔF1 is not meaningful"

_RESULT_COLUMNS = [
    "variant",
    "knobs",
    "components",
    "measured_alone",
    "unmeasured",
    "assumed_neutral",
    "measured_delta_energy_pct",
    "expected_additive_pct",
    "expected_multiplicative_pct",
    "measured_saving_pct",
    "expected_saving_pct",
    "excess_saving_pp",
    "excess_saving_additive_pp",
    "synergy_ratio",
    "verdict",
    "verdict_additive",
    "measured_delta_time_pct",
    "expected_delta_time_pct",
    "measured_delta_f1_pct",
    "expected_delta_f1_pct",
    "degenerate",
    "noise_pct",
    "note",
]


def _judge(
    comps: list[dict[str, float | str]],
    row: dict[str, object],
    energy_column: str,
    time_column: str,
    noise: NoiseEstimate,
    missing: list[str],
) -> dict[str, object]:
    deltas = [float(c[energy_column]) for c in comps]
    additive = expected_additive_pct(deltas)
    multiplicative = expected_multiplicative_pct(deltas)
    measured_delta = float(row["measured_delta_energy_pct"])  # type: ignore[arg-type]
    judged = judge_bundle(
        1.0 + measured_delta / 100.0,
        1.0 + multiplicative / 100.0,
        noise_rel=noise.noise_rel,
        runs=(float(row["runs"]), *(float(c["runs"]) for c in comps)),  # type: ignore[arg-type]
    )
    measured_saving = -measured_delta
    expected_saving = -multiplicative
    excess_add = measured_saving + additive
    band = judged.band_pp
    ratio = measured_saving / expected_saving if expected_saving > band else math.nan
    notes = []
    if missing:
        notes.append(
            f"assumed {', '.join(missing)} neutral (0 %): never measured alone (kindest assumption)"
        )
    if row["degenerate"]:
        notes.append(_DEGENERATE_NOTE)
    return {
        "expected_additive_pct": additive,
        "expected_multiplicative_pct": multiplicative,
        "measured_saving_pct": measured_saving,
        "expected_saving_pct": expected_saving,
        "excess_saving_pp": judged.excess_saving_pp,
        "excess_saving_additive_pp": excess_add,
        "synergy_ratio": ratio,
        "verdict": judged.verdict,
        "verdict_additive": interaction_verdict(excess_add, band),
        "expected_delta_time_pct": expected_multiplicative_pct(
            float(c[time_column]) for c in comps
        ),
        "expected_delta_f1_pct": expected_additive_pct(float(c["delta_f1_pct"]) for c in comps),
        "noise_pct": band,
        "note": "; ".join(notes),
    }


def _empty_result(note: str) -> dict[str, object]:
    nan = math.nan
    return {
        "expected_additive_pct": nan,
        "expected_multiplicative_pct": nan,
        "measured_saving_pct": nan,
        "expected_saving_pct": nan,
        "excess_saving_pp": nan,
        "excess_saving_additive_pp": nan,
        "synergy_ratio": nan,
        "verdict": "not_judgeable",
        "verdict_additive": "not_judgeable",
        "expected_delta_time_pct": nan,
        "expected_delta_f1_pct": nan,
        "noise_pct": nan,
        "note": note,
    }


def _singles(df: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, dict[str, float | str]]:
    """Isolated effect of each single-knob component, averaged over its rows."""
    found: dict[str, list[pd.Series]] = {}
    for _, rec in df.iterrows():
        bundle = parse_bundle(rec["knobs"])
        if len(bundle) == 1:
            found.setdefault(format_bundle(bundle), []).append(rec)
    singles: dict[str, dict[str, float | str]] = {}
    for comp, recs in found.items():
        entry: dict[str, float | str] = {
            c: float(pd.Series([r[c] for r in recs], dtype=float).mean()) for c in columns
        }
        entry["variants"] = "+".join(str(r["variant"]) for r in recs)
        # the mean of m rows of n_i runs has variance σ²·Σ(1/n_i)/m²: as many effective runs
        entry["runs"] = len(recs) ** 2 / sum(1.0 / max(int(r["repeats"]), 1) for r in recs)
        singles[comp] = entry
    return singles
