"""Data knobs change exactly the plan fields they declare, and their hooks the train split only."""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from typing import Any

import pytest

from greensearch.config import StudyConfig
from greensearch.knobs import RunPlan, default_registry
from greensearch.knobs._data_knobs import find_duplicates, stratified_sample
from tests.conftest import positive_f1
from tests.knobs._plans import assert_pair_composes, changed

STUDY = StudyConfig(name="unit", source="<unit>")


def plan(bundle: dict[str, str], study: StudyConfig = STUDY) -> RunPlan:
    return default_registry().plan(study, bundle)


@pytest.mark.parametrize(
    ("bundle", "expected"),
    ids=str,
    argvalues=[
        ({"fast_tokenizer": "on"}, {"fast_tokenizer"}),
        ({"seq_len": "96"}, {"study.max_length"}),
        ({"dedup": "0.8"}, {"data_hooks+1"}),
        ({"data_fraction": "0.25"}, {"data_hooks+1"}),
        ({"dynamic_padding": "on"}, {"padding"}),
        ({"group_by_length": "on"}, {"padding", "training_args.train_sampling_strategy"}),
    ],
)
def test_knob_changes_only_what_it_declares(bundle: dict[str, str], expected: set[str]) -> None:
    p = plan(bundle)
    assert changed(plan({}), p) == expected
    assert len(p.notes) == 1 and p.notes[0].startswith(next(iter(bundle)))


def test_padding_values() -> None:
    assert plan({}).padding == "max_length"
    assert plan({"dynamic_padding": "on"}).padding == "longest"
    p = plan({"group_by_length": "on", "dynamic_padding": "on"})
    assert p.padding == "longest"
    assert p.training_args == {"train_sampling_strategy": "group_by_length"}


def test_group_by_length_is_a_real_training_argument(tmp_path: Any) -> None:
    from transformers import TrainingArguments

    args = TrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, **plan({"group_by_length": "on"}).training_args
    )
    assert args.train_sampling_strategy == "group_by_length"


# --- dedup ---------------------------------------------------------------------------

A = [f"w{i}" for i in range(60)]  # 60 distinct tokens -> 56 five-token shingles


def mutate(tokens: list[str], *positions: int) -> list[str]:
    return [f"x{i}" if i in positions else t for i, t in enumerate(tokens)]


def splits_for_dedup() -> Any:
    from datasets import Dataset, DatasetDict

    a = " ".join(A)
    train = [
        (a, 1),  # 0 kept
        ("  " + "\n\t".join(A) + "  \n", 1),  # 1 exact (whitespace only)
        (" ".join(mutate(A, 30)), 1),  # 2 near: J = 51/61 = 0.836
        (" ".join(f"v{i}" for i in range(60)), 0),  # 3 kept
        (" ".join(f"v{i}" for i in range(60)), 0),  # 4 exact
        (" ".join(f"u{i}" for i in range(60)), 0),  # 5 kept
        (" ".join(mutate(A, 10, 40)), 1),  # 6 J = 46/66 = 0.697: kept at 0.8
    ]
    test = [(a, 1), (a, 1), (" ".join(mutate(A, 30)), 0)]

    def ds(rows: list[tuple[str, int]]) -> Any:
        return Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]})

    return DatasetDict(train=ds(train), validation=ds(test), test=ds(test))


@pytest.mark.parametrize(
    ("threshold", "kept_rows", "exact", "near"),
    [
        ("0.8", [0, 3, 5, 6], 2, 1),
        ("0.9", [0, 2, 3, 5, 6], 2, 0),
        ("0.6", [0, 3, 5], 2, 2),
    ],
)
def test_dedup_hook_removes_known_duplicates_from_train_only(
    threshold: str, kept_rows: list[int], exact: int, near: int
) -> None:
    p = plan({"dedup": threshold})
    original = splits_for_dedup()
    expected_text = [original["train"]["text"][i] for i in kept_rows]
    out = p.data_hooks[0](splits_for_dedup())
    assert out["train"]["text"] == expected_text
    assert len(out["test"]) == 3 and len(out["validation"]) == 3
    assert f"removed {exact} exact and {near} near duplicates" in p.notes[-1]
    assert f"{len(kept_rows)} of 7 kept" in p.notes[-1]


