"""The task definition: a study file (TOML) naming model, data and training settings.

A study file is the contract between a user and every run of greensearch: the baseline
is "this file, no knobs", and every knob changes a copy of it. Unknown keys and
non-numeric values are rejected up front, before any energy is spent.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greensearch.exceptions import ConfigError, PreflightError

__all__ = [
    "StudyConfig",
    "load_study",
    "study_from_dict",
    "model_num_layers",
    "DEFAULT_STUDY",
    "EMBEDDED_MODEL",
    "EMBEDDED_ARCH",
]

#: The study shipped with the package: runs offline on 2 CPU cores in about a minute.
DEFAULT_STUDY = Path(__file__).resolve().parent / "studies" / "default.toml"

#: Model id of the small ModernBERT built from a config (no weights are downloaded).
EMBEDDED_MODEL = "embedded:modernbert-tiny"

#: Architecture of the embedded model; a study's ``model_config`` overrides any key.
EMBEDDED_ARCH: dict[str, Any] = {
    "hidden_size": 128,
    "num_hidden_layers": 6,
    "num_attention_heads": 4,
    "intermediate_size": 256,
    "max_position_embeddings": 512,
    "global_attn_every_n_layers": 3,
    "local_attention": 128,
    # Mean pooling learns the synthetic task in one epoch from random weights; the
    # [CLS] token (ModernBERT's default) needs about twice the steps.
    "classifier_pooling": "mean",
}


@dataclass(frozen=True, slots=True)
class StudyConfig:
    """One fine-tuning task. Field names are the keys of the TOML file.

    Attributes:
        name: Label used in result files and study names.
        model: Hugging Face model id, local path, or ``embedded:modernbert-tiny``.
        dataset: ``embedded:vulnsynth``, ``bigvul``, a hub id, or a local CSV/JSONL/Parquet path.
        text_column: Column holding the input text.
        label_column: Column holding the class label.
        max_length: Token budget per example (the baseline pads to it).
        epochs: Training epochs.
        batch_size: Per-device training batch size.
        eval_batch_size: Per-device batch size for validation and test.
        learning_rate: Peak learning rate.
        weight_decay: AdamW weight decay.
        warmup_ratio: Fraction of steps spent warming up the learning rate.
        seed: Seed for data splits, model init and training order.
        model_config: Overrides for the embedded model's architecture (ignored for hub models).
        tokenizer: Tokenizer id or path; empty means the model's own (or the shipped one).
        search_exclude: Knobs ``greensearch optimize`` never searches on this study (with
            the reason in a comment of the study file), on top of ``--exclude``.
        source: The file this study was read from, for messages and records.
    """

    name: str = "default"
    model: str = EMBEDDED_MODEL
    dataset: str = "embedded:vulnsynth"
    text_column: str = "func_before"
    label_column: str = "vul"
    max_length: int = 192
    epochs: float = 1.0
    batch_size: int = 16
    eval_batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 42
    model_config: dict[str, Any] = field(default_factory=dict)
    tokenizer: str = ""
    search_exclude: tuple[str, ...] = ()
    source: str = ""

    def replace(self, **changes: Any) -> StudyConfig:
        """Return a copy with ``changes`` applied (knobs never mutate a study)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for records and JSON output."""
        return dataclasses.asdict(self)


_INT_KEYS = {"max_length", "batch_size", "eval_batch_size", "seed"}
_FLOAT_KEYS = {"epochs", "learning_rate", "weight_decay", "warmup_ratio"}
_STR_KEYS = {"name", "model", "dataset", "text_column", "label_column", "tokenizer"}
_POSITIVE = {"max_length", "batch_size", "eval_batch_size", "epochs", "learning_rate"}


def load_study(path: str | Path | None = None) -> StudyConfig:
    """Read and validate a study file; ``None`` reads the embedded default.

    Relative dataset paths are resolved against the study file's folder, so a study and
    its data can travel together.

    Raises:
        ConfigError: missing file, TOML syntax error, unknown key or a bad value.
    """
    file = Path(path) if path is not None else DEFAULT_STUDY
    if file.is_dir():
        raise ConfigError(f"--study '{file}' is a folder; pass a study TOML file in it")
    if not file.is_file():
        raise ConfigError(f"study file '{file}' not found; pass an existing TOML file to --study")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8-sig"))  # a BOM is no statement
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"study file '{file}' is not valid TOML: {err}") from err
    except UnicodeDecodeError as err:
        raise ConfigError(f"study file '{file}' is not UTF-8 text: {err.reason}") from err
    return study_from_dict(raw, source=str(file), base_dir=file.parent)


def study_from_dict(
    raw: dict[str, Any], *, source: str = "<dict>", base_dir: Path | None = None
) -> StudyConfig:
    """Validate a mapping of study keys into a :class:`StudyConfig`.

    Raises:
        ConfigError: unknown key or a value of the wrong type or range.
    """
    known = {f.name for f in dataclasses.fields(StudyConfig)} - {"source"}
    unknown = sorted(set(raw) - known)
    problems: list[str] = []
    if unknown:
        problems.append(
            f"unknown key(s) {', '.join(unknown)} in study '{source}'; known keys: "
            f"{', '.join(sorted(known))}"
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in known:
            continue
        try:  # every bad key is reported at once, not one per attempt
            values[key] = _coerce(key, value, source)
        except ConfigError as err:
            problems.append(str(err))
    dataset = values.get("dataset")
    if base_dir is not None and isinstance(dataset, str) and _looks_like_path(dataset):
        candidate = (base_dir / dataset).resolve()
        if candidate.exists():
            values["dataset"] = str(candidate)
        elif not Path(dataset).exists():
            problems.append(
                f"dataset '{dataset}' in study '{source}' does not exist; point `dataset` at a "
                "CSV/JSONL/Parquet file or folder (relative paths start at the study file)"
            )
    if len(problems) == 1:
        raise ConfigError(problems[0])
    if problems:
        raise PreflightError(problems)
    return StudyConfig(source=source, **values)


def _coerce(key: str, value: Any, source: str) -> Any:
    if key in _INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"'{key}' in study '{source}' must be an integer, got {value!r}")
    elif key in _FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"'{key}' in study '{source}' must be a number, got {value!r}")
        value = float(value)
    elif key in _STR_KEYS:
        if not isinstance(value, str):
            raise ConfigError(f"'{key}' in study '{source}' must be a string, got {value!r}")
    elif key == "search_exclude":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(
                f"'search_exclude' in study '{source}' must be a list of knob names, got {value!r}"
            )
        value = tuple(value)
    elif key == "model_config" and not isinstance(value, dict):
        raise ConfigError(f"'model_config' in study '{source}' must be a table, got {value!r}")
    if key in _FLOAT_KEYS and not math.isfinite(value):
        raise ConfigError(f"'{key}' in study '{source}' must be a finite number, got {value!r}")
    if key in _POSITIVE and value <= 0:
        raise ConfigError(f"'{key}' in study '{source}' must be positive, got {value!r}")
    if key == "seed" and not 0 <= value < 2**32:  # torch and numpy refuse others at load
        raise ConfigError(f"'seed' in study '{source}' must be in 0..4294967295, got {value!r}")
    if key == "warmup_ratio" and not 0 <= value < 1:
        raise ConfigError(f"'warmup_ratio' in study '{source}' must be in [0, 1), got {value!r}")
    return value


def _looks_like_path(dataset: str) -> bool:
    return dataset.startswith((".", "/")) or dataset.endswith(
        (".csv", ".json", ".jsonl", ".parquet", ".gz")
    )


def model_num_layers(study: StudyConfig) -> int:
    """Encoder depth of the study's model, without loading weights.

    Raises:
        ConfigError: the model's config cannot be read (e.g. a hub id while offline).
    """
    if study.model == EMBEDDED_MODEL:
        return int({**EMBEDDED_ARCH, **study.model_config}["num_hidden_layers"])
    from transformers import AutoConfig

    try:
        return int(AutoConfig.from_pretrained(study.model).num_hidden_layers)
    except (OSError, ValueError) as err:
        raise ConfigError(
            f"cannot read the config of model '{study.model}': {str(err).splitlines()[0]}"
        ) from err
