# greensearch: knobs=data_fraction,batch_size,lr_schedule
"""A generative task under ``greensearch optimize --script``, judged on exact match.

    python examples/script_arithmetic.py                             # train once, alone
    greensearch optimize --script examples/script_arithmetic.py --budget-f1 -1%

The model writes the answer to ``a+b=`` digit by digit; an answer scores 1 when every
digit is right, else 0. The run reports that score per test problem
(``report_run(example_scores=..., metric="exact_match")``), so the search judges exact
match with the same paired intervals and verdicts as a classifier's F1;
``--budget-f1`` is a loss of exact match.

Offline by default on a GENERATED set (every sum of two numbers below 50, split at
random): no small instruction or arithmetic set ships in a package greensearch depends
on. The model is a small MLP with one output head per answer digit, trained from
scratch. ``--model NAME`` fine-tunes a pretrained causal language model from the hub
instead and decodes its answers greedily (needs a network).

Knobs honoured (the header above): ``data_fraction``, ``batch_size``, ``lr_schedule``.
Left out: ``seq_len`` (a truncated prompt loses digits the answer needs),
``dynamic_padding`` (every prompt has the same length), and the knobs of a pretrained
transformer (``lora``, ``layer_prune``, ``attention``, ``freeze``), which the offline
model does not have.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from typing import Any

import greensearch

LIMIT = 50  # operands are 0 .. LIMIT - 1


def problems(rows: int | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Train and test problems ``(a, b)``: the same split in every run."""
    pairs = [(a, b) for a in range(LIMIT) for b in range(LIMIT)]
    random.Random(1).shuffle(pairs)
    train, test = pairs[:2000], pairs[2000:2300]
    if rows is not None:
        train, test = train[:rows], test[: min(rows, len(test))]
    return train, test


def schedule_factor(kind: str, steps: int) -> Any:
    """The learning-rate factor of ``lr_schedule=kind`` (default: linear decay)."""

    def factor(step: int) -> float:
        if kind == "constant":
            return 1.0
        if kind == "cosine":
            return 0.5 * (1 + math.cos(math.pi * step / steps))
        return 1.0 - step / steps

    return factor


def tiny_model() -> tuple[Any, Any, Any]:
    """The offline model: (model, loss of a batch of problems, answers of problems)."""
    import torch
    from torch import nn

    def encode(batch: list[tuple[int, int]]) -> Any:
        x = torch.zeros(len(batch), 4, 10)
        for i, (a, b) in enumerate(batch):
            for j, digit in enumerate(f"{a:02d}{b:02d}"):
                x[i, j, int(digit)] = 1
        return x.flatten(1)

    model = nn.Sequential(
        nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 30)
    )

    def loss(batch: list[tuple[int, int]]) -> Any:
        target = torch.tensor([[int(d) for d in f"{a + b:03d}"] for a, b in batch])
        logits = model(encode(batch)).view(-1, 3, 10)
        return nn.functional.cross_entropy(logits.flatten(0, 1), target.flatten())

    def answer(batch: list[tuple[int, int]]) -> list[str]:
        with torch.no_grad():
            digits = model(encode(batch)).view(-1, 3, 10).argmax(-1).tolist()
        return [str(int("".join(map(str, d)))) for d in digits]

    return model, loss, answer


def hub_model(name: str) -> tuple[Any, Any, Any]:
    """A pretrained causal LM from the hub: the same three callables."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    model = AutoModelForCausalLM.from_pretrained(name)

    def loss(batch: list[tuple[int, int]]) -> Any:
        texts = [f"{a}+{b}={a + b}{tokenizer.eos_token}" for a, b in batch]
        enc = tokenizer(texts, return_tensors="pt", padding=True)
        labels = enc["input_ids"].masked_fill(enc["attention_mask"] == 0, -100)
        return model(**enc, labels=labels).loss

    def answer(batch: list[tuple[int, int]]) -> list[str]:
        tokenizer.padding_side = "left"
        enc = tokenizer([f"{a}+{b}=" for a, b in batch], return_tensors="pt", padding=True)
        with torch.no_grad():
            out = model.generate(**enc, max_new_tokens=4, do_sample=False)
        texts = tokenizer.batch_decode(
            out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return [t.strip() for t in texts]

    return model, loss, answer


def main(argv: list[str] | None = None) -> None:
    """Train with the trial's knobs and report exact match per test problem."""
    p = argparse.ArgumentParser()
    p.add_argument("--model", help="a causal LM from the hub instead of the offline MLP")
    p.add_argument("--rows", type=int, help="use the first N problems of each split")
    p.add_argument("--epochs", type=int, default=3)
    opts = p.parse_args(argv)
    trial = greensearch.script_trial()  # the baseline at full fidelity when run alone
    knobs = trial.knobs

    import torch

    torch.manual_seed(trial.seed)
    train, test = problems(opts.rows)
    if "data_fraction" in knobs:  # knob: train on a random share
        keep = max(1, round(float(knobs["data_fraction"]) * len(train)))
        train = random.Random(trial.seed).sample(train, keep)
    model, loss_of, answer = hub_model(opts.model) if opts.model else tiny_model()
    batch = int(knobs.get("batch_size", 16))  # knob: batch size
    planned = math.ceil(len(train) / batch) * opts.epochs
    steps = max(1, math.ceil(planned * trial.fidelity))  # the search's fidelity
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5 if opts.model else 1e-2)
    factor = schedule_factor(knobs.get("lr_schedule", "linear"), steps)  # knob: schedule
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    order = random.Random(trial.seed)
    done = 0
    started = time.perf_counter()  # the training loop: a short run scales this part only
    while done < steps:
        shuffled = order.sample(train, len(train))
        for start in range(0, len(shuffled), batch):
            if done == steps:
                break
            loss = loss_of(shuffled[start : start + batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            done += 1
    train_seconds = time.perf_counter() - started
    model.eval()
    answers = [a for start in range(0, len(test), 64) for a in answer(test[start : start + 64])]
    greensearch.report_run(
        example_scores=[
            float(got == str(a + b)) for got, (a, b) in zip(answers, test, strict=True)
        ],
        metric="exact_match",
        example_ids=[f"{a}+{b}=" for a, b in test],
        train_steps=done,
        planned_steps=planned,
        train_seconds=train_seconds,
    )


if __name__ == "__main__":
    main()