def _brute_force(texts: list[str], threshold: float) -> list[int]:
    """Independent O(n^2) reference: same rule, exact Jaccard against every kept text."""

    def shingles(text: str) -> set[tuple[str, ...]]:
        tokens = re.findall(r"\w+|[^\w\s]", text)
        k = min(5, len(tokens))
        return {tuple(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}

    kept: list[int] = []
    norms: set[str] = set()
    sets: list[set[tuple[str, ...]]] = []
    for i, text in enumerate(texts):
        norm = " ".join(text.split())
        s = shingles(norm)
        if norm in norms or any(len(s & t) / len(s | t) >= threshold for t in sets):
            continue
        kept.append(i)
        norms.add(norm)
        sets.append(s)
    return kept


def test_minhash_dedup_matches_brute_force_reference() -> None:
    rng = random.Random(7)
    vocab = [f"t{i}" for i in range(400)]
    bases = [[rng.choice(vocab) for _ in range(rng.randint(20, 80))] for _ in range(40)]
    texts = []
    for _ in range(200):
        tokens = list(rng.choice(bases))
        for _ in range(rng.randint(0, 6)):
            tokens[rng.randrange(len(tokens))] = rng.choice(vocab)
        texts.append(" ".join(tokens))
    for threshold in (0.5, 0.7, 0.9):
        kept, exact, near = find_duplicates(texts, threshold)
        assert kept == _brute_force(texts, threshold)
        assert exact + near + len(kept) == 200
    assert 0 < len(find_duplicates(texts, 0.7)[0]) < 200


# --- data_fraction -------------------------------------------------------------------


def splits_for_fraction() -> Any:
    from datasets import Dataset, DatasetDict

    labels = [1 if i % 5 == 0 else 0 for i in range(100)]  # 80 negatives, 20 positives
    train = Dataset.from_dict({"text": [f"ex {i}" for i in range(100)], "label": labels})
    small = Dataset.from_dict({"text": ["a", "b"], "label": [0, 1]})
    return DatasetDict(train=train, validation=small, test=small)


@pytest.mark.parametrize(
    ("fraction", "neg", "pos"), [("0.25", 20, 5), ("0.5", 40, 10), ("0.75", 60, 15), ("0.01", 1, 1)]
)
def test_data_fraction_sizes_and_label_ratio(fraction: str, neg: int, pos: int) -> None:
    p = plan({"data_fraction": fraction})
    out = p.data_hooks[0](splits_for_fraction())
    assert Counter(out["train"]["label"]) == {0: neg, 1: pos}
    assert len(out["test"]) == 2 and len(out["validation"]) == 2
    ids = [int(t.split()[1]) for t in out["train"]["text"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # original order, no repeats
    assert f"kept {neg + pos} of 100" in p.notes[-1]


def test_data_fraction_samples_rows_without_one_label_as_one_group() -> None:
    """A generative task's rows hold target tokens (``labels``, a list per row), no class
    to stratify by: the live run failed with "Column 'label' doesn't exist"."""
    from datasets import Dataset, DatasetDict

    rows = Dataset.from_dict({"input_ids": [[i, i + 1] for i in range(40)]})
    rows = rows.add_column("labels", [[-100, i + 1] for i in range(40)])
    p = plan({"data_fraction": "0.25"})
    out = p.data_hooks[0](DatasetDict(train=rows, validation=rows, test=rows))
    kept = [ids[0] for ids in out["train"]["input_ids"]]
    assert len(kept) == 10 and kept == sorted(set(kept))
    assert "kept 10 of 40" in p.notes[-1]


def test_data_fraction_is_seeded_by_the_study() -> None:
    labels = [i % 3 == 0 for i in range(300)]
    same = stratified_sample(labels, 0.5, seed=42)
    assert same == stratified_sample(labels, 0.5, seed=42)
    assert same != stratified_sample(labels, 0.5, seed=43)
    a = plan({"data_fraction": "0.5"}).data_hooks[0](splits_for_fraction())["train"]["text"]
    b = plan({"data_fraction": "0.5"}, STUDY.replace(seed=1)).data_hooks[0](splits_for_fraction())[
        "train"
    ]["text"]
    assert a != b


def test_hooks_compose_in_registry_order() -> None:
    p = plan({"data_fraction": "0.5", "dedup": "0.8"})
    assert [n.split(":")[0] for n in p.notes] == ["dedup", "data_fraction"]
    assert len(p.data_hooks) == 2


def test_all_pairs_of_data_knobs_compose() -> None:
    names = [
        "fast_tokenizer",
        "seq_len",
        "dedup",
        "data_fraction",
        "dynamic_padding",
        "group_by_length",
    ]
    first = {n: default_registry().get(n).values_for_search()[0] for n in names}
    for a, b in itertools.combinations(names, 2):
        assert_pair_composes(STUDY, {a: first[a]}, {b: first[b]})


# --- end to end on the tiny study ------------------------------------------------------


def tiny_train_labels(study: StudyConfig) -> list[int]:
    from greensearch.data import load_splits

    splits = load_splits(
        study.dataset,
        text_column=study.text_column,
        label_column=study.label_column,
        seed=study.seed,
    )
    return list(splits["train"]["label"])


@pytest.fixture
def tokenize_batched(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each tokenize pass called the tokenizer on batches (fast) or per example."""
    from datasets import DatasetDict

    calls: list[bool] = []
    original = DatasetDict.map

    def recording(self: Any, function: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("desc") == "tokenize":
            calls.append(bool(kwargs.get("batched")))
        return original(self, function, *args, **kwargs)

    monkeypatch.setattr(DatasetDict, "map", recording)
    return calls


@pytest.mark.parametrize(
    ("bundle", "batched", "width", "sampler"),
    ids=str,
    argvalues=[
        ({}, False, 64, "RandomSampler"),  # every example padded to max_length = 64
        ({"fast_tokenizer": "on"}, True, 64, "RandomSampler"),
        ({"seq_len": "32"}, False, 32, "RandomSampler"),
        ({"dedup": "0.8"}, False, 64, "RandomSampler"),
        ({"data_fraction": "0.5"}, False, 64, "RandomSampler"),
        ({"dynamic_padding": "on"}, False, None, "RandomSampler"),  # None: not padded
        ({"group_by_length": "on"}, False, None, "LengthGroupedSampler"),
    ],
)
def test_data_knob_runs_end_to_end(
    bundle: dict[str, str],
    batched: bool,
    width: int | None,
    sampler: str,
    tiny_study: StudyConfig,
    clock_meter: Any,
    trainers: list[Any],
    tokenize_batched: list[bool],
) -> None:
    from greensearch.pipeline import run_once

    labels = tiny_train_labels(tiny_study)
    record = run_once(tiny_study, bundle, meter=clock_meter, fidelity=0.5, keep_model=False)
    assert record["knobs"] == default_registry().canonical(bundle)
    n_train = len(labels)
    if "data_fraction" in bundle:
        n_train = sum(max(1, round(0.5 * c)) for c in Counter(labels).values())
        assert f"kept {n_train} of {len(labels)} train examples" in record["notes"][-1]
    if "dedup" in bundle:
        found = re.search(
            r"removed (\d+) exact and (\d+) near .* (\d+) of (\d+) kept", record["notes"][-1]
        )
        assert found is not None
        exact, near, kept, total = map(int, found.groups())
        assert total == len(labels) and kept == total - exact - near
        n_train = kept
    planned = -(-n_train // tiny_study.batch_size)
    assert record["planned_steps"] == planned
    assert record["train_steps"] == -(-planned // 2)  # fidelity 0.5
    assert record["metrics"]["f1"] == pytest.approx(positive_f1(record))

    # What the trainer was given: the examples, their tokenized lengths, its batches.
    assert tokenize_batched == [batched]
    (trainer,) = trainers
    assert len(trainer.train_dataset) == n_train
    lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    first = next(iter(trainer.get_train_dataloader()))["input_ids"]
    if width is not None:
        assert set(lengths) == {width} and tuple(first.shape) == (16, width)
    else:  # each example keeps its own length; a batch is padded to its longest
        assert len(set(lengths)) > 1 and max(lengths) <= tiny_study.max_length
        shortest = sorted(range(len(lengths)), key=lengths.__getitem__)[:2]
        batch = trainer.data_collator([trainer.train_dataset[i] for i in shortest])
        assert tuple(batch["input_ids"].shape) == (2, max(lengths[i] for i in shortest))
    assert type(trainer._get_train_sampler()).__name__ == sampler
