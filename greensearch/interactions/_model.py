"""Learned orthogonality: predict a combination from its knobs alone, prune before measuring.

The model, and why:

* **Energy, multiplicative independence.** Each knob measured alone gives an energy ratio
  ``r_i`` (energy / baseline energy). Orthogonal knobs shrink independent factors of the work,
  so a combination is predicted at ``∏ r_i`` (computed as a sum of logs).
* **ΔF1, additive.** ``ΔF1 = Σ ΔF1_i`` in percent of the baseline F1. Deltas are a fraction of
  a percent to a few percent, where additive and multiplicative agree to second order, and
  additive keeps the F1-noise comparison linear.
* **Pairwise interactions.** For each measured combination of k ≥ 2 knobs, the log-ratio
  residual ``log(measured) - Σ log r_i`` is split evenly over its k(k-1)/2 pairs; a pair's
  estimate is the mean of its shares over every combination containing it (ΔF1 likewise,
  additively). A positive energy term is antagonistic (the pair costs more together than
  apart). Predictions add the terms of the pairs they contain, so a measured combination is
  reproduced exactly. Estimates are recomputed from all observations, so a knob measured
  alone later re-attributes earlier combinations correctly.
* **Missing data.** A knob never measured alone has no prediction, and a combination holding
  it is never pruned. ``assume_neutral=True`` treats such knobs as neutral (ratio 1, ΔF1 0),
  the kindest assumption, and every reason says so.
* **Pruning.** A combination is pruned when its predicted energy ratio exceeds that of its
  best subset (the lowest energy among subsets whose ΔF1 is no worse beyond ``noise_f1_pct``;
  the empty subset is the baseline, ratio 1) by more than the *margin*: two standard
  deviations of the difference of two single measurements, ``2·√2·noise_rel`` (``noise_rel``
  is the relative noise of one run). A one-σ rule would throw away about one neutral
  addition in six on noise alone, and a pruned bundle is never measured, so a one-σ rule
  can keep the search off the optimum for good (the replays that showed it are in
  ``benchmarks/README.md``). A subset's value is its measurement when it was
  measured, else its prediction. Bundles of more than 10 knobs check the baseline, the
  singles, every subset missing one or two knobs and every measured subset, to keep the
  check cheap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import KW_ONLY, asdict, dataclass, field
from itertools import combinations
from typing import Any

from greensearch.exceptions import ConfigError
from greensearch.interactions._static import (
    Footprint,
    Overlap,
    canonical_items,
    static_check,
)
from greensearch.knobs import KnobRegistry

__all__ = ["Interaction", "OrthogonalityChecker", "Prediction", "Verdict", "prune_margin"]

#: Standard deviations (of the difference of two single runs) a prune needs.
PRUNE_SIGMAS = 2.0

#: Above this many knobs, only the subsets listed in the module docstring are compared.
_FULL_SUBSET_LIMIT = 10

Key = tuple[str, ...]


def prune_margin(noise_rel: float) -> float:
    """Relative gap two single runs need to differ beyond the noise: ``2·√2·noise_rel``
    (:data:`PRUNE_SIGMAS` SDs of the difference of two runs)."""
    return PRUNE_SIGMAS * math.sqrt(2.0) * noise_rel


@dataclass(frozen=True, slots=True)
class Interaction:
    """A learned pairwise interaction between two knob items.

    Attributes:
        pair: the two ``name=value`` items, sorted.
        log_energy: mean log-ratio residual share; > 0 antagonistic, < 0 synergistic.
        delta_f1_pct: mean additive ΔF1 residual share, in percent.
        n_combinations: how many measured combinations it was learned from.
    """

    pair: tuple[str, str]
    log_energy: float
    delta_f1_pct: float
    n_combinations: int

    @property
    def energy_factor(self) -> float:
        """Multiplier the pair applies to a prediction (1: independent)."""
        return math.exp(self.log_energy)

    @property
    def kind(self) -> str:
        """``antagonistic``, ``synergistic`` or ``independent`` by the sign of the energy term."""
        if self.log_energy > 0:
            return "antagonistic"
        return "synergistic" if self.log_energy < 0 else "independent"


@dataclass(frozen=True, slots=True)
class Prediction:
    """The model's energy ratio and ΔF1 for one bundle.

    Attributes:
        bundle: canonical bundle text.
        energy_ratio: predicted energy / baseline energy, or ``None`` when a knob is missing.
        delta_f1_pct: predicted ΔF1 in percent of baseline F1, or ``None`` likewise.
        independent_energy_ratio: ``∏ r_i`` before interactions, or ``None``.
        interaction_factor: product of the learned pair factors applied (1: none).
        missing: items never measured alone (no prediction unless assumed neutral).
        assumed_neutral: items treated as ratio 1, ΔF1 0 (``assume_neutral=True``).
        measured_energy_ratio: mean measured ratio of this exact bundle, if observed.
    """

    bundle: str
    energy_ratio: float | None
    delta_f1_pct: float | None
    independent_energy_ratio: float | None
    interaction_factor: float
    missing: tuple[str, ...]
    assumed_neutral: tuple[str, ...]
    measured_energy_ratio: float | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether to spend energy measuring a bundle, with every reason.

    Attributes:
        bundle: canonical bundle text.
        allowed: ``False`` on a hard conflict (never sample it).
        prune: predicted worse than its best subset by more than the margin: skip it.
        risk: static antagonism risk (overlapping targets with a trade-off knob).
        reasons: one line each: conflicts, risks, missing data, the prune/pass decision,
            learned interactions.
        predicted_energy_ratio: the model's ratio, ``None`` without a prediction.
        predicted_delta_f1_pct: the model's ΔF1, ``None`` without a prediction.
        best_subset: canonical text of the best subset (``""`` is the baseline), or ``None``.
        best_subset_energy_ratio: its energy ratio (measured if it was measured).
        noise_rel: the relative energy noise the decision used (margin: ``2·√2·noise_rel``).
        overlaps: every resource overlap, risky or not.
        footprints: per knob, the resources it targets and costs.
        conflicts: hard-conflicting knob pairs.
        missing: items never measured alone.
        assumed_neutral: items assumed neutral for this verdict.
        interactions: learned interactions among the bundle's pairs.
    """

    bundle: str
    allowed: bool
    prune: bool
    risk: bool
    reasons: tuple[str, ...]
    predicted_energy_ratio: float | None
    predicted_delta_f1_pct: float | None
    best_subset: str | None
    best_subset_energy_ratio: float | None
    noise_rel: float
    overlaps: tuple[Overlap, ...] = ()
    footprints: tuple[Footprint, ...] = ()
    conflicts: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    assumed_neutral: tuple[str, ...] = ()
    interactions: tuple[Interaction, ...] = ()

    @property
    def flagged(self) -> bool:
        """Whether anything speaks against the bundle: a conflict, a prune or a static risk."""
        return not self.allowed or self.prune or self.risk

    @property
    def status(self) -> str:
        """One word: ``conflict``, ``prune``, ``risk`` (measure, but expect antagonism) or
        ``pass``."""
        if not self.allowed:
            return "conflict"
        return "prune" if self.prune else "risk" if self.risk else "pass"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists), with ``flagged`` added."""
        out = asdict(self)
        out["flagged"] = self.flagged
        out["status"] = self.status
        for fp, d in zip(self.footprints, out["footprints"], strict=True):
            d["trade_off"] = fp.trade_off
            d["stage"] = fp.phase  # the key's name before Knob.phase, kept for readers
        out["interactions"] = [
            dict(asdict(i), energy_factor=i.energy_factor, kind=i.kind) for i in self.interactions
        ]
        return out


@dataclass
class _Mean:
    log_sum: float = 0.0
    f1_sum: float = 0.0
    n: int = 0

    @property
    def log(self) -> float:
        return self.log_sum / self.n

    @property
    def f1(self) -> float:
        return self.f1_sum / self.n


@dataclass
class OrthogonalityChecker:
    """Static and learned orthogonality for one registry; the search asks it before each trial.

    Call :meth:`verdict` before measuring a bundle and :meth:`observe` after (singles,
    combinations, repeated baselines alike).

    Args:
        registry: the knobs' declarations (targets, costs, conflicts).
        noise_rel: relative energy noise of one measurement (std / mean of repeated baseline
            runs, e.g. ``0.02``); a prune needs a predicted excess above
            :attr:`margin_rel` (``2·√2·noise_rel``).
        noise_f1_pct: ΔF1 noise in percent; a subset with ΔF1 worse than the bundle's by more
            than this cannot justify a prune (the bundle may buy F1 with energy). 0 by
            default: only subsets at least as good in F1 prune.
    """

    registry: KnobRegistry
    _: KW_ONLY
    noise_rel: float
    noise_f1_pct: float = 0.0
    _obs: dict[Key, _Mean] = field(default_factory=dict, init=False, repr=False)
    _cache: dict[bool, dict[tuple[str, str], Interaction]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        for name, value in (("noise_rel", self.noise_rel), ("noise_f1_pct", self.noise_f1_pct)):
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")

    @property
    def margin_rel(self) -> float:
        """Relative excess a prune needs: 2 σ of the difference of two single runs."""
        return prune_margin(self.noise_rel)

    def observe(self, bundle: Mapping[str, str], energy_ratio: float, delta_f1_pct: float) -> None:
        """Record one measurement: energy / baseline energy and ΔF1 in percent.

        Repeats of one bundle are averaged (log-ratios, ΔF1). The empty bundle (a baseline
        run) is accepted and changes no prediction: the baseline is ratio 1 by definition.

        Raises:
            ConfigError: unknown knob, bad value, non-positive ratio or non-finite number.
        """
        if not (math.isfinite(energy_ratio) and energy_ratio > 0):
            raise ConfigError(f"energy ratio must be a positive number, got {energy_ratio!r}")
        if not math.isfinite(delta_f1_pct):
            raise ConfigError(f"ΔF1 must be a finite number, got {delta_f1_pct!r}")
        key = self._key(bundle)
        mean = self._obs.setdefault(key, _Mean())
        mean.log_sum += math.log(energy_ratio)
        mean.f1_sum += delta_f1_pct
        mean.n += 1
        self._cache.clear()

    def interactions(self, *, assume_neutral: bool = False) -> dict[tuple[str, str], Interaction]:
        """Every learned pair interaction; combinations with a knob never measured alone
        count only under ``assume_neutral`` (otherwise their residual cannot be attributed)."""
        if assume_neutral not in self._cache:
            self._cache[assume_neutral] = self._learn(assume_neutral)
        return self._cache[assume_neutral]

    def predict(self, bundle: Mapping[str, str], *, assume_neutral: bool = False) -> Prediction:
        """Predict a bundle's energy ratio and ΔF1 from its knobs alone plus learned pairs."""
        return self._predict(self._key(bundle), assume_neutral)

    def verdict(self, bundle: Mapping[str, str], *, assume_neutral: bool = False) -> Verdict:
        """Decide whether to measure a bundle, with the reasons (static and learned).

        Args:
            bundle: knob name -> raw value.
            assume_neutral: treat knobs never measured alone as neutral (ratio 1), the
                kindest assumption; the reasons say so.

        Raises:
            ConfigError: unknown knob name or bad value.
        """
        check = static_check(self.registry, bundle)
        key = self._key(bundle)
        pred = self._predict(key, assume_neutral)
        pairs = self.interactions(assume_neutral=assume_neutral)
        learned = tuple(pairs[p] for p in combinations(key, 2) if p in pairs)
        reasons = list(check.reasons)
        prune, best, best_ratio = False, None, None
        if check.allowed:
            prune, best, best_ratio, decision = self._decide(key, pred, assume_neutral)
            reasons += decision
            reasons += [_describe_interaction(i, self.noise_rel) for i in learned]
        else:
            reasons.append("not allowed: never sampled, so no prune decision is needed")
        return Verdict(
            bundle=pred.bundle,
            allowed=check.allowed,
            prune=prune,
            risk=check.risk,
            reasons=tuple(reasons),
            predicted_energy_ratio=pred.energy_ratio,
            predicted_delta_f1_pct=pred.delta_f1_pct,
            best_subset=best,
            best_subset_energy_ratio=best_ratio,
            noise_rel=self.noise_rel,
            overlaps=check.overlaps,
            footprints=check.footprints,
            conflicts=check.conflicts,
            missing=pred.missing,
            assumed_neutral=pred.assumed_neutral,
            interactions=learned,
        )

    def canonical(self, bundle: Mapping[str, str]) -> str:
        """Canonical bundle text (sorted, values normalised): the key observations share.

        Raises:
            ConfigError: unknown knob name or bad value.
        """
        return ",".join(self._key(bundle))

    # -- internals -------------------------------------------------------------------------

    def _key(self, bundle: Mapping[str, str]) -> Key:
        return tuple(sorted(canonical_items(self.registry, bundle).values()))

    def _singles(self) -> dict[str, _Mean]:
        return {key[0]: mean for key, mean in self._obs.items() if len(key) == 1}

    def _learn(self, assume_neutral: bool) -> dict[tuple[str, str], Interaction]:
        singles = self._singles()
        shares: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for key, mean in self._obs.items():
            if len(key) < 2 or (not assume_neutral and any(i not in singles for i in key)):
                continue
            log_res = mean.log - sum(singles[i].log for i in key if i in singles)
            f1_res = mean.f1 - sum(singles[i].f1 for i in key if i in singles)
            pairs = list(combinations(key, 2))
            for pair in pairs:
                shares.setdefault(pair, []).append((log_res / len(pairs), f1_res / len(pairs)))
        return {
            pair: Interaction(
                pair, sum(s[0] for s in v) / len(v), sum(s[1] for s in v) / len(v), len(v)
            )
            for pair, v in shares.items()
        }

    def _predict(self, key: Key, assume_neutral: bool) -> Prediction:
        singles = self._singles()
        missing = tuple(i for i in key if i not in singles)
        measured = self._obs.get(key)
        measured_ratio = math.exp(measured.log) if measured and key else None
        if missing and not assume_neutral:
            return Prediction(",".join(key), None, None, None, 1.0, missing, (), measured_ratio)
        log = sum(singles[i].log for i in key if i in singles)
        f1 = sum(singles[i].f1 for i in key if i in singles)
        pairs = self.interactions(assume_neutral=assume_neutral)
        terms = [pairs[p] for p in combinations(key, 2) if p in pairs]
        inter_log = sum(t.log_energy for t in terms)
        f1 += sum(t.delta_f1_pct for t in terms)
        return Prediction(
            ",".join(key),
            math.exp(log + inter_log),
            f1,
            math.exp(log),
            math.exp(inter_log),
            missing,
            missing,
            measured_ratio,
        )

    def _subset_keys(self, key: Key) -> Iterable[Key]:
        k = len(key)
        if k <= _FULL_SUBSET_LIMIT:
            sizes: Iterable[int] = range(k)
        else:
            sizes = sorted({0, 1, k - 2, k - 1})
        seen: set[Key] = set()
        for size in sizes:
            for sub in combinations(key, size):
                seen.add(sub)
                yield sub
        items = set(key)
        for observed in self._obs:
            if observed not in seen and len(observed) < k and items.issuperset(observed):
                yield observed

    def _decide(
        self, key: Key, pred: Prediction, assume_neutral: bool
    ) -> tuple[bool, str | None, float | None, list[str]]:
        """The learned prune/pass decision and its reason lines."""
        reasons: list[str] = []
        if pred.energy_ratio is None or pred.delta_f1_pct is None:
            reasons.append(
                f"no learned verdict: {', '.join(pred.missing)} never measured alone, so "
                "nothing is predicted and nothing is pruned on missing data (assume neutral "
                "to check the kindest assumption)"
            )
            return False, None, None, reasons
        if pred.assumed_neutral:
            reasons.append(
                f"{', '.join(pred.assumed_neutral)} never measured alone: assumed "
                "neutral (energy ratio 1, ΔF1 0), the kindest assumption"
            )
        if not key:
            reasons.append("the baseline: nothing to compare with")
            return False, None, None, reasons
        best: tuple[float, int, Key, str] | None = None
        for sub in self._subset_keys(key):
            value = self._value(sub, assume_neutral)
            if value is None or value[1] < pred.delta_f1_pct - self.noise_f1_pct:
                continue
            cand = (value[0], len(sub), sub, value[2])
            if best is None or cand[:2] < best[:2]:
                best = cand
        if best is None:
            reasons.append(
                f"passes: no predictable subset is as good in ΔF1 "
                f"({pred.delta_f1_pct:+.3g}%), so its energy may buy F1"
            )
            return False, None, None, reasons
        ratio, _, sub, source = best
        subset = "{" + ",".join(sub) + "}" if sub else "the baseline"
        excess = pred.energy_ratio / ratio - 1.0
        what = (
            f"predicted energy ratio {pred.energy_ratio:.3f} ({_pct(pred.energy_ratio)} vs "
            f"baseline) against best subset {subset} at {ratio:.3f} ({source})"
        )
        if excess > self.margin_rel:
            reasons.append(
                f"pruned before measuring: {what}: {excess:+.1%} worse, more than "
                f"the margin {self.margin_rel:.2%} (2σ of a difference of two "
                f"runs, noise {self.noise_rel:.2%})"
            )
            return True, ",".join(sub), ratio, reasons
        why = (
            f"within the margin {self.margin_rel:.2%}"
            if excess > 0
            else "no subset is predicted cheaper"
        )
        reasons.append(f"passes: {what}: {excess:+.1%}, {why}")
        return False, ",".join(sub), ratio, reasons

    def _value(self, key: Key, assume_neutral: bool) -> tuple[float, float, str] | None:
        """(energy ratio, ΔF1, source) of a subset: measured if measured, else predicted."""
        if not key:
            return 1.0, 0.0, "by definition"
        mean = self._obs.get(key)
        if mean is not None:
            return math.exp(mean.log), mean.f1, "measured"
        pred = self._predict(key, assume_neutral)
        if pred.energy_ratio is None or pred.delta_f1_pct is None:
            return None
        return pred.energy_ratio, pred.delta_f1_pct, "predicted"


def _pct(ratio: float) -> str:
    return f"{(ratio - 1.0) * 100:+.1f}%"


def _describe_interaction(inter: Interaction, noise_rel: float) -> str:
    size = "beyond" if abs(inter.energy_factor - 1.0) > noise_rel else "within"
    return (
        f"learned interaction {inter.pair[0]} x {inter.pair[1]}: energy x"
        f"{inter.energy_factor:.3f} ({inter.kind}, {size} the noise), ΔF1 "
        f"{inter.delta_f1_pct:+.3g}% from {inter.n_combinations} measured combination(s)"
    )
