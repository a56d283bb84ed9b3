"""Tests for :func:`greensearch.data.load_splits` and :func:`embedded_tokenizer`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from greensearch.data import HUB_ALIASES, embedded_tokenizer, load_splits
from greensearch.data._loaders import _normalise, _read_hub
from greensearch.exceptions import ConfigError

FIXTURES = Path(__file__).parent / "fixtures"
SPLITS = ["train", "validation", "test"]


def _frame(n: int = 50, pos: int = 10, *, label: Any = None) -> pd.DataFrame:
    labels = label if label is not None else [1] * pos + [0] * (n - pos)
    return pd.DataFrame(
        {
            "code": [f"int f{i}(void) {{ return {i}; }}" for i in range(n)],
            "target": labels,
            "extra": range(n),
        }
    )


def _load(dataset: str | Path, **kw: Any) -> Any:
    opts = {"text_column": "code", "label_column": "target", "seed": 0} | kw
    return load_splits(str(dataset), **opts)


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".json", ".parquet", ".jsonl.gz"])
def test_single_file_is_split_80_10_10_stratified(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"data{ext}"
    frame = _frame()
    if ext == ".csv":
        frame.to_csv(path, index=False)
    elif ext == ".parquet":
        frame.to_parquet(path)
    elif ext == ".json":
        frame.to_json(path, orient="records")
    else:
        frame.to_json(path, orient="records", lines=True, compression="infer")
    dd = _load(path)
    assert list(dd) == SPLITS
    assert [dd[s].num_rows for s in SPLITS] == [40, 5, 5]
    assert [sum(dd[s]["label"]) for s in SPLITS] == [8, 1, 1]
    assert all(dd[s].column_names == ["text", "label"] for s in SPLITS)
    all_text = sorted(t for s in SPLITS for t in dd[s]["text"])
    assert all_text == sorted(frame["code"])
    truth = dict(zip(frame["code"], frame["target"], strict=True))
    assert all(truth[r["text"]] == r["label"] for s in SPLITS for r in dd[s])


def test_split_depends_on_seed_only(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    _frame().to_csv(path, index=False)
    a, b, c = _load(path, seed=1), _load(path, seed=1), _load(path, seed=2)
    assert a["test"]["text"] == b["test"]["text"]
    assert a["test"]["text"] != c["test"]["text"]


def test_directory_with_dev_split_and_shards(tmp_path: Path) -> None:
    frame = _frame(40, 8)
    frame.iloc[:10].to_csv(tmp_path / "train-00000-of-00002.csv", index=False)
    frame.iloc[10:20].to_csv(tmp_path / "train-00001-of-00002.csv", index=False)
    frame.iloc[[0, 1, 20, 21, 22]].to_json(tmp_path / "dev.jsonl", orient="records", lines=True)
    frame.iloc[[2, 3, 30, 31]].to_parquet(tmp_path / "test.parquet")
    (tmp_path / "README.md").write_text("ignored")
    dd = _load(tmp_path)
    assert [dd[s].num_rows for s in SPLITS] == [20, 5, 4]
    assert dd["validation"]["label"] == [1, 1, 0, 0, 0]
    assert dd["train"]["text"][10] == "int f10(void) { return 10; }"


def test_directory_without_validation_carves_it_from_train(tmp_path: Path) -> None:
    frame = _frame(40, 10)
    frame.iloc[:36].to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[[0, 1, 38, 39]].to_csv(tmp_path / "test.csv", index=False)
    dd = _load(tmp_path)
    assert [dd[s].num_rows for s in SPLITS] == [32, 4, 4]
    assert sum(dd["validation"]["label"]) == 1


def test_string_labels_map_to_sorted_ints_recorded_in_classlabel(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    labels = ["safe", "vuln", "maybe"] * 10
    _frame(30, label=labels).to_json(path, orient="records", lines=True)
    dd = _load(path)
    assert dd["train"].features["label"].names == ["maybe", "safe", "vuln"]
    row = dd["train"][0]
    original = labels[int(row["text"].split("(")[0][5:])]
    assert dd["train"].features["label"].names[row["label"]] == original
    assert '"vuln": 2' in dd["test"].info.description


def test_bool_and_noncontiguous_int_labels(tmp_path: Path) -> None:
    _frame(20, label=[True, False] * 10).to_json(tmp_path / "b.json", orient="records")
    dd = _load(tmp_path / "b.json")
    assert dd["train"].features["label"].names == ["False", "True"]
    assert sorted(set(dd["train"]["label"])) == [0, 1]
    _frame(20, label=[-1, 1] * 10).to_csv(tmp_path / "i.csv", index=False)
    dd = _load(tmp_path / "i.csv")
    assert dd["train"].features["label"].names == ["-1", "1"]


def test_rows_without_label_are_dropped(tmp_path: Path) -> None:
    frame = _frame(30, 6)
    frame["target"] = frame["target"].astype("float").where(frame.index != 29)
    frame.to_csv(tmp_path / "d.csv", index=False)
    dd = _load(tmp_path / "d.csv")
    assert sum(dd[s].num_rows for s in SPLITS) == 29
    assert dd["train"].features["label"].names == ["0", "1"]


def test_embedded_vulnsynth_has_bigvul_columns_renamed() -> None:
    dd = load_splits("embedded:vulnsynth", text_column="func_before", label_column="vul", seed=1)
    assert [dd[s].num_rows for s in SPLITS] == [3360, 479, 2883]
    assert dd["test"].column_names == ["text", "label"]
    assert 0.18 < sum(dd["test"]["label"]) / 2883 < 0.22
    assert "return" in dd["train"][0]["text"]


def test_bigvul_columns_from_a_local_mirror_directory() -> None:
    dd = load_splits(
        str(FIXTURES / "bigvul_mini"), text_column="func_before", label_column="vul", seed=0
    )
    assert [dd[s].num_rows for s in SPLITS] == [7, 3, 5]
    assert dd["train"]["label"] == [1, 1, 1, 0, 0, 0, 0]
    assert dd["train"][0]["text"].startswith("int f(char *s) {\n  char b[8];\n  strcpy")


def test_bigvul_alias_loads_the_paper_hub_id_through_the_loader() -> None:
    import datasets

    calls: list[tuple[str, str | None]] = []
    mirror = load_splits(
        str(FIXTURES / "bigvul_mini"), text_column="func_before", label_column="vul", seed=0
    )

    def fake_load_dataset(hub_id: str, *, cache_dir: str | None) -> datasets.DatasetDict:
        calls.append((hub_id, cache_dir))
        return datasets.DatasetDict(
            {
                s: mirror[s]
                .rename_columns({"text": "func_before", "label": "vul"})
                .add_column("CWE ID", ["CWE-119"] * len(mirror[s]))
                for s in SPLITS
            }
        )

    raw = _read_hub(
        HUB_ALIASES["bigvul"],
        text_column="func_before",
        label_column="vul",
        cache_dir="/c",
        alias="bigvul",
        load_fn=fake_load_dataset,
    )
    dd = _normalise(raw, text_column="func_before", label_column="vul", seed=0, source="bigvul")
    assert calls == [("bstee615/bigvul", "/c")]
    assert dd["test"]["text"] == mirror["test"]["text"]
    assert dd["test"]["label"] == mirror["test"]["label"]
    with pytest.raises(
        ConfigError,
        match=r"label column 'target' not found in dataset "
        r"'bigvul' .*columns are: func_before, vul, CWE ID",
    ):
        _read_hub(
            "bstee615/bigvul",
            text_column="func_before",
            label_column="target",
            cache_dir=None,
            alias="bigvul",
            load_fn=fake_load_dataset,
        )


def test_bigvul_offline_raises_a_clear_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # both libraries read the variables once, at import: a suite that imported them
    # earlier would otherwise try the network (and wait out its timeouts) here
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError) as info:
        load_splits(
            "bigvul",
            text_column="func_before",
            label_column="vul",
            seed=0,
            cache_dir=str(Path(__file__).parent / "no-such-cache"),
        )
    msg = str(info.value)
    assert "'bigvul'" in msg and "bstee615/bigvul" in msg and "local CSV/JSONL/Parquet" in msg
    assert "\n" not in msg
    assert isinstance(info.value.__cause__, ConnectionError)


@pytest.mark.parametrize(
    ("dataset", "needle"),
    [
        ("missing/dir/data.csv", "dataset path 'missing/dir/data.csv' does not exist"),
        ("./nowhere", "dataset path './nowhere' does not exist"),
        (
            "embedded:nope",
            "unknown embedded dataset 'embedded:nope'; available: embedded:vulnsynth",
        ),
    ],
)
def test_missing_sources(dataset: str, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        _load(dataset)


def test_unsupported_extension(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("int f;\t1\n")
    with pytest.raises(ConfigError, match=r"unsupported file type 'd.txt'; use .csv, .jsonl"):
        _load(tmp_path / "d.txt")


def test_missing_columns_name_the_existing_ones(tmp_path: Path) -> None:
    _frame().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(
        ConfigError,
        match=r"text column 'func' not found .* columns are: code, "
        r"target, extra; set text_column",
    ):
        _load(tmp_path / "d.csv", text_column="func")
    with pytest.raises(ConfigError, match=r"label column 'vul' not found .*set label_column"):
        _load(tmp_path / "d.csv", label_column="vul")


def test_non_text_column_is_rejected(tmp_path: Path) -> None:
    _frame().to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ConfigError, match="holds int values such as 0, not strings"):
        _load(tmp_path / "d.csv", text_column="extra")


def test_empty_dataset(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text("")
    with pytest.raises(ConfigError, match="dataset '.*d.jsonl' has no rows"):
        _load(tmp_path / "d.jsonl")


def test_single_class_dataset(tmp_path: Path) -> None:
    _frame(20, label=[1] * 20).to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(ConfigError, match=r"single class \(label column 'target' is always 1\)"):
        _load(tmp_path / "d.csv")


def test_single_class_split(tmp_path: Path) -> None:
    frame = _frame(30, 10)
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.iloc[8:13].to_csv(tmp_path / "validation.csv", index=False)
    frame.iloc[10:20].to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(ConfigError, match=r"split 'test' of .* has a single class \('0'\)"):
        _load(tmp_path)


def test_empty_split(tmp_path: Path) -> None:
    frame = _frame(30, 10)
    frame.to_csv(tmp_path / "train.csv", index=False)
    frame.to_csv(tmp_path / "validation.csv", index=False)
    frame.iloc[:0].to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(ConfigError, match="split 'test' of dataset .* is empty"):
        _load(tmp_path)


def test_directory_without_train_lists_what_it_found(tmp_path: Path) -> None:
    _frame().to_csv(tmp_path / "all.csv", index=False)
    with pytest.raises(ConfigError, match=r"needs train\.\* and test\.\* files .*found: all.csv"):
        _load(tmp_path)


def test_embedded_tokenizer_wraps_pads_and_truncates() -> None:
    tok = embedded_tokenizer()
    vocab = json.loads(
        (Path(__file__).parents[2] / "greensearch/data/embedded/tokenizer.json").read_text()
    )["model"]["vocab"]
    assert (
        tok.pad_token_id,
        tok.unk_token_id,
        tok.cls_token_id,
        tok.sep_token_id,
        tok.mask_token_id,
    ) == (0, 1, 2, 3, 4)
    assert tok.model_max_length == 512 and len(tok) == len(vocab)
    enc = tok(["strcpy(buf, src);", "x"], padding="max_length", truncation=True, max_length=6)
    assert enc["input_ids"][0][0] == 2 and enc["input_ids"][0][-1] == 3
    assert enc["input_ids"][1] == [2, vocab["x"], 3, 0, 0, 0]
    assert enc["attention_mask"][1] == [1, 1, 1, 0, 0, 0]
