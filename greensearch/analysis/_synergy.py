"""Do knobs combine as their isolated effects predict? Measured bundles vs two null models.

For a bundle of components c (each a single ``knob=value``) measured alone with ΔEnergy d_c:

* additive null: expected Δ = Σ d_c;
* multiplicative null (independent fractional savings s_c = -d_c/100): expected saving
  = 1 - Π(1 - s_c), i.e. expected Δ = (Π(1 + d_c/100) - 1)·100.

Saving means -ΔEnergy in percent of the baseline. The *excess saving* is measured saving minus
expected saving (percentage points); the verdict compares it with the noise band: above
+noise is synergistic, below -noise antagonistic, otherwise independent (within noise). The
*synergy ratio* is measured saving / expected saving under the multiplicative null; it is
only reported when the expected saving exceeds the noise band, because a ratio against a
near-zero or negative expectation flips meaning. ``verdict`` uses the multiplicative null
(the additive one can expect savings above 100 %); ``verdict_additive`` is given alongside.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from greensearch.analysis._pareto import axis_columns
from greensearch.exceptions import ConfigError
from greensearch.interactions import (
    SIDE_INSENSITIVE_KNOBS,
    expected_additive_pct,
    expected_multiplicative_pct,
    interaction_verdict,
)
from greensearch.knobs import format_bundle, parse_bundle

__all__ = [
    "NEUTRAL_KNOBS",
    "SIDE_INSENSITIVE_KNOBS",
    "NoiseEstimate",
    "equivalent_pairs",
    "estimate_noise",
    "synergy_table",
]

#: Knobs assumed to change no energy, so a row with one differs from the row without it only
#: by noise (the paper: ``fast_tokenizer`` V4 vs the baseline V0).
NEUTRAL_KNOBS: frozenset[str] = frozenset({"fast_tokenizer"})


@dataclass(frozen=True, slots=True)
class NoiseEstimate:
    """How large a ΔEnergy difference noise alone can make, in percentage points.

    Attributes:
        noise_pct: the band; |excess saving| within it is "independent".
        method: ``given``, ``repeats`` or ``equivalent_pairs``.
        detail: one line naming the evidence, for the user.

    """

    noise_pct: float
    method: str
    detail: str


def equivalent_pairs(df: pd.DataFrame) -> list[tuple[str, str]]:
    """Pairs of variants that should measure the same energy (same bundle up to noise).

    Two rows are equivalent when their bundles match after dropping :data:`NEUTRAL_KNOBS`
    and the side of :data:`SIDE_INSENSITIVE_KNOBS` values. On the paper's table this yields
    the top/bottom pruning pairs (V13/V14 … V21/V22) and fast_tokenizer vs baseline (V4/V0).
    """
    groups: dict[str, list[str]] = {}
    for variant, knobs in zip(df["variant"], df["knobs"], strict=True):
        groups.setdefault(_equivalence_key(knobs), []).append(str(variant))
    pairs: list[tuple[str, str]] = []
    for members in groups.values():
        pairs += [(members[0], other) for other in members[1:]]
    return pairs


def estimate_noise(
    df: pd.DataFrame, *, noise_pct: float | None = None, stage: str = "total"
) -> NoiseEstimate:
    """Decide the noise band, preferring what the user knows, then repeats, then pairs.

    * ``noise_pct`` given: used as is.
    * rows with ``repeats >= 2`` and ``energy_kwh_std`` (total only): the relative spread
      of one run, σ = RMS of 100·std/E over those rows; a bundle's excess over its
      expectation carries the error of the bundle and of its k components, so the band is
      2 σ √((1 + k)·mean(1/n)), with each row's own ``n`` runs (a study mixes 1-run search
      trials with repeated finalists) and k the most components of any bundle (≈ 95 %).
    * otherwise (single runs, e.g. the paper): the largest |ΔEnergy| difference between
      :func:`equivalent_pairs`, i.e. the worst disagreement seen between runs that should
      agree. Conservative on purpose: we would rather call a bundle independent than sell
      noise as synergy.

    Raises:
        ConfigError: if ``noise_pct`` is negative or no source of noise is available.

    """
    if noise_pct is not None:
        if not noise_pct >= 0:
            raise ConfigError(f"--noise-pct must be a non-negative number, got {noise_pct!r}")
        return NoiseEstimate(float(noise_pct), "given", f"noise band {noise_pct:g} pp given")
    if stage == "total":
        repeated = df.loc[(df["repeats"] >= 2) & df["energy_kwh_std"].notna()]
        if not repeated.empty:
            # relative spread of one run (a run of a cheap bundle varies less in absolute
            # terms; in per cent of itself it varies alike), in points of its own energy
            rel = 100.0 * repeated["energy_kwh_std"] / repeated["energy_kwh"]
            one_run = math.sqrt(float((rel**2).mean()))
            runs = df["repeats"].clip(lower=1).astype(float)
            # measured minus expected carries the error of the bundle and of each of its
            # k isolated components: variance (1 + k) / n for rows of n runs
            k = max((len(str(v).split(",")) for v in df["knobs"] if str(v)), default=1)
            band = 2.0 * one_run * math.sqrt(float((1.0 / runs).mean()) * (1 + k))
            spread = (
                f"{int(runs.min())}"
                if runs.min() == runs.max()
                else (f"{int(runs.min())} to {int(runs.max())}")
            )
            return NoiseEstimate(
                band,
                "repeats",
                f"2 x RMS standard error: one run varies {one_run:.3g} pp (from "
                f"{len(repeated)} repeated variants), rows average {spread} run(s)",
            )
    _, energy_column, _ = axis_columns(df, stage)
    delta = dict(zip(df["variant"], df[energy_column].astype(float), strict=True))
    diffs = [(a, b, abs(delta[a] - delta[b])) for a, b in equivalent_pairs(df)]
    diffs = [d for d in diffs if not math.isnan(d[2])]
    if not diffs:
        raise ConfigError(
            "cannot estimate noise: no repeats and no pairs of equivalent variants; "
            "pass --noise-pct"
        )
    worst = max(diffs, key=lambda d: d[2])
    names = ", ".join(f"{a}/{b}" for a, b, _ in diffs)
    return NoiseEstimate(
        worst[2],
        "equivalent_pairs",
        f"largest ΔEnergy gap between runs that should agree ({names}): "
        f"{worst[2]:.3g} pp ({worst[0]}/{worst[1]})",
    )


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
        noise_pct: noise band in percentage points; estimated when None
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
        ``noise_pct``, ``note``. ``df.attrs["noise"]`` holds the :class:`NoiseEstimate`.

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
            "noise_pct": noise.noise_pct,
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
    out = pd.DataFrame(rows, columns=_RESULT_COLUMNS)
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
    measured_saving = -float(row["measured_delta_energy_pct"])  # type: ignore[arg-type]
    expected_saving = -multiplicative
    excess = measured_saving - expected_saving
    excess_add = measured_saving + additive
    band = noise.noise_pct
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
        "excess_saving_pp": excess,
        "excess_saving_additive_pp": excess_add,
        "synergy_ratio": ratio,
        "verdict": interaction_verdict(excess, band),
        "verdict_additive": interaction_verdict(excess_add, band),
        "expected_delta_time_pct": expected_multiplicative_pct(
            float(c[time_column]) for c in comps
        ),
        "expected_delta_f1_pct": expected_additive_pct(float(c["delta_f1_pct"]) for c in comps),
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
        singles[comp] = entry
    return singles


def _equivalence_key(knobs: str) -> str:
    bundle = {k: v for k, v in parse_bundle(knobs).items() if k not in NEUTRAL_KNOBS}
    for name in SIDE_INSENSITIVE_KNOBS & bundle.keys():
        bundle[name] = bundle[name].split(":")[0]
    return format_bundle(bundle)
