"""Checks of what a run consumes: the study file, its model settings and its dataset.

Each check reports into a :class:`Preflight` and returns what later checks need (the
study), so one bad input does not hide the next.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from greensearch.config import EMBEDDED_ARCH, EMBEDDED_MODEL, StudyConfig, load_study
from greensearch.exceptions import ConfigError
from greensearch.preflight._core import Preflight

__all__ = ["check_dataset", "check_model_config", "check_study"]

#: Architecture sizes that must be positive integers (a zero fails deep inside torch).
_POSITIVE_ARCH = (
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
    "global_attn_every_n_layers",
    "local_attention",
)


def check_study(pf: Preflight, study: str | Path | StudyConfig | None) -> StudyConfig | None:
    """Read and validate the study file (every bad key reported), then its model settings."""
    cfg = study if isinstance(study, StudyConfig) else pf.attempt(load_study, study)
    if cfg is None and not isinstance(study, StudyConfig):
        cfg = _salvage(study)  # so a bad key does not hide the dataset's or model's problems
    if cfg is not None:
        check_model_config(pf, cfg)
        check_model(pf, cfg)
    return cfg


def check_model(pf: Preflight, study: StudyConfig) -> None:
    """A hub or local model must have a readable config (the cache or the folder), up front.

    Otherwise a typo in ``model`` fails at the load stage, after the data and tokenize
    stages have spent energy.
    """
    from greensearch.config import model_num_layers
    from greensearch.pipeline._model import load_tokenizer

    before = len(pf.problems)
    if study.model != EMBEDDED_MODEL:
        pf.attempt(model_num_layers, study)
    source = study.tokenizer or study.model
    if source == study.model and len(pf.problems) > before:
        return  # one cause, one line: the model is unreadable, so is its tokenizer
    if source != EMBEDDED_MODEL and not source.startswith("embedded:"):
        pf.attempt(load_tokenizer, study)


def _salvage(path: str | Path | None) -> StudyConfig | None:
    """The study with only its valid keys, for checking the rest (never run)."""
    import tomllib

    from greensearch.config import DEFAULT_STUDY, study_from_dict

    file = Path(path) if path is not None else DEFAULT_STUDY
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    kept: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            ok = getattr(study_from_dict({key: value}, base_dir=file.parent), key)
        except (ConfigError, AttributeError):
            continue
        kept[key] = list(ok) if isinstance(ok, tuple) else ok
    try:
        return study_from_dict(kept, source=str(file), base_dir=None)
    except ConfigError:  # pragma: no cover - every kept key passed alone
        return None


def check_model_config(pf: Preflight, study: StudyConfig) -> None:
    """``[model_config]`` keys and types against the embedded model's config class.

    Unchecked, a misspelled key would be ignored and a wrong type would fail only at the
    load stage, after the data and tokenize stages had spent energy.
    """
    if not study.model_config:
        return
    if study.model != EMBEDDED_MODEL:
        pf.notes.append(
            f"[model_config] in study '{study.source}' is ignored: it applies only to "
            f"'{EMBEDDED_MODEL}', and the model is '{study.model}'"
        )
        return
    defaults = _config_fields()
    where = f"[model_config] of study '{study.source}'"
    before = len(pf.problems)
    for key, value in study.model_config.items():
        if key not in defaults:
            close = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            pf.problem(f"unknown key '{key}' in {where} (ModernBertConfig has no such field){hint}")
            continue
        expected = _type_of(defaults[key])
        if expected is not None and not _fits(value, expected):
            pf.problem(
                f"'{key}' in {where} must be {expected}, got {value!r} ({type(value).__name__})"
            )
        elif key in _POSITIVE_ARCH and isinstance(value, int) and value <= 0:
            pf.problem(f"'{key}' in {where} must be a positive integer, got {value!r}")
    arch = {**EMBEDDED_ARCH, **study.model_config}
    heads, hidden = arch.get("num_attention_heads"), arch.get("hidden_size")
    if isinstance(heads, int) and isinstance(hidden, int) and _posint(heads) and hidden % heads:
        pf.problem(
            f"'hidden_size' ({hidden}) in {where} must be a multiple of "
            f"'num_attention_heads' ({heads})"
        )
    if len(pf.problems) == before:  # keys and types fit: now the values, as the model will
        pf.problem(_value_problem(arch, where))


def _value_problem(arch: dict[str, Any], where: str) -> str | None:
    """Why ModernBertConfig or the model's layers refuse a value (``"bogus"`` pooling)."""
    from transformers import ModernBertConfig
    from transformers.activations import ACT2FN

    refused: tuple[type[Exception], ...] = (ValueError, TypeError)
    try:  # the strict-dataclass validators of recent transformers raise this
        from huggingface_hub.errors import StrictDataclassError

        refused = (*refused, StrictDataclassError)
    except ImportError:  # pragma: no cover - older huggingface_hub
        pass

    for key in ("hidden_activation", "classifier_activation"):
        value = arch.get(key)
        if isinstance(value, str) and value not in ACT2FN:
            close = difflib.get_close_matches(value, list(ACT2FN), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            return f"'{key}' in {where} must be an activation name, got {value!r}{hint}"
    try:
        ModernBertConfig(**arch)
    except refused as err:
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        why = lines[-1] if lines else type(err).__name__
        why = why.split(": ", 1)[-1] if why.startswith(("TypeError", "ValueError")) else why
        return f"{where} is refused by ModernBertConfig: {why}"
    return None


def _config_fields() -> dict[str, Any]:
    """Every key ModernBertConfig takes, with its default where it has one.

    Its fields, its ``__init__`` parameters, and the legacy keys its ``__init__`` reads
    from ``**kwargs`` (``global_attn_every_n_layers``); anything else it would silently
    keep as an unused attribute.
    """
    import inspect
    import re

    from transformers import ModernBertConfig

    fields: dict[str, Any] = dict.fromkeys(inspect.signature(ModernBertConfig.__init__).parameters)
    fields.pop("self", None)
    fields.pop("kwargs", None)
    try:
        source = inspect.getsource(ModernBertConfig)
    except (OSError, TypeError):  # pragma: no cover - installed without sources
        source = ""
    fields.update(dict.fromkeys(re.findall(r"kwargs\.(?:get|pop)\(\s*[\"'](\w+)[\"']", source)))
    fields.update(ModernBertConfig().to_dict())
    fields.update(EMBEDDED_ARCH)  # the shipped defaults fix the type of legacy keys
    return fields


#: Datasets this process has validated, with their notes: the CLI's preflight and the
#: library's (``optimize`` checks its settings too) load a dataset once between them.
_VALIDATED: dict[tuple[object, ...], list[str]] = {}


def check_dataset(pf: Preflight, study: StudyConfig) -> None:
    """Load and validate the dataset once, as every run will; say what was repaired."""
    from greensearch.data import load_splits

    key = (study.dataset, _stamp(study.dataset), study.text_column, study.label_column, study.seed)
    if key in _VALIDATED:
        pf.notes.extend(_VALIDATED[key])
        return
    notes: list[str] = []
    before = len(pf.problems)
    pf.attempt(
        load_splits,
        study.dataset,
        text_column=study.text_column,
        label_column=study.label_column,
        seed=study.seed,
        notes=notes,
    )
    pf.notes.extend(notes)
    if len(pf.problems) == before:
        _VALIDATED[key] = notes


def _stamp(dataset: str) -> tuple[tuple[str, int, int], ...]:
    """Size and modification time of a local dataset's files (empty for a named one)."""
    path = Path(dataset).expanduser()
    files = sorted(path.iterdir()) if path.is_dir() else [path] if path.is_file() else []
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.is_file())


def knob_problem(check: Any, *args: Any, **kwargs: Any) -> str | None:
    """Run a knob check that raises :class:`ConfigError`; its message or ``None``."""
    try:
        check(*args, **kwargs)
    except ConfigError as err:
        return str(err)
    return None


def _type_of(default: Any) -> str | None:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, str):
        return "a string"
    return None  # None or a structure: the config class decides


def _fits(value: Any, expected: str) -> bool:
    if expected == "true or false":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected == "an integer":
        return isinstance(value, int)
    if expected == "a number":
        return isinstance(value, int | float)
    return isinstance(value, str)


def _posint(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
