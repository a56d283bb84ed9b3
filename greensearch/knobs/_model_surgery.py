"""Model surgery shared by the model knobs: find encoder layers, prune them, add LoRA.

Everything here works on any Hugging Face encoder classifier by inspecting modules
(no hard-coded architecture), with ModernBERT's per-layer quirks handled where a saved
model would otherwise not reload the same. torch, transformers and peft are imported
lazily by the callers' hooks.
"""

from __future__ import annotations

import copy
import re
import types
import warnings
from typing import Any, Literal

__all__ = [
    "encoder_layers",
    "prune_layers",
    "head_modules",
    "layer_linear_names",
    "add_lora",
    "train_head_only",
    "trains_adapters_or_head_only",
    "adapters_missing",
    "count_params",
]


def _base(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (or the model itself)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def encoder_layers(model: Any) -> tuple[Any, str, Any]:
    """Return ``(parent, attribute, ModuleList)`` of the encoder's transformer layers.

    The layer list is the ``ModuleList`` whose length equals ``num_hidden_layers`` (the
    longest one when several match), so BERT-, RoBERTa- and ModernBERT-style models all work.

    Raises:
        ValueError: no such list (an architecture this knob cannot handle).
    """
    import torch

    base = _base(model)
    expected = int(base.config.num_hidden_layers)
    found: list[tuple[str, Any]] = [
        (name, module)
        for name, module in base.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) == expected
    ]
    if not found:
        raise ValueError(f"no list of {expected} encoder layers in {type(base).__name__}")
    name, layers = found[0]
    parent_name, _, attr = name.rpartition(".")
    parent = base.get_submodule(parent_name) if parent_name else base
    return parent, attr, layers


def prune_layers(model: Any, n: int, side: Literal["top", "bottom"]) -> list[int]:
    """Remove ``n`` layers in place: ``bottom`` = nearest the embeddings, ``top`` = nearest
    the head. Config and per-layer settings follow, so ``from_pretrained`` rebuilds it.

    Returns:
        The original indices of the kept layers.
    """
    import torch

    base = _base(model)
    parent, attr, layers = encoder_layers(base)
    total = len(layers)
    if not 0 < n < total:
        raise ValueError(f"cannot remove {n} of {total} layers")
    kept = list(range(n, total)) if side == "bottom" else list(range(total - n))
    new_layers = torch.nn.ModuleList([layers[i] for i in kept])
    setattr(parent, attr, new_layers)
    config = base.config
    config.num_hidden_layers = len(kept)
    layer_types = getattr(config, "layer_types", None)
    if layer_types is not None:
        # Each kept layer keeps its attention kind (global/sliding); storing the list
        # explicitly makes a reload build exactly these kinds in this order.
        config.layer_types = [layer_types[i] for i in kept]
        every = getattr(config, "global_attn_every_n_layers", None)
        if every and config.layer_types != [layer_types[i] for i in range(len(kept))]:
            # The kept pattern no longer starts where the "every n" rule says (bottom
            # pruning by a non-multiple of n): drop the stale rule, layer_types rules.
            delattr(config, "global_attn_every_n_layers")
    for new_idx, layer in enumerate(new_layers):
        _renumber(layer, new_idx)
    if side == "bottom" and config.model_type == "modernbert":
        # ModernBERT builds layer 0 without a pre-attention norm (the embeddings end
        # with one); the new first layer must match, or a reload would differ.
        new_layers[0].attn_norm = torch.nn.Identity()
    return kept


def _renumber(layer: Any, idx: int) -> None:
    for module in layer.modules():
        if hasattr(module, "layer_idx"):
            module.layer_idx = idx


def layer_linear_names(model: Any) -> list[str]:
    """Relative names of the ``Linear`` modules inside one encoder layer (e.g. ``attn.Wqkv``)."""
    import torch

    _, _, layers = encoder_layers(model)
    return [
        name for name, module in layers[0].named_modules() if isinstance(module, torch.nn.Linear)
    ]


def head_modules(model: Any) -> list[str]:
    """Top-level modules outside the encoder that hold weights: the classifier head."""
    base = _base(model)
    backbone = getattr(base, "base_model_prefix", "")
    return [
        name
        for name, module in base.named_children()
        if name != backbone and any(True for _ in module.parameters())
    ]


