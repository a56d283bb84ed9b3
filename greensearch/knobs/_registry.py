"""Knob declarations and the registry that validates bundles before any work starts.

A :class:`Knob` says where it acts (``phase``, one of
:data:`~greensearch.schema.PIPELINE_PHASES`), what it saves (``targets``), what it spends
to do so (``costs``: the trade-off the orthogonality checker looks at), what it needs
(CUDA, a package, root) and what it cannot be combined with. Its one ``apply`` function
edits a :class:`~greensearch.knobs.RunPlan`.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, KnobConflictError, KnobUnavailableError
from greensearch.knobs._bundle import FLAG_ON, Bundle, format_bundle
from greensearch.knobs._plan import RunPlan
from greensearch.machine import Machine
from greensearch.schema import WINDOWS, PipelinePhase

__all__ = [
    "Resource",
    "Param",
    "Requirement",
    "Knob",
    "KnobRegistry",
    "ResolvedKnob",
    "RESOURCES",
]

Resource = Literal["compute", "precision", "memory", "io"]
RESOURCES: tuple[Resource, ...] = ("compute", "precision", "memory", "io")

Value = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Param:
    """One positional parameter of a knob value (``layer_prune=12:bottom`` has two).

    Attributes:
        name: Parameter name, shown in ``greensearch knobs``.
        type: ``int``, ``float`` or ``str``; the raw text is converted with it.
        default: Used when the value omits this parameter.
        choices: Allowed values, if discrete.
        low: Inclusive lower bound for numbers.
        high: Inclusive upper bound for numbers.
    """

    name: str
    type: type
    default: Any
    choices: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    def convert(self, raw: str, knob: str) -> Any:
        """Convert and check one raw value; raises ConfigError naming the knob."""
        try:
            value = self.type(raw)
        except ValueError as err:
            raise ConfigError(
                f"knob '{knob}': {self.name} must be {self.type.__name__}, got {raw!r}"
            ) from err
        if self.choices is not None and value not in self.choices:
            allowed = "|".join(str(c) for c in self.choices)
            raise ConfigError(f"knob '{knob}': {self.name} must be one of {allowed}, got {raw!r}")
        if (self.low is not None and value < self.low) or (
            self.high is not None and value > self.high
        ):
            raise ConfigError(
                f"knob '{knob}': {self.name} must be in [{self.low}, {self.high}], got {raw!r}"
            )
        return value

    def describe(self) -> str:
        """Short human form, e.g. ``side∈{top,bottom}`` or ``n∈[1,64]``."""
        if self.choices is not None:
            return f"{self.name}∈{{{','.join(str(c) for c in self.choices)}}}"
        if self.low is not None or self.high is not None:
            low = "" if self.low is None else f"{self.low:g}"
            high = "" if self.high is None else f"{self.high:g}"
            return f"{self.name}∈[{low},{high}]"
        return f"{self.name}:{self.type.__name__}"


@dataclass(frozen=True, slots=True)
class Requirement:
    """Something a knob needs from the machine: ``cuda``, ``package:<module>`` or ``root``."""

    kind: Literal["cuda", "package", "root", "nvml"]
    name: str = ""

    def missing(self) -> str | None:
        """Why the requirement is not met here, or ``None`` when it is."""
        if self.kind == "package":
            if importlib.util.find_spec(self.name) is None:
                return f"needs the Python package '{self.name}' (pip install {self.name})"
            return None
        if self.kind == "root":
            return None if os.geteuid() == 0 else "needs root (run as root or with sudo)"
        if self.kind == "cuda":
            return None if _cuda_available() else "needs an NVIDIA GPU with CUDA (none found)"
        if self.kind == "nvml":
            return _nvml_missing()
        raise AssertionError(f"unknown requirement kind {self.kind}")


@dataclass(frozen=True)
class Knob:
    """A declarative pipeline optimization.

    Attributes:
        name: Stable snake_case id used on the command line and in records.
        phase: Pipeline phase it acts in (:data:`~greensearch.schema.PIPELINE_PHASES`, the
            paper's five phases; not a metered stage of :data:`~greensearch.schema.STAGES`).
        targets: Resources it saves.
        description: One line for ``greensearch knobs``.
        apply: ``apply(plan, value)`` edits the run plan; ``value`` maps param name to value.
        params: Positional parameters; empty for a plain on/off flag.
        needs: What the machine must provide.
        conflicts: Knobs that cannot be on together with this one.
        costs: Resources it spends to save its targets (a trade-off knob). Overlapping
            trade-off knobs are what the orthogonality checker flags.
        search_values: Raw values the search samples (``None``: every choice of a flag or
            single-choice param).
        validate: Optional ``validate(study, value)`` for checks that need the study
            (e.g. pruning no more layers than the model has).
        value_needs: Extra needs of single values, keyed by the first parameter's text
            (``precision``: ``fp16`` needs CUDA while ``bf16`` runs on a CPU).
        value_dtypes: Values (first parameter's text) that compute in a reduced precision
            the hardware may only emulate (``precision``: ``bf16`` -> ``bf16``): such a
            value runs, but costs where the device lacks native support for the dtype.
        windows: The metered windows (:data:`~greensearch.schema.WINDOWS`) whose work it
            changes; ``None``: all of them. A window left out must do exactly the
            baseline's work with the knob on (the search estimates it from every run that
            did that work, ``search._shared_windows``), so declare only what is certain.
        value_windows: The same per value (first parameter's text), where values differ
            (``quantization``: ``int8`` changes eval only, ``nf4`` loads a quantized model).
        numerics: Whether it changes what the model computes, so its F1 may move.
            ``False`` for a knob that changes only how (a kernel, the tokenizer's
            implementation, padding, recomputation, data loading, clocks): a bundle with
            it added trains the same model up to rounding, so it shares the F1 of the
            bundle without it, seed for seed (on the AMD EPYC VM to the digit:
            ``benchmarks/landscape_full_f1.py``). Declare ``False`` only where that holds.
    """

    name: str
    phase: PipelinePhase
    targets: tuple[Resource, ...]
    description: str
    apply: Callable[[RunPlan, Value], None]
    params: tuple[Param, ...] = ()
    needs: tuple[Requirement, ...] = ()
    conflicts: tuple[str, ...] = ()
    costs: tuple[Resource, ...] = ()
    search_values: tuple[str, ...] | None = None
    validate: Callable[[StudyConfig, Value], None] | None = None
    value_needs: dict[str, tuple[Requirement, ...]] = field(default_factory=dict, compare=False)
    value_dtypes: dict[str, str] = field(default_factory=dict, compare=False)
    windows: tuple[str, ...] | None = None
    value_windows: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    numerics: bool = True

    def __post_init__(self) -> None:
        for declared in (self.windows, *self.value_windows.values()):
            unknown = sorted(set(declared or ()) - set(WINDOWS))
            if unknown:
                raise ValueError(
                    f"knob '{self.name}': unknown windows {unknown}; known: {list(WINDOWS)}"
                )

    def changed_windows(self, raw: str) -> frozenset[str] | None:
        """The windows whose work this knob at raw value ``raw`` changes (``None``: all)."""
        found = self.value_windows.get(raw.split(":", 1)[0], self.windows)
        return None if found is None else frozenset(found)

    def parse(self, raw: str) -> Value:
        """Turn ``"12:bottom"`` (or ``"on"`` for a flag) into a checked value dict."""
        if not self.params:
            if raw != FLAG_ON:
                raise ConfigError(f"knob '{self.name}' is a flag and takes no value; got {raw!r}")
            return {}
        parts = [] if raw == FLAG_ON else raw.split(":")
        if len(parts) > len(self.params):
            form = ":".join(p.name.upper() for p in self.params)
            raise ConfigError(f"knob '{self.name}' takes {self.name}={form}; got {raw!r}")
        value: Value = {}
        for i, param in enumerate(self.params):
            value[param.name] = (
                param.convert(parts[i], self.name) if i < len(parts) else param.default
            )
        return value

    def format_value(self, value: Value) -> str:
        """Inverse of :meth:`parse`: the canonical raw text of a value."""
        if not self.params:
            return FLAG_ON
        return ":".join(str(value[p.name]) for p in self.params)

    def unavailable_reason(self, value: Value | None = None) -> str | None:
        """Why this knob (with ``value``, if given) cannot run here, or ``None`` if it can."""
        needs = self.needs
        if value is not None and self.params:
            needs = needs + self.value_needs.get(str(value[self.params[0].name]), ())
        reasons = [r for r in (req.missing() for req in needs) if r]
        return "; ".join(reasons) if reasons else None

    def unavailable_values(self) -> dict[str, str]:
        """Values (first parameter's text) this machine cannot run, with the reason each."""
        out: dict[str, str] = {}
        for text, needs in self.value_needs.items():
            reasons = [r for r in (req.missing() for req in needs) if r]
            if reasons:
                out[text] = "; ".join(reasons)
        return out

    def emulated_values(self, machine: Machine) -> dict[str, str]:
        """Values that run here but in a precision ``machine`` only emulates, with the note.

        The note reads ``bf16 emulated on this CPU: expect a cost``; values this machine
        cannot run at all are left to :meth:`unavailable_values`.
        """
        out: dict[str, str] = {}
        for text, dtype in self.value_dtypes.items():
            note = machine.emulation_note(dtype)
            if note and text not in self.unavailable_values():
                out[text] = note
        return out

    def values_for_search(self) -> tuple[str, ...]:
        """Raw values the search may try for this knob."""
        if self.search_values is not None:
            return self.search_values
        if not self.params:
            return (FLAG_ON,)
        first = self.params[0]
        if first.choices is not None and len(self.params) == 1:
            return tuple(str(c) for c in first.choices)
        return (self.format_value({p.name: p.default for p in self.params}),)


@dataclass(frozen=True, slots=True)
class ResolvedKnob:
    """A knob with its checked value, ready to apply."""

    knob: Knob
    value: Value

    @property
    def raw(self) -> str:
        """Canonical raw text of the value."""
        return self.knob.format_value(self.value)


@dataclass
class KnobRegistry:
    """The set of known knobs, by name."""

    _knobs: dict[str, Knob] = field(default_factory=dict)

    def register(self, knob: Knob) -> Knob:
        """Add a knob; a second knob with the same name is a programming error."""
        if knob.name in self._knobs:
            raise ValueError(f"knob '{knob.name}' registered twice")
        self._knobs[knob.name] = knob
        return knob

    def __iter__(self) -> Iterator[Knob]:
        return iter(self._knobs.values())

    def __len__(self) -> int:
        return len(self._knobs)

    def __contains__(self, name: object) -> bool:
        return name in self._knobs

    def get(self, name: str) -> Knob:
        """Look a knob up; an unknown name raises ConfigError with the closest names."""
        try:
            return self._knobs[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._knobs, n=3)
            hint = f"did you mean {', '.join(close)}? " if close else ""
            raise ConfigError(
                f"unknown knob '{name}'; {hint}`greensearch knobs` lists them"
            ) from None

    def resolve(
        self, bundle: Bundle, *, study: StudyConfig | None = None, check_available: bool = True
    ) -> list[ResolvedKnob]:
        """Validate a bundle completely before any work starts.

        Checks names, values, pairwise conflicts, machine requirements and (given a study)
        study-dependent limits. Returns the knobs in registry order.

        Raises:
            ConfigError: unknown knob or bad value.
            KnobConflictError: two knobs that cannot be on together.
            KnobUnavailableError: a knob needs what this machine lacks.
        """
        resolved = {
            name: ResolvedKnob(self.get(name), self.get(name).parse(raw))
            for name, raw in bundle.items()
        }
        names = sorted(resolved)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                if b in resolved[a].knob.conflicts or a in resolved[b].knob.conflicts:
                    raise KnobConflictError(
                        f"knobs '{a}' and '{b}' cannot both be on; drop one from the bundle"
                    )
        if check_available:
            for name in names:
                item = resolved[name]
                reason = item.knob.unavailable_reason(item.value)
                if reason:
                    label = f"{name}={item.raw}" if item.knob.params else name
                    raise KnobUnavailableError(f"knob '{label}' is unavailable here: {reason}")
        if study is not None:
            for item in resolved.values():
                if item.knob.validate is not None:
                    item.knob.validate(study, item.value)
        order = list(self._knobs)
        return sorted(resolved.values(), key=lambda r: order.index(r.knob.name))

    def canonical(self, bundle: Bundle) -> str:
        """Canonical text of a bundle (values normalised), used as a cache key."""
        items = self.resolve(bundle, check_available=False)
        return format_bundle({r.knob.name: r.raw for r in items})

    def emulation_notes(self, bundle: Bundle, machine: Machine) -> list[str]:
        """One note per knob of ``bundle`` that computes in a precision ``machine`` emulates.

        The knob runs; the note (``precision=bf16: bf16 emulated on this CPU: expect a
        cost``) tells the user why its energy may rise where others report a saving.
        """
        notes = []
        for item in self.resolve(bundle, check_available=False):
            first = item.raw.split(":")[0]
            note = item.knob.emulated_values(machine).get(first)
            if note:
                notes.append(f"{item.knob.name}={item.raw}: {note}")
        return notes

    def plan(self, study: StudyConfig, bundle: Bundle) -> RunPlan:
        """Resolve a bundle and apply it to a fresh plan for ``study``."""
        plan = RunPlan(study=study)
        for item in self.resolve(bundle, study=study):
            item.knob.apply(plan, item.value)
        return plan


def _cuda_available() -> bool:
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def _nvml_missing() -> str | None:
    if importlib.util.find_spec("pynvml") is None:
        return "needs NVML (pip install nvidia-ml-py) and an NVIDIA GPU"
    import pynvml

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as err:
        return f"needs NVML and an NVIDIA GPU (NVML says: {err})"
    pynvml.nvmlShutdown()
    return None
