"""The search space: which knob values a trial may sample on this machine and study.

Each available knob becomes one categorical parameter with ``off`` plus its search
values. Values that the study rejects (pruning more layers than the model has) and knobs
the machine cannot run are left out up front, with the reason kept for the report.
Hard conflicts are never sampled: a knob that conflicts with one already on in this
trial is not suggested at all (Optuna handles such conditional spaces).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.knobs import Bundle, Knob, KnobRegistry
from greensearch.machine import Machine

__all__ = ["OFF", "SearchSpace", "build_space"]

#: The choice meaning "knob not applied".
OFF = "off"


@dataclass(frozen=True)
class SearchSpace:
    """Knobs and the values the sampler may pick, plus what was left out and why."""

    registry: KnobRegistry
    choices: dict[str, tuple[str, ...]]
    skipped: dict[str, str] = field(default_factory=dict)

    def sample(self, trial: Any) -> Bundle:
        """Suggest one bundle through an Optuna trial, never pairing conflicting knobs."""
        bundle: Bundle = {}
        for name, values in self.choices.items():
            knob = self.registry.get(name)
            if any(_conflict(knob, self.registry.get(other)) for other in bundle):
                continue
            value = trial.suggest_categorical(name, (OFF, *values))
            if value != OFF:
                bundle[name] = value
        return bundle

    def params_of(self, bundle: Bundle) -> dict[str, str]:
        """Trial parameters that reproduce ``bundle`` (for enqueueing seeds)."""
        unknown = sorted(set(bundle) - set(self.choices))
        if unknown:
            raise ConfigError(f"knob(s) {', '.join(unknown)} are not in this search space")
        params: dict[str, str] = {}
        for name in self.choices:
            knob = self.registry.get(name)
            if any(
                _conflict(knob, self.registry.get(other))
                for other in bundle
                if other != name
                and list(self.choices).index(other) < list(self.choices).index(name)
            ):
                continue
            params[name] = self._search_value(name, bundle[name]) if name in bundle else OFF
        return params

    def _search_value(self, name: str, value: str) -> str:
        """The search value of ``name`` that ``value`` stands for: a bundle read back from
        stored, canonical text names ``grad_accumulation=2:same_batch`` where the sampler's
        choice is ``2`` (a guided trial grown on such a core crashed the study).

        Raises:
            ConfigError: no search value of the knob means ``value``.
        """
        choices = self.choices[name]
        if value in choices:
            return value
        wanted = self.registry.canonical({name: value})
        for choice in choices:
            if self.registry.canonical({name: choice}) == wanted:
                return choice
        raise ConfigError(
            f"{name}={value} is not a value of this search space ({', '.join(choices)})"
        )

    def singles(self) -> list[Bundle]:
        """Each knob alone at its first search value: the isolated effects the checker needs."""
        return [{name: values[0]} for name, values in self.choices.items()]

    def key(self, bundle: Bundle) -> str:
        """Canonical text of a bundle: the identity of a measurement."""
        return self.registry.canonical(bundle) if bundle else ""

    def model_key(self, bundle: Bundle) -> str:
        """The bundle's knobs that change what the model computes (``Knob.numerics``):
        bundles with one model key train the same model and share their F1, seed for seed."""
        return self.key({k: v for k, v in bundle.items() if self.registry.get(k).numerics})


def build_space(
    registry: KnobRegistry,
    study: StudyConfig,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    machine: Machine | None = None,
) -> SearchSpace:
    """Collect the knob values that can run here on ``study``.

    A value in a precision ``machine`` only emulates (bf16 on an AVX2-only CPU) runs, but
    costs instead of saving: it is left out (``skipped["precision=bf16"]`` says why)
    unless ``include`` names its knob, so the search does not pay to measure it.

    Raises:
        ConfigError: an included/excluded name is not a knob, or nothing is left to search.
    """
    for name in (include or []) + (exclude or []):
        registry.get(name)  # raises with a suggestion for a typo
    choices: dict[str, tuple[str, ...]] = {}
    skipped: dict[str, str] = {}
    for knob in registry:
        if include is not None and knob.name not in include:
            continue
        if exclude and knob.name in exclude:
            skipped[knob.name] = "excluded by --exclude"
            continue
        reason = knob.unavailable_reason()
        if reason:
            skipped[knob.name] = reason
            continue
        values: list[str] = []
        rejected: list[str] = []
        emulated = knob.emulated_values(machine) if machine is not None else {}
        for raw in knob.values_for_search():
            note = emulated.get(raw.split(":")[0])
            if note and not (include and knob.name in include):
                skipped[f"{knob.name}={raw}"] = (
                    f"{note}; name {knob.name} in --include to search it"
                )
                continue
            try:
                registry.resolve({knob.name: raw}, study=study)
            except ConfigError as err:
                rejected.append(f"{raw} ({err})")
                continue
            values.append(raw)
        if values:
            choices[knob.name] = tuple(values)
        elif rejected:
            skipped[knob.name] = "no search value runs on this study: " + "; ".join(rejected)
    if not choices and include is not None and set(include) <= set(exclude or ()):
        raise ConfigError(
            f"--exclude removes every knob --include names ({', '.join(include)}); "
            "drop one of the two"
        )
    if not choices:
        raise ConfigError("no knob is available to search on this machine; see `greensearch knobs`")
    return SearchSpace(registry=registry, choices=choices, skipped=skipped)


def _conflict(a: Knob, b: Knob) -> bool:
    return b.name in a.conflicts or a.name in b.conflicts
