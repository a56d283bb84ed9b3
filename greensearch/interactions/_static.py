"""Static orthogonality: what the registry alone says about a knob combination.

Two things can be known before anything is measured:

* **hard conflicts** (``Knob.conflicts``): the combination cannot run, so the search must
  never sample it (:func:`is_allowed`);
* **resource overlaps**: two or more knobs that target the same resource.

Not every overlap is a risk. The paper's V26 (layer pruning + sequence trim + torch.compile)
and V28 (pruning + compile + fp16) all cut ``compute`` and still compound: each is a *pure
saver* that shrinks the same work by a factor, and factors multiply. The +34 % of V25
(gradient checkpointing + fp16 + accumulation) comes from *trade-off* knobs: a knob that
declares ``costs`` spends one resource to save another (checkpointing spends compute to
save memory). When another knob already relieves the resource it targets, the trade-off
still pays its full cost for a smaller gain. Hence our rule: an overlap on resource R is an
**antagonism risk** when at least two knobs of the bundle target R and at least one of them
is a trade-off knob. Every overlap is reported, with its verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from greensearch.knobs import KnobRegistry, format_bundle

__all__ = ["Footprint", "Overlap", "StaticCheck", "is_allowed", "static_check"]


@dataclass(frozen=True, slots=True)
class Footprint:
    """The resources one knob of a bundle acts on.

    Attributes:
        knob: knob name.
        item: the ``name=value`` text of the knob in the bundle.
        phase: the knob's pipeline phase (``Knob.phase``).
        targets: resources it saves.
        costs: resources it spends (non-empty: a trade-off knob).
    """

    knob: str
    item: str
    phase: str
    targets: tuple[str, ...]
    costs: tuple[str, ...]

    @property
    def trade_off(self) -> bool:
        """Whether the knob spends a resource to save another."""
        return bool(self.costs)


@dataclass(frozen=True, slots=True)
class Overlap:
    """Two or more knobs of a bundle targeting the same resource.

    Attributes:
        resource: the shared resource.
        knobs: knob names targeting it, sorted.
        trade_offs: those among ``knobs`` that declare costs.
        risk: ``True`` when any of them is a trade-off knob (see the module docstring).
        reason: one line saying why it is or is not a risk.
    """

    resource: str
    knobs: tuple[str, ...]
    trade_offs: tuple[str, ...]
    risk: bool
    reason: str


@dataclass(frozen=True, slots=True)
class StaticCheck:
    """Everything the registry alone says about a bundle.

    Attributes:
        bundle: canonical bundle text.
        allowed: ``False`` when two knobs hard-conflict; such bundles are never sampled.
        conflicts: ``(a, b)`` knob pairs that cannot be on together.
        footprints: per knob, what it targets and costs (registry order of the bundle).
        overlaps: every resource targeted by two or more knobs.
        risk: whether any overlap is an antagonism risk.
        reasons: one line per conflict and per risky overlap.
    """

    bundle: str
    allowed: bool
    conflicts: tuple[tuple[str, str], ...]
    footprints: tuple[Footprint, ...]
    overlaps: tuple[Overlap, ...]
    risk: bool
    reasons: tuple[str, ...]


def canonical_items(registry: KnobRegistry, bundle: Mapping[str, str]) -> dict[str, str]:
    """Map each knob name to its canonical ``name=value`` text (values parsed and re-formatted).

    Raises:
        ConfigError: unknown knob name or bad value.
    """
    items: dict[str, str] = {}
    for name in sorted(bundle):
        knob = registry.get(name)
        items[name] = format_bundle({name: knob.format_value(knob.parse(bundle[name]))})
    return items


def static_check(registry: KnobRegistry, bundle: Mapping[str, str]) -> StaticCheck:
    """Check a bundle against the registry's declarations only (no measurements).

    Args:
        registry: where the knobs' targets, costs and conflicts are declared.
        bundle: knob name -> raw value, as :func:`greensearch.knobs.parse_bundle` returns.

    Returns:
        Conflicts, per-knob footprints and every overlap with its risk verdict.

    Raises:
        ConfigError: unknown knob name or bad value (a bad bundle is not "disallowed": it is
            an input error the caller must fix).
    """
    items = canonical_items(registry, bundle)
    names = sorted(items)
    knobs = {name: registry.get(name) for name in names}
    conflicts = tuple(
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if b in knobs[a].conflicts or a in knobs[b].conflicts
    )
    footprints = tuple(
        Footprint(
            name,
            items[name],
            knobs[name].phase,
            tuple(knobs[name].targets),
            tuple(knobs[name].costs),
        )
        for name in names
    )
    overlaps = _overlaps(footprints)
    reasons = [f"hard conflict: knobs '{a}' and '{b}' cannot both be on" for a, b in conflicts]
    reasons += [o.reason for o in overlaps if o.risk]
    return StaticCheck(
        bundle=",".join(items[n] for n in names),
        allowed=not conflicts,
        conflicts=conflicts,
        footprints=footprints,
        overlaps=overlaps,
        risk=any(o.risk for o in overlaps),
        reasons=tuple(reasons),
    )


def is_allowed(registry: KnobRegistry, bundle: Mapping[str, str]) -> tuple[bool, str]:
    """Whether the search may sample ``bundle`` at all (no hard conflict), and why.

    Returns:
        ``(True, "no hard conflicts")`` or ``(False, "<which knobs conflict>")``.

    Raises:
        ConfigError: unknown knob name or bad value.
    """
    check = static_check(registry, bundle)
    if check.allowed:
        return True, "no hard conflicts"
    return False, "; ".join(r for r in check.reasons if r.startswith("hard conflict"))


def _overlaps(footprints: tuple[Footprint, ...]) -> tuple[Overlap, ...]:
    by_resource: dict[str, list[Footprint]] = {}
    for fp in footprints:
        for resource in fp.targets:
            by_resource.setdefault(resource, []).append(fp)
    overlaps = []
    for resource in sorted(by_resource):
        members = by_resource[resource]
        if len(members) < 2:
            continue
        names = tuple(fp.knob for fp in members)
        trade = tuple(fp.knob for fp in members if fp.trade_off)
        if trade:
            spent = ", ".join(
                f"{fp.knob} spends {'/'.join(fp.costs)}" for fp in members if fp.trade_off
            )
            reason = (
                f"antagonism risk on {resource}: {', '.join(names)} all target it and "
                f"trade-off knob(s) pay for it ({spent}), so their saving shrinks while "
                "their cost stays"
            )
        else:
            reason = (
                f"overlap on {resource} ({', '.join(names)}) is not a risk: pure savers "
                "shrinking the same work compound multiplicatively"
            )
        overlaps.append(Overlap(resource, names, trade, bool(trade), reason))
    return tuple(overlaps)
