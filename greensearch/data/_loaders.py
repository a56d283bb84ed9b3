"""Load a classification dataset as ``train``/``validation``/``test`` with ``text``/``label``.

Why one entry point: a study names its data with one string (``dataset = "..."``), and
every source (the shipped ``vulnsynth``, BigVul, any hub id, a local file or directory)
must come out the same shape so the pipeline never special-cases it.

Label mapping: labels are mapped to ``0..K-1`` in sorted order of the original values
(``False < True``; strings alphabetically; ints numerically) and the ``label`` column is a
``datasets.ClassLabel`` whose ``names`` are the original values as strings, so
``dd["train"].features["label"].names[i]`` is the value that became ``i``.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greensearch.data._split import stratified_indices
from greensearch.exceptions import ConfigError

if TYPE_CHECKING:
    import datasets
    import transformers

__all__ = ["EMBEDDED_DATASETS", "HUB_ALIASES", "embedded_tokenizer", "load_splits"]

logger = logging.getLogger(__name__)

#: Short names for hub datasets; ``"bigvul"`` is the paper's data.
HUB_ALIASES: dict[str, str] = {"bigvul": "bstee615/bigvul"}
_EMBEDDED_DIR = Path(__file__).resolve().parent / "embedded"
#: ``embedded:<name>`` datasets shipped in the wheel, mapped to their file prefix.
EMBEDDED_DATASETS: dict[str, str] = {"vulnsynth": "vulnsynth"}
SPLITS = ("train", "validation", "test")
_SPLIT_SYNONYMS = {
    "train": ("train",),
    "validation": ("validation", "valid", "dev", "val"),
    "test": ("test",),
}
_READERS = {".csv": "csv", ".jsonl": "jsonl", ".json": "json", ".parquet": "parquet"}
_SUPPORTED = ".csv, .jsonl, .json, .parquet (optionally .gz, except parquet)"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?$")
_SINGLE_FILE_FRACTIONS = (0.8, 0.1, 0.1)

Columns = dict[str, list[Any]]


def load_splits(
    dataset: str,
    *,
    text_column: str,
    label_column: str,
    seed: int,
    cache_dir: str | None = None,
    notes: list[str] | None = None,
) -> datasets.DatasetDict:
    """Load ``dataset`` as a ``DatasetDict`` with splits train/validation/test.

    Args:
        dataset: ``"embedded:vulnsynth"``; ``"bigvul"`` (hub ``bstee615/bigvul``); another
            hub id; a ``.csv``/``.jsonl``/``.json``/``.parquet`` file (split 80/10/10,
            stratified by label with ``seed``); or a directory with ``train.*``,
            ``validation.*`` (or ``valid.*``/``dev.*``) and ``test.*`` files (shards such as
            ``train-00000-of-00002.parquet`` are concatenated). Splits named otherwise are
            ignored; a missing validation split is carved from train (1/9, stratified).
        text_column: source column holding the input text; becomes ``text``.
        label_column: source column holding the class; becomes ``label`` (``ClassLabel``).
        seed: seeds every split this function has to make.
        cache_dir: ``datasets`` cache for hub downloads (local files are read directly).
        notes: Where given, each repair made to the data (rows dropped, labels mapped) is
            appended here as one line instead of being logged (the preflight shows them).

    Returns:
        Splits each with exactly the columns ``text`` (str) and ``label`` (int 0..K-1).

    Raises:
        ConfigError: missing path or column, unsupported file type, empty or single-class
            data, or a hub dataset that cannot be reached.
    """
    raw = _read_source(
        dataset, text_column=text_column, label_column=label_column, cache_dir=cache_dir
    )
    return _normalise(
        raw,
        text_column=text_column,
        label_column=label_column,
        seed=seed,
        source=dataset,
        notes=notes,
    )


def embedded_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """The byte-level BPE trained on the vulnsynth train split, ready for ModernBERT.

    It adds ``[CLS] ... [SEP]`` around each text and pads with ``[PAD]`` (id 0).
    """
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_file=str(_EMBEDDED_DIR / "tokenizer.json"),
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_max_length=512,
    )


# ---------------------------------------------------------------- reading raw columns


def _read_source(
    dataset: str, *, text_column: str, label_column: str, cache_dir: str | None
) -> dict[str, Columns]:
    """Read ``dataset`` into plain per-split column dicts, before any checking."""
    if dataset.startswith("embedded:"):
        name = dataset.removeprefix("embedded:")
        if name not in EMBEDDED_DATASETS:
            raise ConfigError(
                f"unknown embedded dataset '{dataset}'; available: "
                + ", ".join(f"embedded:{n}" for n in EMBEDDED_DATASETS)
            )
        prefix = EMBEDDED_DATASETS[name]
        return {s: _read_file(_EMBEDDED_DIR / f"{prefix}-{s}.jsonl.gz") for s in SPLITS}
    path = Path(dataset).expanduser()
    if path.is_dir():
        return _read_dir(path)
    if path.is_file():
        return {"train": _read_file(path)}
    if dataset in HUB_ALIASES or _looks_like_hub_id(dataset):
        return _read_hub(
            HUB_ALIASES.get(dataset, dataset),
            text_column=text_column,
            label_column=label_column,
            cache_dir=cache_dir,
            alias=dataset,
        )
    raise ConfigError(
        f"dataset path '{dataset}' does not exist; point `dataset` at a "
        f"{_SUPPORTED} file, a directory of train/validation/test files, "
        "'embedded:vulnsynth' or a hub id"
    )


def _looks_like_hub_id(s: str) -> bool:
    if s.startswith((".", "/", "~")) or "\\" in s or _suffix(Path(s)) in _READERS:
        return False
    return bool(_HUB_ID.match(s)) and Path(s).suffix.lower() not in (".gz", ".txt", ".tsv")


def _suffix(path: Path) -> str:
    """The format suffix, looking through one ``.gz`` (``x.jsonl.gz`` -> ``.jsonl``)."""
    sfx = [s.lower() for s in path.suffixes]
    if sfx and sfx[-1] == ".gz":
        sfx = sfx[:-1]
    return sfx[-1] if sfx else ""


def _read_file(path: Path) -> Columns:
    """Read one local file into columns; the reader is chosen by extension."""
    kind = _READERS.get(_suffix(path))
    if kind is None or (kind == "parquet" and path.suffix.lower() == ".gz"):
        raise ConfigError(f"unsupported file type '{path.name}'; use {_SUPPORTED}")
    import pandas as pd

    try:
        if kind == "csv":
            frame = pd.read_csv(path)
        elif kind == "parquet":
            frame = pd.read_parquet(path)
        else:
            opener = gzip.open if path.suffix.lower() == ".gz" else open
            with opener(path, "rt", encoding="utf-8") as fh:
                text = fh.read()
            return _json_columns(text, lines=kind == "jsonl", name=path.name)
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise ConfigError(f"cannot read '{path}' as {kind}: {err}; check the file") from err
    return {c: frame[c].tolist() for c in frame.columns}


def _json_columns(text: str, *, lines: bool, name: str) -> Columns:
    """Parse JSON Lines, or a JSON array of objects (also accepted for ``.json``)."""
    stripped = text.lstrip()
    if lines or not stripped.startswith("["):
        records, bad = [], []
        for number, ln in enumerate(text.splitlines(), start=1):
            if not ln.strip():
                continue
            try:
                rec = json.loads(ln)
            except json.JSONDecodeError as err:
                bad.append(f"line {number} is not valid JSON ({err.msg}, column {err.colno})")
                continue
            if not isinstance(rec, dict):
                bad.append(f"line {number} is a JSON {_json_kind(rec)}, not an object")
                continue
            records.append(rec)
        if bad:
            more = f" and {len(bad) - 3} more bad line(s)" if len(bad) > 3 else ""
            raise ConfigError(
                f"cannot read '{name}': {'; '.join(bad[:3])}{more}; expect one JSON object per line"
            )
    else:
        try:
            records = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(
                f"cannot parse '{name}' as JSON: {err}; expect one object per "
                "line or an array of objects"
            ) from err
        kinds = [i for i, rec in enumerate(records) if not isinstance(rec, dict)]
        if kinds:
            raise ConfigError(
                f"cannot read '{name}': item {kinds[0]} of its array is a JSON "
                f"{_json_kind(records[kinds[0]])}, not an object; expect an array of objects"
            )
    cols: Columns = {}
    for rec in records:
        for key in rec:
            cols.setdefault(key, [])
    for key in cols:
        cols[key] = [rec.get(key) for rec in records]
    return cols


def _json_kind(value: Any) -> str:
    """JSON's own name for a parsed value's type, for messages."""
    names = {list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _read_dir(path: Path) -> dict[str, Columns]:
    """Read ``train.*``/``validation.*``/``test.*`` (and shards) from one directory."""
    files = sorted(p for p in path.iterdir() if p.is_file() and _suffix(p) in _READERS)
    out: dict[str, Columns] = {}
    for split, names in _SPLIT_SYNONYMS.items():
        chosen = [p for p in files if _split_of(p) in names]
        if chosen:
            parts = [_read_file(p) for p in chosen]
            out[split] = {k: [v for part in parts for v in part.get(k, [])] for k in parts[0]}
    if "train" not in out or "test" not in out:
        found = ", ".join(p.name for p in files) or "no supported files"
        raise ConfigError(
            f"directory '{path}' needs train.* and test.* files "
            f"({_SUPPORTED}), optionally validation.*; found: {found}"
        )
    return out


def _split_of(path: Path) -> str:
    stem = path.name[: -len("".join(path.suffixes))] if path.suffixes else path.name
    return re.split(r"[-_.]", stem.lower(), maxsplit=1)[0]


def _read_hub(
    hub_id: str,
    *,
    text_column: str,
    label_column: str,
    cache_dir: str | None,
    alias: str,
    load_fn: Callable[..., Any] | None = None,
) -> dict[str, Columns]:
    """Load a hub dataset, keeping only the two needed columns (BigVul has dozens).

    ``load_fn`` defaults to ``datasets.load_dataset``; tests inject a fake.
    """
    if load_fn is None:
        import datasets

        load_fn = datasets.load_dataset
    try:
        from datasets.exceptions import DatasetNotFoundError
    except ImportError:  # pragma: no cover - very old datasets
        DatasetNotFoundError = FileNotFoundError
    try:
        loaded = load_fn(hub_id, cache_dir=cache_dir)
    except (ConnectionError, DatasetNotFoundError, FileNotFoundError) as err:
        raise ConfigError(
            f"dataset '{alias}' looks like a Hugging Face hub id ('{hub_id}') but the hub "
            "cannot be reached or has no such dataset; download it where a network exists "
            "or point `dataset` at a local CSV/JSONL/Parquet file"
        ) from err
    out: dict[str, Columns] = {}
    for name, split in loaded.items():
        _check_columns(split.column_names, (text_column, label_column), alias, str(name))
        out[str(name)] = {c: list(split[c]) for c in (text_column, label_column)}
    return out


# ---------------------------------------------------------------- checking and shaping


def _normalise(
    raw: Mapping[str, Columns],
    *,
    text_column: str,
    label_column: str,
    seed: int,
    source: str,
    notes: list[str] | None = None,
) -> datasets.DatasetDict:
    """Select and rename columns, fill in missing splits, map labels, check classes."""
    splits: dict[str, Columns] = {}
    for name, cols in raw.items():
        canonical = next((s for s, syn in _SPLIT_SYNONYMS.items() if name.lower() in syn), None)
        if canonical is None or canonical in splits:
            continue
        if not cols:  # an empty file has no columns at all
            splits[canonical] = {"text": [], "label": []}
            continue
        _check_columns(list(cols), (text_column, label_column), source, name)
        splits[canonical] = _drop_missing(
            cols[text_column], cols[label_column], name, source, notes
        )
    if not splits or sum(len(c["label"]) for c in splits.values()) == 0:
        raise ConfigError(
            f"dataset '{source}' has no rows with a text and a label; check the file or hub id"
        )
    carved = set(splits) == {"train"}
    if carved:
        splits = _carve(
            splits["train"], ("train", "validation", "test"), _SINGLE_FILE_FRACTIONS, seed
        )
    elif "validation" not in splits:
        logger.info("dataset %r has no validation split; taking 1/9 of train", source)
        splits.update(_carve(splits["train"], ("train", "validation"), (8 / 9, 1 / 9), seed))
    if "test" not in splits:
        raise ConfigError(f"dataset '{source}' has no test split; provide one")
    return _to_dataset_dict(
        splits, source=source, label_column=label_column, notes=notes, carved=carved
    )


def _check_columns(names: list[str], wanted: tuple[str, str], source: str, split: str) -> None:
    for role, col in zip(("text", "label"), wanted, strict=True):
        if col not in names:
            raise ConfigError(
                f"{role} column '{col}' not found in dataset '{source}' (split '{split}'); "
                f"columns are: {', '.join(map(str, names)) or '(none)'}; set "
                f"{role}_column to one of them"
            )


def _drop_missing(
    text: list[Any], label: list[Any], split: str, source: str, notes: list[str] | None = None
) -> Columns:
    keep = [i for i in range(len(label)) if not _missing(text[i]) and not _missing(label[i])]
    if len(keep) < len(label):
        note = (
            f"dataset '{source}' split '{split}': dropped {len(label) - len(keep)} of "
            f"{len(label)} rows with no text or label (empty or blank counts as none)"
        )
        if notes is not None:
            notes.append(note)
        else:
            logger.warning("%s", note)
    odd = next((label[i] for i in keep if isinstance(label[i], list | dict)), None)
    if odd is not None:
        raise ConfigError(
            f"label column of dataset '{source}' holds {type(odd).__name__} values such as "
            f"{odd!r}, not one class per row; set label_column to a column of class values"
        )
    bad = next((text[i] for i in keep if not isinstance(text[i], str)), None)
    if bad is not None:
        raise ConfigError(
            f"text column of dataset '{source}' holds {type(bad).__name__} "
            f"values such as {bad!r}, not strings; set text_column to a text "
            "column"
        )
    return {"text": [text[i] for i in keep], "label": [_plain(label[i]) for i in keep]}


def _missing(v: Any) -> bool:
    """No value: None, NaN, or a blank string (a blank label would become a class)."""
    return (
        v is None
        or (isinstance(v, float) and math.isnan(v))
        or (isinstance(v, str) and not v.strip())
    )


def _plain(v: Any) -> Any:
    """numpy scalars to Python, integral floats to int (CSV columns with gaps load as float)."""
    if hasattr(v, "item") and not isinstance(v, str | bytes):
        v = v.item()
    if isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _carve(
    cols: Columns, names: tuple[str, ...], fractions: tuple[float, ...], seed: int
) -> dict[str, Columns]:
    parts = stratified_indices(cols["label"], fractions, seed=seed)
    return {
        n: {k: [v[i] for i in idx] for k, v in cols.items()}
        for n, idx in zip(names, parts, strict=True)
    }


def _to_dataset_dict(
    splits: dict[str, Columns],
    *,
    source: str,
    label_column: str,
    notes: list[str] | None = None,
    carved: bool = False,
) -> datasets.DatasetDict:
    """Map labels to classes and check each split; ``carved``: the splits were cut here."""
    import datasets

    values = {v for cols in splits.values() for v in cols["label"]}
    kinds = {bool if isinstance(v, bool) else type(v) for v in values}
    if len(kinds) > 1:
        raise ConfigError(
            f"label column '{label_column}' of dataset '{source}' mixes types "
            f"({', '.join(sorted(k.__name__ for k in kinds))}); use one type"
        )
    ordered = sorted(values)
    if len(ordered) < 2:
        raise ConfigError(
            f"dataset '{source}' has a single class (label column "
            f"'{label_column}' is always {ordered[0]!r}); a classifier needs "
            "at least two classes"
        )
    index = {v: i for i, v in enumerate(ordered)}
    names = [str(v) for v in ordered]
    if notes is not None and kinds != {bool} and ordered != list(range(len(ordered))):
        notes.append(
            f"dataset '{source}': labels mapped to classes "
            + ", ".join(f"{v!r}->{i}" for v, i in index.items())
            + f" ({sum(len(c['label']) for c in splits.values())} rows)"
        )
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    out = {}
    for split in SPLITS:
        cols = splits[split]
        present = sorted({index[v] for v in cols["label"]})
        if carved and (not cols["label"] or len(present) < 2):
            rows = sum(len(c["label"]) for c in splits.values())
            raise ConfigError(
                f"dataset '{source}' has {rows} rows: too few to split into train, "
                f"validation and test with two classes in each (split '{split}' has "
                f"{len(cols['label'])} rows); add rows"
            )
        if not cols["label"]:
            raise ConfigError(
                f"split '{split}' of dataset '{source}' is empty; add rows or "
                "use a single file so greensearch splits it"
            )
        if len(present) < 2:
            raise ConfigError(
                f"split '{split}' of dataset '{source}' has a single class "
                f"({names[present[0]]!r}); every split needs at least two "
                "classes"
            )
        absent = [names[i] for i in range(len(names)) if i not in present]
        if absent and notes is not None:
            counts = {names[i]: 0 for i in range(len(names))}
            for cols_ in splits.values():
                for v in cols_["label"]:
                    counts[names[index[v]]] += 1
            notes.append(
                f"split '{split}' of dataset '{source}' has no rows of class(es) "
                + ", ".join(f"{n!r} ({counts[n]} rows in all)" for n in absent)
                + "; its F1 leaves them out"
            )
        out[split] = datasets.Dataset.from_dict(
            {"text": cols["text"], "label": [index[v] for v in cols["label"]]}, features=features
        )
    dd = datasets.DatasetDict(out)
    for ds in dd.values():
        ds.info.description = f"greensearch: {source}; label map " + json.dumps(
            {n: i for i, n in enumerate(names)}
        )
    return dd
