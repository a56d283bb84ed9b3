# greensearch: knobs=seq_len,dynamic_padding,data_fraction,lr_schedule
"""Your own training script, searched by ``greensearch optimize --script``.

    python examples/script_train.py                                  # train once, alone
    greensearch optimize --script examples/script_train.py --budget-f1 -1%

The header line above declares the knobs this script honours; the search samples only
those. Each run reads its bundle, seed and fidelity with ``greensearch.script_trial()``
and hands its test predictions back with ``greensearch.report_run(...)``.

Offline by default (the data and the small ModernBERT that ship with greensearch);
``--hub`` loads a pretrained model and a dataset from the Hugging Face hub instead.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from typing import Any

import greensearch

HUB_MODEL = "distilbert-base-uncased"
HUB_DATASET = "imdb"
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 2,
    "local_attention": 32,
}


def load(hub: bool, rows: int | None, tiny: bool) -> tuple:
    """Train and test splits (columns text, label), tokenizer, and a model factory."""
    if hub:
        from datasets import load_dataset
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        data = load_dataset(HUB_DATASET)
        tokenizer = AutoTokenizer.from_pretrained(HUB_MODEL)
        return (
            data["train"],
            data["test"],
            tokenizer,
            lambda: AutoModelForSequenceClassification.from_pretrained(HUB_MODEL, num_labels=2),
        )
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    from greensearch.config import EMBEDDED_ARCH
    from greensearch.data import embedded_tokenizer, load_splits

    splits = load_splits(
        "embedded:vulnsynth", text_column="func_before", label_column="vul", seed=42
    )
    train, test = splits["train"], splits["test"]
    if rows is not None:
        train, test = train.select(range(rows)), test.select(range(min(rows, len(test))))
    tokenizer = embedded_tokenizer()
    arch = {**EMBEDDED_ARCH, **(TINY if tiny else {})}

    def model() -> Any:
        config = ModernBertConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            num_labels=2,
            **arch,
        )
        return ModernBertForSequenceClassification(config)

    return train, test, tokenizer, model


def main() -> None:
    """Train with the trial's knobs and report the test predictions."""
    p = argparse.ArgumentParser()
    p.add_argument("--hub", action="store_true")
    p.add_argument("--rows", type=int, help="use the first N rows of each split")
    p.add_argument("--tiny", action="store_true", help="an even smaller model (CI)")
    opts = p.parse_args()
    trial = greensearch.script_trial()  # the baseline at full fidelity when run alone
    knobs = trial.knobs

    import numpy as np
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, set_seed

    set_seed(trial.seed)
    train, test, tokenizer, model = load(opts.hub, opts.rows, opts.tiny)
    if "data_fraction" in knobs:  # knob: train on a random share
        keep = random.Random(trial.seed).sample(
            range(len(train)), max(1, round(float(knobs["data_fraction"]) * len(train)))
        )
        train = train.select(sorted(keep))
    max_length = int(knobs.get("seq_len", 192))  # knob: shorter inputs
    padding = False if "dynamic_padding" in knobs else "max_length"  # knob: pad per batch

    def encode(batch: dict[str, Any]) -> Any:
        return tokenizer(batch["text"], truncation=True, max_length=max_length, padding=padding)

    train_t = train.map(encode, batched=True, remove_columns=["text"])
    test_t = test.map(encode, batched=True, remove_columns=["text"])
    batch, epochs = 16, 1
    planned = math.ceil(len(train_t) / batch) * epochs
    args = TrainingArguments(
        output_dir="script-train-out",
        num_train_epochs=epochs,
        max_steps=max(1, math.ceil(planned * trial.fidelity)),  # the search's fidelity
        per_device_train_batch_size=batch,
        learning_rate=1e-3,
        lr_scheduler_type=knobs.get("lr_schedule", "linear"),  # knob: schedule
        seed=trial.seed,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model(),
        args=args,
        train_dataset=train_t,
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    started = time.perf_counter()
    steps = trainer.train().global_step
    train_seconds = time.perf_counter() - started  # a short run scales this part only
    logits = trainer.predict(test_t).predictions
    greensearch.report_run(
        predictions=np.asarray(logits).argmax(-1).tolist(),
        labels=test["label"],
        example_ids=test["text"],
        train_steps=steps,
        planned_steps=planned,
        train_seconds=train_seconds,
    )


if __name__ == "__main__":
    main()
