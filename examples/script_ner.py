# greensearch: knobs=data_fraction,batch_size,lr_schedule
"""Token classification under ``greensearch optimize --script``, judged on entity F1.

    python examples/script_ner.py                                    # train once, alone
    greensearch optimize --script examples/script_ner.py --budget-f1 -1%

The run reports, per test sentence, the true positives, false positives and false
negatives of exact entity spans (``greensearch.entity_counts`` turns BIO tags into
them), so the search judges entity F1 as seqeval computes it, with the same paired
intervals and verdicts as a classifier's F1; ``--budget-f1`` is a loss of entity F1.

Offline by default on a GENERATED set (``greensearch.data.ner_sentences``): template
sentences with person, place and organisation names (some names are a person in one
sentence and a place in another; some are invented, so only the context tells their
type), tagged in BIO; no NER corpus ships in a package greensearch depends on. The
tagger is a small convolutional network, trained from scratch (``examples/hf_ner.py``
fine-tunes a real pretrained encoder on the same sentences). ``--hub`` loads CoNLL-2003
with ``load_dataset`` instead (needs a network).

Knobs honoured (the header above): ``data_fraction``, ``batch_size``, ``lr_schedule``.
Left out: ``seq_len`` (a sentence is shorter than any searched length, so truncation
would change nothing), ``dynamic_padding`` (batches are always padded to their longest
sentence), and the knobs of a pretrained transformer (``lora``, ``layer_prune``,
``attention``, ``freeze``), which this tagger does not have.
"""

from __future__ import annotations

import argparse
import math
import random

import greensearch
from greensearch.data import ner_sentences


def load(hub: bool, rows: int | None) -> tuple[list, list]:
    """Train and test sentences as (tokens, BIO tags)."""
    if hub:
        from datasets import load_dataset

        data = load_dataset("conll2003")
        names = data["train"].features["ner_tags"].feature.names

        def pairs(split: str) -> list:
            return [(r["tokens"], [names[t] for t in r["ner_tags"]]) for r in data[split]]

        train, test = pairs("train"), pairs("test")
    else:
        train, test = ner_sentences(800, seed=1), ner_sentences(200, seed=2)
    if rows is not None:
        train, test = train[:rows], test[:rows]
    return train, test


def main(argv: list[str] | None = None) -> None:
    """Train with the trial's knobs and report entity counts per test sentence."""
    p = argparse.ArgumentParser()
    p.add_argument("--hub", action="store_true", help="CoNLL-2003 from the hub")
    p.add_argument("--rows", type=int, help="use the first N sentences of each split")
    p.add_argument("--epochs", type=int, default=3)
    opts = p.parse_args(argv)
    trial = greensearch.script_trial()  # the baseline at full fidelity when run alone
    knobs = trial.knobs

    import torch
    from torch import nn

    torch.manual_seed(trial.seed)
    train, test = load(opts.hub, opts.rows)
    if "data_fraction" in knobs:  # knob: train on a random share
        keep = max(1, round(float(knobs["data_fraction"]) * len(train)))
        train = random.Random(trial.seed).sample(train, keep)
    vocab = {w: i + 2 for i, w in enumerate(sorted({w for s, _ in train for w in s}))}
    labels = sorted({t for _, tags in train + test for t in tags})
    tag_id = {t: i for i, t in enumerate(labels)}

    def batch_of(sentences: list) -> tuple[torch.Tensor, torch.Tensor]:
        width = max(len(s) for s, _ in sentences)  # padded to the batch's longest
        ids = torch.zeros(len(sentences), width, dtype=torch.long)
        gold = torch.full((len(sentences), width), -100, dtype=torch.long)
        for i, (tokens, tags) in enumerate(sentences):
            ids[i, : len(tokens)] = torch.tensor([vocab.get(w, 1) for w in tokens])
            gold[i, : len(tags)] = torch.tensor([tag_id[t] for t in tags])
        return ids, gold

    class Tagger(nn.Module):
        """Each token's tag from the words up to two to its left and right."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(len(vocab) + 2, 32, padding_idx=0)
            self.context = nn.Sequential(
                nn.Conv1d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv1d(64, 64, 3, padding=1)
            )
            self.out = nn.Linear(64, len(labels))

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            hidden = self.context(self.embed(ids).transpose(1, 2)).relu()
            return self.out(hidden.transpose(1, 2))

    model = Tagger()
    batch = int(knobs.get("batch_size", 16))  # knob: batch size
    planned = math.ceil(len(train) / batch) * opts.epochs
    steps = max(1, math.ceil(planned * trial.fidelity))  # the search's fidelity
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    schedule = knobs.get("lr_schedule", "linear")  # knob: schedule

    def factor(step: int) -> float:
        if schedule == "constant":
            return 1.0
        if schedule == "cosine":
            return 0.5 * (1 + math.cos(math.pi * step / steps))
        return 1.0 - step / steps

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    order = random.Random(trial.seed)
    done = 0
    while done < steps:
        shuffled = order.sample(train, len(train))
        for start in range(0, len(shuffled), batch):
            if done == steps:
                break
            ids, gold = batch_of(shuffled[start : start + batch])
            loss = nn.functional.cross_entropy(model(ids).flatten(0, 1), gold.flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            done += 1
    model.eval()
    with torch.no_grad():
        best = model(batch_of(test)[0]).argmax(-1).tolist()
    predicted = [
        [labels[i] for i in row[: len(tokens)]] for row, (tokens, _) in zip(best, test, strict=True)
    ]
    greensearch.report_run(
        entity_counts=greensearch.entity_counts([tags for _, tags in test], predicted),
        example_ids=[" ".join(tokens) for tokens, _ in test],
        train_steps=done,
        planned_steps=planned,
    )


if __name__ == "__main__":
    main()
