"""Data-phase knobs: what is read and how it is tokenized."""

from __future__ import annotations

from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Value

__all__ = ["KNOBS"]


def _apply_fast_tokenizer(plan: RunPlan, value: Value) -> None:
    plan.fast_tokenizer = True
    plan.note("fast_tokenizer: batched calls (1000 examples) to the Rust tokenizer")


def _apply_seq_len(plan: RunPlan, value: Value) -> None:
    plan.study = plan.study.replace(max_length=value["tokens"])
    plan.note(f"seq_len: max_length {value['tokens']}")


KNOBS: tuple[Knob, ...] = (
    Knob(name="fast_tokenizer", stage="data", targets=("compute", "io"),
         description="tokenize in batches with the Rust (fast) tokenizer",
         apply=_apply_fast_tokenizer),
    Knob(name="seq_len", stage="data", targets=("compute", "memory"),
         description="trim inputs to N tokens (max_length)",
         params=(Param("tokens", int, 128, low=8, high=32768),),
         search_values=("128", "96"), apply=_apply_seq_len),
)
