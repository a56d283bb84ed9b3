"""A plain Hugging Face Trainer script, and the lines that hand it to greensearch.

    python examples/hf_trainer.py             # train once, as the script always did
    python examples/hf_trainer.py --search    # search its energy knobs instead

Offline by default: the synthetic C-vulnerability set and the small ModernBERT that ship
with greensearch (built from a config, random weights). ``--hub`` loads a pretrained
model and a dataset from the Hugging Face hub instead (needs a network).
"""

from __future__ import annotations

import argparse
from typing import Any

from transformers import (
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

#: Hub model and dataset of ``--hub`` (binary sentiment; text column "text").
HUB_MODEL = "distilbert-base-uncased"
HUB_DATASET = "imdb"
#: An even smaller model than the embedded one (``--tiny``: a quick look, and CI).
TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 4,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 2,
    "local_attention": 32,
}


def load_offline(rows: int | None = None, arch: dict[str, Any] | None = None) -> tuple:
    """Train/validation/test splits, tokenizer and model_init that need no network."""
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    from greensearch.config import EMBEDDED_ARCH
    from greensearch.data import embedded_tokenizer, load_splits

    splits = load_splits(
        "embedded:vulnsynth", text_column="func_before", label_column="vul", seed=42
    )
    if rows is not None:  # a small slice, for a quick look (and CI)
        splits = {name: s.select(range(min(rows, len(s)))) for name, s in splits.items()}
    tokenizer = embedded_tokenizer()

    def model_init() -> Any:  # a fresh config each time: knobs edit a model's own config
        config = ModernBertConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            num_labels=2,
            **{**EMBEDDED_ARCH, **(arch or {})},
        )
        return ModernBertForSequenceClassification(config)

    return splits["train"], splits["validation"], splits["test"], tokenizer, model_init


def load_hub() -> tuple:
    """The same from the hub: a pretrained model and a public dataset."""
    from datasets import load_dataset
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    data = load_dataset(HUB_DATASET)
    held_out = data["test"].train_test_split(test_size=0.5, seed=42)
    tokenizer = AutoTokenizer.from_pretrained(HUB_MODEL)

    def model_init() -> Any:
        return AutoModelForSequenceClassification.from_pretrained(HUB_MODEL, num_labels=2)

    return data["train"], held_out["train"], held_out["test"], tokenizer, model_init


def main(argv: list[str] | None = None) -> Any:
    """Train once (the original script) or, with ``--search``, search its knobs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--search", action="store_true", help="search the energy knobs")
    p.add_argument("--hub", action="store_true", help="pretrained model and data from the hub")
    p.add_argument("--rows", type=int, help="use the first N rows of each split")
    p.add_argument("--tiny", action="store_true", help="an even smaller model (CI)")
    p.add_argument("--budget-f1", type=float, default=-1.0, help="accepted F1 change, %%")
    p.add_argument("--include", default="", help="search only these knobs (comma list)")
    p.add_argument("--n-trials", type=int, default=None)
    p.add_argument("--fidelity", type=float, default=0.25)
    p.add_argument("--storage", default=None, help="Optuna storage URL")
    opts = p.parse_args(argv)
    data = load_hub() if opts.hub else load_offline(opts.rows, TINY if opts.tiny else None)
    train, val, test, tokenizer, model_init = data
    args = TrainingArguments(
        output_dir="hf-trainer-example",
        num_train_epochs=1,
        per_device_train_batch_size=16,
        learning_rate=1e-3,
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
                                       eval_dataset=val, test_dataset=test, tokenizer=tokenizer,
                                       max_length=192, **options)  # fmt: skip
        print(greensearch.format_result(result))  # as `greensearch optimize` prints it
        return result

    def encode(batch: dict[str, Any]) -> Any:
        return tokenizer(batch["text"], truncation=True, max_length=512)

    trainer = Trainer(
        model_init=model_init,
        args=args,
        train_dataset=train.map(encode, batched=True),
        eval_dataset=val.map(encode, batched=True),
        data_collator=DataCollatorWithPadding(tokenizer),
    )
    trainer.train()
    return trainer


if __name__ == "__main__":
    main()
