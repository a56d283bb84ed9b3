"""``greensearch.hf.search(metric="entity_f1")``: a token classifier's Trainer, judged on
entity F1 per sentence, offline (the NER example's generated sentences, a tiny BERT)."""

from __future__ import annotations

import json

import pytest
from transformers import BertConfig, BertForTokenClassification, TrainingArguments

import greensearch.hf
from greensearch.data import ner_sentences
from greensearch.exceptions import ConfigError
from greensearch.stats import RunPredictions, entity_spans

WIDTH = 16


def _sentences():
    return ner_sentences(240, seed=1), ner_sentences(80, seed=2)


@pytest.fixture(scope="module")
def tagged():
    """Tokenized splits (a word id and a label id per token, padded) and the tag names."""
    from datasets import Dataset

    train, test = _sentences()
    words = {w: i + 1 for i, w in enumerate(sorted({w for s, _ in train + test for w in s}))}
    tags = sorted({t for _, ts in train + test for t in ts})

    def encode(sentences):
        rows = {"input_ids": [], "attention_mask": [], "labels": []}
        for tokens, ts in sentences:
            pad = WIDTH - len(tokens)
            rows["input_ids"].append([words[w] for w in tokens] + [0] * pad)
            rows["attention_mask"].append([1] * len(tokens) + [0] * pad)
            rows["labels"].append([tags.index(t) for t in ts] + [-100] * pad)
        return Dataset.from_dict(rows)

    return encode(train), encode(test), len(words) + 1, tags, [ts for _, ts in test]


def _init(vocab, names):
    config = BertConfig(
        vocab_size=vocab,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=WIDTH,
        num_labels=len(names),
        id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)},
    )
    return lambda: BertForTokenClassification(config)


def _args(tmp_path):
    return TrainingArguments(
        output_dir=str(tmp_path / "out"),
        num_train_epochs=3,
        per_device_train_batch_size=16,
        learning_rate=5e-3,
        save_strategy="no",
        report_to="none",
    )


def test_a_token_classifier_is_searched_and_judged_on_entity_f1(tagged, clock_meter, tmp_path):
    train, test, vocab, names, gold_tags = tagged
    result = greensearch.hf.search(
        model_init=_init(vocab, names),
        args=_args(tmp_path),
        train_dataset=train,
        eval_dataset=test,
        test_dataset=test,
        label_column="labels",
        metric="entity_f1",
        budget_f1=-50,
        meter=clock_meter,
        storage=f"sqlite:///{tmp_path / 's.db'}",
        results_path=str(tmp_path / "runs.jsonl"),
        include=("lr_schedule",),
        n_trials=2,
        fidelity=0.5,
        repeats=2,
        baseline_repeats=1,
        near_misses=0,
        confidence=0.5,
    )
    assert result.metric == "entity_f1" and result.metric_label == "entity F1"
    assert result.left_out_knobs["early_stopping"].startswith("it stops on a classifier's")
    # every run kept, per test sentence, the gold entities its tags spell out
    gold = [len(entity_spans(ts)) for ts in gold_tags]
    records = [json.loads(line) for line in (tmp_path / "runs.jsonl").read_text().splitlines()]
    assert {r["fidelity"] for r in records} == {0.5, 1.0}
    for r in records:
        kept = RunPredictions.from_run_record(r)
        assert kept is not None and kept.metric == "entity_f1"
        assert kept.labels.tolist() == gold
        tp, fp, fn = (int(c.sum()) for c in kept.entity_counts())
        assert r["metrics"]["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    assert result.baseline is not None and result.baseline.row["f1"] > 0.5  # it learned
    for final in result.finalists:
        row = final.row
        if row["knobs"]:
            feasible = row["delta_f1_pct"] >= -50.0 and not row["degenerate"]
            assert row["f1_verdict"] == ("feasible" if feasible else "infeasible")
    if result.oracle is not None:
        assert result.oracle.row["f1_verdict"] == "feasible"


def test_token_inputs_are_checked_before_any_run(tagged, tmp_path):
    train, test, vocab, names, _ = tagged
    common = dict(args=_args(tmp_path), train_dataset=train, test_dataset=test)
    common.update(label_column="labels", metric="entity_f1")
    with pytest.raises(ConfigError, match="reads the model's config.id2label as BIO tags"):
        greensearch.hf.search(model_init=_init(vocab, [f"LABEL_{i}" for i in names]), **common)
    with pytest.raises(ConfigError, match="is not judged around a Trainer"):
        greensearch.hf.search(model_init=_init(vocab, names), **{**common, "metric": "bleu"})
    texts = train.add_column("text", ["w"] * len(train))
    with pytest.raises(ConfigError, match="needs tokenized datasets"):
        greensearch.hf.search(
            model_init=_init(vocab, names), **{**common, "train_dataset": texts}, tokenizer=None
        )
