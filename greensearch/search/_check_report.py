"""One combination explained: the library side of ``greensearch check``.

Everything a user needs to trust or dispute a verdict is gathered here (not in the CLI) so it
is tested: the verdict, the noise and its evidence, the measurements learned from, the rows
that could not be used, and the judged bundle's own measurement when the table has it.
The judged bundle is left out of learning, so its verdict is a genuine prediction that can be
compared with what was measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.interactions import (
    BundleJudgement,
    MeasuredRow,
    NoiseEstimate,
    OrthogonalityChecker,
    Verdict,
    estimate_table_noise,
    judge_bundle,
    observe_rows,
)
from greensearch.knobs import KnobRegistry, parse_bundle

__all__ = ["CheckReport", "check_bundle", "rows_from_table"]


@dataclass(frozen=True, slots=True)
class CheckReport:
    """A verdict with its evidence.

    Attributes:
        verdict: the checker's verdict.
        noise: the noise used and where it came from; ``None`` without measurements.
        measured: rows of the judged bundle itself (left out of learning).
        skipped: one line per row that could not be used.
        n_observations: rows learned from.
        assume_neutral: whether knobs never measured alone were assumed neutral.
        interaction: the judged bundle's own measurement against the multiplicative null
            (:func:`~greensearch.interactions.judge_bundle`, the rule ``synergy`` applies),
            or ``None`` without a measurement of it, of two or more knobs, with a prediction.
    """

    verdict: Verdict
    noise: NoiseEstimate | None
    measured: tuple[MeasuredRow, ...]
    skipped: tuple[str, ...]
    n_observations: int
    assume_neutral: bool
    interaction: BundleJudgement | None = None

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready object: the verdict's fields at top level plus the evidence."""
        out = self.verdict.to_dict()
        out["noise"] = asdict(self.noise) if self.noise is not None else None
        out["measured"] = [
            {"variant": r.variant, "energy_ratio": r.energy_ratio, "delta_f1_pct": r.delta_f1_pct}
            for r in self.measured
        ]
        out["skipped_rows"] = list(self.skipped)
        out["n_observations"] = self.n_observations
        out["assume_neutral"] = self.assume_neutral
        out["interaction"] = asdict(self.interaction) if self.interaction is not None else None
        return out


def check_bundle(
    registry: KnobRegistry,
    bundle: Mapping[str, str],
    *,
    rows: Sequence[MeasuredRow] | None = None,
    noise_rel: float | None = None,
    noise_f1_pct: float | None = None,
    assume_neutral: bool = False,
    noise: NoiseEstimate | None = None,
) -> CheckReport:
    """Judge one bundle: statically, and from ``rows`` when measurements are given.

    Args:
        registry: the knobs' declarations.
        bundle: knob name -> raw value.
        rows: measured rows (e.g. :func:`read_paper_table`); every row but the judged bundle's
            own is learned from (singles give the model, combinations the interactions).
        noise_rel: relative energy noise; default: estimated from the rows' equivalent pairs.
        noise_f1_pct: ΔF1 noise in percent; default: estimated likewise (0 when given
            ``noise_rel`` only).
        assume_neutral: treat knobs never measured alone as neutral (ratio 1).
        noise: measured noise of ``rows`` (e.g. from a study's repeats, see
            :func:`rows_from_table`); ``noise_rel`` and ``noise_f1_pct`` still win.

    Raises:
        ConfigError: a bad bundle, a bad noise, or rows without a way to estimate noise.
    """
    if noise_rel is not None:
        noise = NoiseEstimate(noise_rel, noise_f1_pct or 0.0, "noise given", "given")
    else:
        if noise is None and rows:
            noise = estimate_table_noise(rows)
        if noise is not None and noise_f1_pct is not None:
            noise = replace(
                noise,
                noise_f1_pct=noise_f1_pct,
                detail=noise.detail + f"; ΔF1 noise {noise_f1_pct:g}% given",
            )
    checker = OrthogonalityChecker(
        registry,
        noise_rel=noise.noise_rel if noise else 0.0,
        noise_f1_pct=noise.noise_f1_pct if noise else 0.0,
    )
    key = checker.canonical(bundle)
    measured: list[MeasuredRow] = []
    skipped: list[str] = []
    if rows:
        for row in rows:
            try:
                if row.bundle and checker.canonical(row.bundle) == key:
                    measured.append(row)
            except ConfigError:
                pass  # observe_rows below names the row in ``skipped``
        skipped = observe_rows(checker, rows, exclude=(key,))
    used = sum(1 for r in rows or () if r.bundle) - len(measured) - len(skipped)
    verdict = checker.verdict(bundle, assume_neutral=assume_neutral)
    return CheckReport(
        verdict,
        noise,
        tuple(measured),
        tuple(skipped),
        used,
        assume_neutral,
        _judge_measured(checker, bundle, measured, noise, assume_neutral),
    )


def _judge_measured(
    checker: OrthogonalityChecker,
    bundle: Mapping[str, str],
    measured: Sequence[MeasuredRow],
    noise: NoiseEstimate | None,
    assume_neutral: bool,
) -> BundleJudgement | None:
    """The bundle's measurement (mean log-ratio of its rows) against its independent
    prediction; components assumed neutral carry no measurement, so no error."""
    pred = checker.predict(bundle, assume_neutral=assume_neutral)
    if not measured or noise is None or len(bundle) < 2 or pred.independent_energy_ratio is None:
        return None
    ratio = math.exp(sum(math.log(r.energy_ratio) for r in measured) / len(measured))
    k = len(bundle) - len(pred.assumed_neutral)
    return judge_bundle(
        ratio,
        pred.independent_energy_ratio,
        noise_rel=noise.noise_rel,
        runs=(len(measured), *([1] * k)),
    )


def rows_from_table(table: Any) -> tuple[list[MeasuredRow], NoiseEstimate | None]:
    """Measured rows and their noise from a normalized variant table (e.g. a study's).

    Each row's energy ratio comes from its ``delta_energy_pct``, which for a study is taken
    against the baseline measured at the row's own fidelity. Degenerate rows are left out
    (their ΔF1 says nothing), as the search itself does. The noise is the relative spread
    of the repeated baseline runs (what the search prunes with); ΔF1 noise is not stored
    per run, so it is 0 unless given.

    Args:
        table: a DataFrame with :data:`greensearch.analysis.COLUMNS`.

    Returns:
        ``(rows, noise)``; ``noise`` is None when the baseline was run only once.
    """
    rows = [
        MeasuredRow(
            str(r["variant"]),
            parse_bundle(str(r["knobs"])),
            1.0 + float(r["delta_energy_pct"]) / 100.0,
            float(r["delta_f1_pct"]),
        )
        for _, r in table.iterrows()
        if not r["degenerate"] and math.isfinite(float(r["delta_energy_pct"]))
    ]
    base = table.loc[table["is_baseline"]].iloc[0]
    std, n, energy = float(base["energy_kwh_std"]), int(base["repeats"]), float(base["energy_kwh"])
    if n < 2 or not math.isfinite(std) or not energy > 0:
        return rows, None
    rel = std / energy
    return rows, NoiseEstimate(
        rel,
        0.0,
        f"energy {rel:.2%} (std of {n} baseline runs, "
        f"{base['variant']}); ΔF1 noise not stored per run: 0 "
        "assumed (pass --noise-f1-pct)",
        "repeats",
    )
