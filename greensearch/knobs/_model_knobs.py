"""Model-phase knobs: what model is built and how it trains (prune, LoRA, precision...).

Order matters and is the registry order: ``layer_prune`` cuts layers before ``lora``
adds adapters to the kept ones, and ``quantization`` runs after ``lora`` so that a 4-bit
model with nothing left to train gets default adapters. Heavy imports stay in hooks.
"""

from __future__ import annotations

from typing import Any

from greensearch.config import EMBEDDED_MODEL, StudyConfig, model_num_layers
from greensearch.exceptions import ConfigError
from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Requirement, Value
from greensearch.schema import MODEL_WINDOWS

__all__ = ["KNOBS", "LORA_DEFAULT_R", "LORA_DEFAULT_ALPHA"]

LORA_DEFAULT_R = 8
LORA_DEFAULT_ALPHA = 16
_CUDA = Requirement("cuda")


# --- layer_prune -------------------------------------------------------------------------


def _validate_layer_prune(study: StudyConfig, value: Value) -> None:
    layers = model_num_layers(study)
    if value["n"] >= layers:
        raise ConfigError(
            f"knob 'layer_prune={value['n']}:{value['side']}' removes {value['n']} of the "
            f"model's {layers} layers; use N <= {layers - 1}"
        )


def _apply_layer_prune(plan: RunPlan, value: Value) -> None:
    n, side = value["n"], value["side"]

    def hook(model: Any, plan: RunPlan) -> Any:
        from greensearch.knobs._model_surgery import prune_layers

        total = model.config.num_hidden_layers
        kept = prune_layers(model, n, side)
        plan.note(f"layer_prune: removed {n} {side} layers of {total}; kept original layers {kept}")
        return model

    plan.model_hooks.append(hook)


# --- lora --------------------------------------------------------------------------------


def _apply_lora(plan: RunPlan, value: Value) -> None:
    mode, r, alpha = value["modules"], value["r"], value["alpha"]

    def hook(model: Any, plan: RunPlan) -> Any:
        from greensearch.knobs import _model_surgery as surgery

        if mode == "head_only":
            model = surgery.train_head_only(model)
            trainable, total = surgery.count_params(model)
            plan.note(
                f"lora=head_only: paper's bug replayed, no adapters, only the classifier "
                f"trains: {trainable:,} of {total:,} parameters trainable"
            )
            return model
        names = surgery.layer_linear_names(model)
        model = surgery.add_lora(model, r=r, alpha=alpha)
        trainable, total = surgery.count_params(model)
        layers = len(surgery.encoder_layers(model)[2])
        plan.note(
            f"lora: r={r} alpha={alpha} on {names} in all {layers} layers, head "
            f"{surgery.head_modules(model)} trained in full: {trainable:,} of {total:,} "
            "parameters trainable"
        )
        return model

    plan.model_hooks.append(hook)


# --- freeze ------------------------------------------------------------------------------


def _validate_freeze(study: StudyConfig, value: Value) -> None:
    if value["part"] == "bottom":
        layers = model_num_layers(study)
        if value["layers"] >= layers:
            raise ConfigError(
                f"knob 'freeze=bottom:{value['layers']}' freezes every one of the model's "
                f"{layers} layers; use N <= {layers - 1}"
            )


def _apply_freeze(plan: RunPlan, value: Value) -> None:
    part, n = value["part"], value["layers"]

    def hook(model: Any, plan: RunPlan) -> Any:
        from greensearch.knobs import _model_surgery as surgery

        # The whole embeddings block (ModernBERT: token table and its norm) when the
        # backbone has one, else just the input embedding table.
        embeddings = getattr(model.base_model, "embeddings", None)
        frozen = [embeddings if embeddings is not None else model.get_input_embeddings()]
        if part == "bottom":
            frozen.extend(surgery.encoder_layers(model)[2][:n])
        for module in frozen:
            for p in module.parameters():
                p.requires_grad = False
        trainable, total = surgery.count_params(model)
        what = "embeddings" if part == "embeddings" else f"embeddings and bottom {n} layers"
        plan.note(f"freeze: {what} frozen: {trainable:,} of {total:,} parameters trainable")
        return model

    plan.model_hooks.append(hook)


# --- quantization ------------------------------------------------------------------------


def _validate_quantization(study: StudyConfig, value: Value) -> None:
    if value["mode"] == "nf4" and study.model == EMBEDDED_MODEL:
        raise ConfigError(
            "knob 'quantization=nf4' quantizes weights while loading a checkpoint, and the "
            "embedded model is built from a config; set the study's model to a hub id or folder"
        )


def _apply_quantization(plan: RunPlan, value: Value) -> None:
    if value["mode"] == "int8":
        # Dynamic int8 kernels exist for CPUs only and int8 weights cannot be trained:
        # this quantizes the fine-tuned model for the eval stage (engine "int8").
        plan.eval_engine = "int8"
        plan.note(
            "quantization=int8: eval with Linear layers dynamically quantized to int8 "
            "(torch, CPU); training unchanged"
        )
        return
    import torch
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    plan.model_kwargs["quantization_config"] = BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )

    def hook(model: Any, plan: RunPlan) -> Any:
        from greensearch.knobs import _model_surgery as surgery

        if not surgery.trains_adapters_or_head_only(model):
            # 4-bit weights cannot take gradients: without the lora knob, add adapters.
            model = surgery.add_lora(model, r=LORA_DEFAULT_R, alpha=LORA_DEFAULT_ALPHA)
            plan.note(
                f"quantization=nf4: no trainable weights left, added LoRA "
                f"r={LORA_DEFAULT_R} alpha={LORA_DEFAULT_ALPHA}"
            )
        trainable, total = surgery.count_params(model)
        plan.note(
            f"quantization=nf4: 4-bit NF4 weights (double quant, {compute} compute): "
            f"{trainable:,} of {total:,} parameters trainable"
        )
        return model

    plan.model_hooks.append(hook)


