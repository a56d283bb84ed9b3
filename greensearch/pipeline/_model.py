"""Build the tokenizer and the classifier for a study: embedded, local path or hub id.

The embedded model is a small ModernBERT built from a config with random weights, so
the default study works with no download. Hub ids keep the real loading code for users
with a network; without one they get a one-line ConfigError instead of a stack trace.
"""

from __future__ import annotations

import os
from typing import Any

from greensearch.config import EMBEDDED_ARCH, EMBEDDED_MODEL, StudyConfig
from greensearch.exceptions import ConfigError
from greensearch.knobs import RunPlan

__all__ = ["load_tokenizer", "build_model"]


def load_tokenizer(study: StudyConfig) -> Any:
    """Return the study's tokenizer (the shipped one for the embedded model)."""
    source = study.tokenizer or study.model
    if source == EMBEDDED_MODEL or source.startswith("embedded:"):
        from greensearch.data import embedded_tokenizer

        return embedded_tokenizer()
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise ConfigError(_hub_message("tokenizer", source, err)) from err


def build_model(study: StudyConfig, plan: RunPlan, tokenizer: Any, num_labels: int) -> Any:
    """Build the classifier and apply the plan's model hooks (prune, LoRA, freezing...)."""
    kwargs = dict(plan.model_kwargs)
    if study.model == EMBEDDED_MODEL:
        model = _build_embedded(study, tokenizer, num_labels, kwargs, seed=plan.seed)
    elif study.model.startswith("embedded:"):
        raise ConfigError(
            f"unknown embedded model '{study.model}'; the only one is '{EMBEDDED_MODEL}'"
        )
    else:
        from transformers import AutoModelForSequenceClassification

        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                study.model, num_labels=num_labels, **kwargs
            )
        except (OSError, ValueError) as err:
            raise ConfigError(_hub_message("model", study.model, err)) from err
        if model.config.pad_token_id is None and tokenizer.pad_token_id is not None:
            model.config.pad_token_id = tokenizer.pad_token_id
    for hook in plan.model_hooks:
        model = hook(model, plan)
    return model


def _build_embedded(
    study: StudyConfig, tokenizer: Any, num_labels: int, kwargs: dict[str, Any], *, seed: int
) -> Any:
    import torch
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    arch = {**EMBEDDED_ARCH, **study.model_config}
    arch["max_position_embeddings"] = max(arch["max_position_embeddings"], study.max_length)
    try:
        config = ModernBertConfig(
            vocab_size=len(tokenizer),
            pad_token_id=tokenizer.pad_token_id,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            # transformers 5 types its config signature without num_labels, which it
            # still accepts (and 4.x documents): a typing gap, not a runtime one
            num_labels=num_labels,  # type: ignore[call-arg]
            **arch,
        )
    except (TypeError, ValueError) as err:
        raise ConfigError(f"bad [model_config] in study '{study.source}': {err}") from err
    attn = kwargs.pop("attn_implementation", None)
    dtype = kwargs.pop("torch_dtype", None) or kwargs.pop("dtype", None)
    if kwargs:
        raise ConfigError(
            f"the embedded model cannot take {sorted(kwargs)}; use a hub or local model"
        )
    torch.manual_seed(seed)
    model = ModernBertForSequenceClassification._from_config(
        config, attn_implementation=attn, **({"torch_dtype": dtype} if dtype else {})
    )
    return model


def _hub_message(what: str, source: str, err: Exception) -> str:
    offline = (
        os.environ.get("HF_HUB_OFFLINE") == "1" or os.environ.get("TRANSFORMERS_OFFLINE") == "1"
    )
    if os.path.exists(source):
        return f"cannot load {what} from local path '{source}': {str(err).splitlines()[0]}"
    reason = "offline mode is on" if offline else "the hub cannot be reached or has no such repo"
    return (
        f"cannot load {what} '{source}': {reason}; download it where a network exists "
        f"(huggingface-cli download {source}) and point the study's `model` at the local folder"
    )
