"""The paper's 31 variants as knob bundles, shipped with the package.

Bundles are the ``code_bundle`` column of the paper's Table I: what its replication code
really ran (V10 is FP16 + pinned memory + 4 workers, V2's LoRA trained only the head).
The paper fine-tuned a 22-layer model at 2048 tokens; :func:`paper_variant` scales its
absolute layer counts and token budgets to the study's model so a variant keeps its
meaning (prune 12 of 22 layers ≈ 55%) on any model, and says so in its notes.
"""

from __future__ import annotations

import math

from greensearch.config import StudyConfig, model_num_layers
from greensearch.exceptions import ConfigError
from greensearch.knobs._bundle import Bundle, parse_bundle

__all__ = ["PAPER_VARIANTS", "PAPER_LAYERS", "PAPER_MAX_LENGTH", "paper_variant"]

#: The paper's model depth and token budget, against which its absolute values are set.
PAPER_LAYERS = 22
PAPER_MAX_LENGTH = 2048

#: variant -> (description, code_bundle), transcribed from Table I.
PAPER_VARIANTS: dict[str, tuple[str, str]] = {
    "V0": ("Baseline (ModernBERT)", ""),
    "V1": ("Gradient Checkpointing", "grad_checkpointing"),
    "V2": ("LoRA PEFT", "lora=head_only,precision=bf16"),
    "V3": ("Quantization", "quantization=nf4,lora,lr_schedule=cosine,group_by_length"),
    "V4": ("Tokenizer Optimization", "fast_tokenizer"),
    "V5": ("Power-Limit (100 W)", "power_limit=100"),
    "V6": ("Optimizer Tuning", "optimizer=adamw_8bit"),
    "V7": ("FP16 Training", "precision=fp16"),
    "V8": ("Sequence-Length Trim", "seq_len=512"),
    "V9": ("Inference Engine", "inference_engine=vllm"),
    "V10": ("Data-Loader Pin-Mem", "pin_memory,dataloader_workers=4,precision=fp16"),
    "V11": ("Torch Compile", "torch_compile"),
    "V12": ("Attention Optimization", "attention=sdpa"),
    "V13": ("Layer Pruning (4 Top)", "layer_prune=4:top"),
    "V14": ("Layer Pruning (4 Bottom)", "layer_prune=4:bottom"),
    "V15": ("Layer Pruning (8 Top)", "layer_prune=8:top"),
    "V16": ("Layer Pruning (8 Bottom)", "layer_prune=8:bottom"),
    "V17": ("Layer Pruning (12 Top)", "layer_prune=12:top"),
    "V18": ("Layer Pruning (12 Bottom)", "layer_prune=12:bottom"),
    "V19": ("Layer Pruning (16 Top)", "layer_prune=16:top"),
    "V20": ("Layer Pruning (16 Bottom)", "layer_prune=16:bottom"),
    "V21": ("Layer Pruning (20 Top)", "layer_prune=20:top"),
    "V22": ("Layer Pruning (20 Bottom)", "layer_prune=20:bottom"),
    "V23": (
        "Attn+Pin-Mem+Opt8+GradAcc",
        "attention=sdpa,pin_memory,dataloader_workers=4,optimizer=adamw_8bit,grad_accumulation=2",
    ),
    "V24": (
        "Inf+GradCkpt+LoRA+FP16",
        "inference_engine=vllm,grad_checkpointing,lora=head_only,precision=bf16",
    ),
    "V25": ("GradAcc+FP16+Checkpoint", "grad_accumulation=2,precision=fp16,grad_checkpointing"),
    "V26": ("Prune12B+Seq-Len+Compile", "layer_prune=12:bottom,seq_len=512,torch_compile"),
    "V27": ("Torch Compile + FP16", "torch_compile,precision=fp16"),
    "V28": ("Prune12B + Compile + FP16", "layer_prune=12:bottom,torch_compile,precision=fp16"),
    "V29": (
        "Attn+Pin-Mem+Opt8",
        "attention=sdpa,pin_memory,dataloader_workers=4,optimizer=adamw_8bit",
    ),
    "V30": (
        "Optimal",
        "lora=head_only,attention=sdpa,fast_tokenizer,layer_prune=20:top,seq_len=512,"
        "grad_checkpointing,precision=bf16,optimizer=adamw_8bit,pin_memory,"
        "dataloader_workers=4,inference_engine=vllm",
    ),
}


def paper_variant(variant: str, study: StudyConfig) -> tuple[Bundle, list[str]]:
    """Return the bundle of a paper variant scaled to ``study``, and notes on the scaling.

    Raises:
        ConfigError: unknown variant name.
    """
    key = variant.upper()
    if key not in PAPER_VARIANTS:
        raise ConfigError(f"unknown paper variant '{variant}'; use V0 to V30")
    bundle = parse_bundle(PAPER_VARIANTS[key][1])
    notes: list[str] = []
    if "layer_prune" in bundle:
        n_raw, _, side = bundle["layer_prune"].partition(":")
        layers = model_num_layers(study)
        if layers != PAPER_LAYERS:
            n = max(1, min(layers - 1, math.floor(int(n_raw) / PAPER_LAYERS * layers + 0.5)))
            bundle["layer_prune"] = f"{n}:{side}"
            notes.append(
                f"layer_prune: paper's {n_raw} of {PAPER_LAYERS} layers scaled to {n} of {layers}"
            )
    if "seq_len" in bundle and study.max_length != PAPER_MAX_LENGTH:
        tokens = int(bundle["seq_len"])
        scaled = max(8, round(tokens / PAPER_MAX_LENGTH * study.max_length))
        bundle["seq_len"] = str(scaled)
        notes.append(
            f"seq_len: paper's {tokens} of {PAPER_MAX_LENGTH} tokens scaled to "
            f"{scaled} of {study.max_length}"
        )
    return bundle, notes