# --- training-loop switches --------------------------------------------------------------


def _apply_grad_checkpointing(plan: RunPlan, value: Value) -> None:
    # Non-reentrant checkpointing still sends gradients to adapters and unfrozen layers
    # when the embeddings are frozen (lora, freeze); the reentrant kind would drop them.
    plan.training_args["gradient_checkpointing"] = True
    plan.training_args["gradient_checkpointing_kwargs"] = {"use_reentrant": False}
    plan.note("grad_checkpointing: recompute layer activations in backward (non-reentrant)")


def _apply_attention(plan: RunPlan, value: Value) -> None:
    plan.model_kwargs["attn_implementation"] = value["kernel"]
    plan.note(f"attention: {value['kernel']} kernel (baseline eager)")


def _apply_precision(plan: RunPlan, value: Value) -> None:
    dtype = value["dtype"]
    plan.training_args[dtype] = True
    where = "CUDA autocast with loss scaling" if dtype == "fp16" else "autocast (CPU or CUDA)"
    plan.note(f"precision: mixed {dtype} via {where}; weights stay fp32")


def _apply_torch_compile(plan: RunPlan, value: Value) -> None:
    plan.training_args["torch_compile"] = True
    plan.note("torch_compile: model compiled with torch.compile (inductor) before training")


KNOBS: tuple[Knob, ...] = (
    Knob(
        name="layer_prune",
        phase="model",
        targets=("compute", "memory"),
        description="remove N encoder layers from the top (near the head) or bottom",
        params=(
            Param("n", int, 2, low=1, high=1000),
            Param("side", str, "top", choices=("top", "bottom")),
        ),
        search_values=("2:top", "2:bottom", "3:top", "3:bottom", "4:top"),
        validate=_validate_layer_prune,
        apply=_apply_layer_prune,
        windows=MODEL_WINDOWS,
    ),
    Knob(
        name="attention",
        phase="model",
        targets=("compute", "memory"),
        description="attention kernel: eager (baseline), sdpa, flash_attention_2",
        params=(Param("kernel", str, "sdpa", choices=("eager", "sdpa", "flash_attention_2")),),
        search_values=("sdpa", "flash_attention_2"),
        value_needs={"flash_attention_2": (_CUDA, Requirement("package", "flash_attn"))},
        apply=_apply_attention,
        windows=MODEL_WINDOWS,
        numerics=False,  # another kernel for the same attention
    ),
    Knob(
        name="lora",
        phase="training",
        targets=("compute", "memory"),
        description="LoRA adapters on every encoder layer's attention and MLP Linear "
        "modules, head trained in full (head_only: the paper's bug)",
        params=(
            Param("modules", str, "attn_mlp", choices=("attn_mlp", "head_only")),
            Param("r", int, LORA_DEFAULT_R, low=1, high=1024),
            Param("alpha", int, LORA_DEFAULT_ALPHA, low=1, high=4096),
        ),
        search_values=("attn_mlp:8:16", "attn_mlp:16:32"),
        needs=(Requirement("package", "peft"),),
        conflicts=("freeze",),
        apply=_apply_lora,
        windows=MODEL_WINDOWS,
    ),
    Knob(
        name="freeze",
        phase="training",
        targets=("compute", "memory"),
        description="freeze the embeddings, or the embeddings and the bottom N layers",
        params=(
            Param("part", str, "embeddings", choices=("embeddings", "bottom")),
            Param("layers", int, 2, low=1, high=1000),
        ),
        search_values=("embeddings", "bottom:2", "bottom:4"),
        conflicts=("lora",),
        validate=_validate_freeze,
        apply=_apply_freeze,
        windows=("load", "train"),  # the same forward pass: only training does less
    ),
    Knob(
        name="quantization",
        phase="model",
        targets=("memory", "precision"),
        costs=("compute",),
        description="nf4: 4-bit QLoRA weights (bitsandbytes, CUDA); int8: dynamic int8 "
        "Linear layers for the eval stage (CPU)",
        params=(Param("mode", str, "int8", choices=("nf4", "int8")),),
        search_values=("int8", "nf4"),
        value_needs={"nf4": (_CUDA, Requirement("package", "bitsandbytes"))},
        conflicts=("inference_engine",),
        validate=_validate_quantization,
        apply=_apply_quantization,
        windows=MODEL_WINDOWS,  # nf4 loads a quantized model
        value_windows={"int8": ("eval",)},  # an eval engine of the saved model
    ),
    Knob(
        name="grad_checkpointing",
        phase="training",
        targets=("memory",),
        costs=("compute",),
        description="recompute activations in the backward pass instead of storing them",
        apply=_apply_grad_checkpointing,
        windows=("train",),  # predicting stores no activations for a backward pass
        numerics=False,  # recomputes what it dropped
    ),
    Knob(
        name="precision",
        phase="training",
        targets=("precision", "memory"),
        description="mixed-precision training: fp16 (CUDA) or bf16 (CPU or CUDA)",
        params=(Param("dtype", str, "bf16", choices=("fp16", "bf16")),),
        search_values=("bf16", "fp16"),
        value_needs={"fp16": (_CUDA,)},
        value_dtypes={"bf16": "bf16", "fp16": "fp16"},
        apply=_apply_precision,
        windows=MODEL_WINDOWS,
    ),
    Knob(
        name="torch_compile",
        phase="system",
        targets=("compute",),
        description="compile the model with torch.compile (inductor) before training",
        apply=_apply_torch_compile,
        windows=MODEL_WINDOWS,
    ),
)
