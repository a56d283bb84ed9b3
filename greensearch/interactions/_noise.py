"""How noisy one measurement is, from repeated runs or from runs that should agree.

One quantity, σ: the relative std of one run (std / mean), used by ``check`` (prune margin)
and ``synergy`` (tolerance band, :func:`~greensearch.interactions.interaction_band_pp`) alike.
With repeated runs use :func:`noise_from_repeats` (one setting) or
:func:`noise_from_repeated_rows` (several); the paper ran each variant once, so
:func:`equivalent_pairs` finds the replicate pairs and :func:`noise_from_pairs` pools their
gaps into a std: for two runs of one setting ``Var(a - b) = 2σ²``, hence
``σ = sqrt(mean((a - b)²) / 2)`` (on log-ratios for energy). The pooled std uses every pair,
not the worst gap: the worst of n gaps grows with n, so it would be a band that widens as
evidence accumulates.

A replicate pair is two runs that do the same work *by construction*: equal bundles up to
the side of a :data:`SIDE_INSENSITIVE_KNOBS` value (the same number of layers pruned at the
top or at the bottom). Rows that differ by a knob *assumed* to do nothing (the paper's
fast tokenizer V4 against the baseline V0) are not pairs: that would count the knob's
effect, if any, as noise; and a baseline row is ratio 1 by definition.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from greensearch.exceptions import ConfigError
from greensearch.interactions._observations import MeasuredRow
from greensearch.knobs import format_bundle

__all__ = [
    "SIDE_INSENSITIVE_KNOBS",
    "same_work",
    "NoiseEstimate",
    "equivalent_pairs",
    "estimate_table_noise",
    "noise_from_pairs",
    "noise_from_repeated_rows",
    "noise_from_repeats",
]

#: Knobs whose ``N:side`` value does the same work on either side (removing N layers at
#: the top or the bottom), so such runs differ only by noise.
SIDE_INSENSITIVE_KNOBS: frozenset[str] = frozenset({"layer_prune"})


def same_work(name: str, a: str, b: str) -> bool:
    """Whether two values of knob ``name`` do the same work (``layer_prune=2:top`` and
    ``2:bottom`` remove as many layers), so their runs differ only by noise."""
    return _work(name, a) == _work(name, b)


NoiseMethod = Literal["given", "repeats", "equivalent_pairs"]


@dataclass(frozen=True, slots=True)
class NoiseEstimate:
    """Noise of one measurement, with the evidence.

    Attributes:
        noise_rel: σ, the relative energy std of one run (``0.01`` is 1 %).
        noise_f1_pct: ΔF1 std in percent.
        detail: one line naming the evidence, for the user.
        method: where σ came from: ``given``, ``repeats`` or ``equivalent_pairs``.
    """

    noise_rel: float
    noise_f1_pct: float
    detail: str
    method: NoiseMethod


def _work(name: str, value: str) -> str:
    """The part of a value that sets the work done (see :func:`same_work`)."""
    return value.split(":")[0] if name in SIDE_INSENSITIVE_KNOBS else value


def equivalent_pairs(rows: Sequence[MeasuredRow]) -> list[tuple[MeasuredRow, MeasuredRow]]:
    """Pairs of non-baseline rows that should measure the same: equal bundles, where the side
    of a layer pruning (``12:top`` vs ``12:bottom``) is ignored (same work either side)."""
    groups: dict[str, list[MeasuredRow]] = {}
    for row in rows:
        if not row.bundle:
            continue  # baselines are ratio 1 by definition: their gaps say nothing
        key = {k: _work(k, v) for k, v in row.bundle.items()}
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


def noise_from_repeated_rows(rel_stds: Sequence[float]) -> float:
    """σ pooled over several repeated settings: the RMS of their relative stds.

    Each setting's std is taken relative to its own mean (a cheap bundle varies less in
    absolute terms, alike in percent of itself); the RMS is the pooled std for equal
    numbers of runs.

    Raises:
        ConfigError: no settings.
    """
    if not rel_stds:
        raise ConfigError("noise needs at least one repeated setting")
    return math.sqrt(sum(s * s for s in rel_stds) / len(rel_stds))


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
        "equivalent_pairs",
    )