def count_params(model: Any) -> tuple[int, int]:
    """``(trainable, total)`` parameter counts."""
    total = trainable = 0
    for p in model.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return trainable, total


def trains_adapters_or_head_only(model: Any) -> bool:
    """Whether the lora knob already decided what trains (adapters, or the head alone)."""
    if hasattr(model, "peft_config"):
        return True
    trainable = {n.split(".")[0] for n, p in model.named_parameters() if p.requires_grad}
    return bool(trainable) and trainable <= {"classifier", "score"}


def train_head_only(model: Any) -> Any:
    """Freeze everything but the final classifier: what the paper's LoRA actually trained.

    Its LoRA listed module names ModernBERT lacks, so PEFT wrapped nothing and only its
    default ``modules_to_save`` for sequence classification (``classifier``) learned.
    """
    for name, p in model.named_parameters():
        p.requires_grad = name.split(".")[0] in ("classifier", "score")
    return model


def add_lora(model: Any, *, r: int, alpha: int, dropout: float = 0.0) -> Any:
    """Wrap ``model`` with LoRA adapters on every Linear of every encoder layer.

    Target names are discovered from the first layer (ModernBERT: ``attn.Wqkv``,
    ``attn.Wo``, ``mlp.Wi``, ``mlp.Wo``) and matched inside the layer list only, so the
    classifier head is trained in full (``modules_to_save``) rather than adapted.

    Raises:
        ValueError: some kept layer ended up without adapters.
    """
    from peft import LoraConfig, TaskType, get_peft_model, prepare_model_for_kbit_training

    if getattr(model, "is_quantized", False) or getattr(model, "hf_quantizer", None):
        # k-bit weights: upcast norms/head for stable training; checkpointing stays the
        # grad_checkpointing knob's business.
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    _, attr, layers = encoder_layers(model)
    names = layer_linear_names(model)
    prefix = _layer_list_path(model, layers)
    pattern = rf"^{re.escape(prefix)}\.\d+\.({'|'.join(re.escape(n) for n in names)})$"
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=pattern,
        modules_to_save=head_modules(model),
    )
    with warnings.catch_warnings():  # peft probes the deprecated is_gradient_checkpointing
        warnings.filterwarnings(
            "ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning
        )
        peft_model = get_peft_model(model, config)
    missing = adapters_missing(peft_model)
    if missing:
        raise ValueError(f"LoRA left layers without adapters: {missing}")
    # Trainer.save_model calls save_pretrained; save a merged, plain model instead of a
    # bare adapter, so the saved folder reloads with from_pretrained (the embedded base
    # has no checkpoint an adapter could be applied to).
    # mypy: replacing a bound method on one instance is the point here
    peft_model.save_pretrained = types.MethodType(_save_merged, peft_model)  # type: ignore[method-assign]
    return peft_model


def _layer_list_path(model: Any, layers: Any) -> str:
    for name, module in model.named_modules():
        if module is layers:
            return name
    raise ValueError("layer list not found in model")


def adapters_missing(model: Any) -> dict[int, list[str]]:
    """Layers (index -> bare Linear names) where some Linear carries no LoRA adapter."""
    import torch
    from peft.tuners.lora import LoraLayer

    _, _, layers = encoder_layers(model)
    missing: dict[int, list[str]] = {}
    for idx, layer in enumerate(layers):
        adapted = [n for n, m in layer.named_modules() if isinstance(m, LoraLayer)]
        bare = [
            n
            for n, m in layer.named_modules()
            if isinstance(m, torch.nn.Linear)
            and not isinstance(m, LoraLayer)
            and not any(n.startswith(a + ".") for a in adapted)
        ]
        if bare or not adapted:
            missing[idx] = bare
    return missing


def _save_merged(self: Any, save_directory: str, **kwargs: Any) -> None:
    """Save adapters merged into the weights as a plain transformers model."""
    merged = copy.deepcopy(self).merge_and_unload()
    kwargs.pop("selected_adapters", None)
    kwargs.pop("save_embedding_layers", None)
    merged.save_pretrained(save_directory, **kwargs)
