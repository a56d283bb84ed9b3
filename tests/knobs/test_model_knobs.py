"""Model-phase knobs: each changes exactly what it declares, on a tiny ModernBERT."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from greensearch.config import StudyConfig
from greensearch.exceptions import ConfigError, KnobConflictError, KnobUnavailableError
from greensearch.knobs import RunPlan, default_registry, parse_bundle
from greensearch.knobs import _model_surgery as surgery

TINY = {
    "hidden_size": 32,
    "num_hidden_layers": 6,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "global_attn_every_n_layers": 3,
    "local_attention": 32,
}
STUDY = StudyConfig(name="t", model_config=dict(TINY), source="<test>")


def tiny_model(attn: str = "eager", **overrides: Any) -> Any:
    from transformers import ModernBertConfig, ModernBertForSequenceClassification

    cfg = ModernBertConfig(
        vocab_size=100,
        max_position_embeddings=128,
        pad_token_id=0,
        cls_token_id=1,
        sep_token_id=2,
        bos_token_id=1,
        eos_token_id=2,
        num_labels=2,
        **{**TINY, **overrides},
    )
    torch.manual_seed(0)
    return ModernBertForSequenceClassification._from_config(cfg, attn_implementation=attn)


def batch(n: int = 3, length: int = 48) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, 100, (n, length), generator=gen)
    mask = torch.ones_like(ids)
    mask[0, length // 2 :] = 0
    return {"input_ids": ids, "attention_mask": mask}


def plan_for(text: str, study: StudyConfig = STUDY) -> RunPlan:
    return default_registry().plan(study, parse_bundle(text))


def build(plan: RunPlan) -> Any:
    """What stage_load does, minus the tokenizer: model kwargs, then hooks in order."""
    model = tiny_model(plan.model_kwargs.get("attn_implementation", "eager"))
    for hook in plan.model_hooks:
        model = hook(model, plan)
    return model


def logits(model: Any) -> torch.Tensor:
    model.eval()
    with torch.no_grad():
        return model(**batch()).logits


# --- vocabulary, conflicts, availability -------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "layer_prune=12:bottom",
        "lora",
        "lora=head_only",
        "quantization=nf4",
        "precision=fp16",
        "precision=bf16",
        "attention=sdpa",
        "torch_compile",
        "grad_checkpointing",
        "attention=flash_attention_2",
        "quantization=int8",
        "freeze=bottom:2",
    ],
)
def test_paper_vocabulary_parses(text: str) -> None:
    name = text.split("=")[0]
    assert default_registry().canonical(parse_bundle(text)).startswith(name)


@pytest.mark.parametrize("pair", ["lora,freeze", "lora=head_only,freeze=embeddings"])
def test_lora_and_freeze_conflict(pair: str) -> None:
    with pytest.raises(KnobConflictError, match="'freeze' and 'lora'"):
        default_registry().resolve(parse_bundle(pair))


def test_paper_combinations_do_not_conflict() -> None:
    # V3, V24, V30 (minus knobs of other engineers) combine these.
    for text in (
        "quantization=nf4,lora",
        "grad_checkpointing,lora=head_only,precision=bf16",
        "lora=head_only,attention=sdpa,layer_prune=2:top,torch_compile",
    ):
        bundle = parse_bundle(text)
        resolved = default_registry().resolve(bundle, check_available=False)
        assert {item.knob.name for item in resolved} == set(bundle), text
        assert set(parse_bundle(default_registry().canonical(bundle))) == set(bundle), text


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the reason given without CUDA")
@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("precision=fp16", "needs an NVIDIA GPU with CUDA"),
        ("quantization=nf4", "bitsandbytes"),
        ("attention=flash_attention_2", "flash_attn"),
    ],
)
def test_gpu_values_unavailable_with_reason(text: str, reason: str) -> None:
    with pytest.raises(
        KnobUnavailableError, match=f"knob '{text}' is unavailable here: .*{reason}"
    ):
        default_registry().resolve(parse_bundle(text))


def test_cpu_values_of_the_same_knobs_are_available() -> None:
    for text in ("precision=bf16", "quantization=int8", "attention=sdpa"):
        default_registry().resolve(parse_bundle(text))
    knob = default_registry().get("precision")
    assert knob.unavailable_reason(knob.parse("bf16")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "grad_checkpointing",
            {
                "training_args": {
                    "gradient_checkpointing": True,
                    "gradient_checkpointing_kwargs": {"use_reentrant": False},
                }
            },
        ),
        ("precision=bf16", {"training_args": {"bf16": True}}),
        ("torch_compile", {"training_args": {"torch_compile": True}}),
        ("attention=sdpa", {"model_kwargs": {"attn_implementation": "sdpa"}}),
        ("quantization=int8", {"eval_engine": "int8"}),
        ("layer_prune=2:top", {"model_hooks": 1}),
        ("lora", {"model_hooks": 1}),
        ("freeze=embeddings", {"model_hooks": 1}),
    ],
)
def test_plan_changes_only_declared_fields(text: str, expected: dict[str, Any]) -> None:
    base, plan = RunPlan(study=STUDY), plan_for(text)
    for field in (
        "training_args",
        "model_kwargs",
        "eval_engine",
        "model_hooks",
        "data_hooks",
        "callbacks",
        "padding",
        "fast_tokenizer",
        "study",
        "run_contexts",
    ):
        got, want = getattr(plan, field), getattr(base, field)
        if field == "model_hooks":
            assert len(got) == expected.get(field, 0)
        else:
            assert got == expected.get(field, want), field
    # Hook knobs note what they did when the model is built (counts are known then).
    assert len(plan.notes) == (0 if "model_hooks" in expected else 1)


# --- layer_prune -------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "kept"), [("top", [0, 1, 2, 3]), ("bottom", [2, 3, 4, 5])])
def test_layer_prune_removes_layers_and_reloads(tmp_path: Path, side: str, kept: list[int]) -> None:
    original = tiny_model()
    weights = [layer.mlp.Wi.weight.clone() for layer in original.model.layers]
    types_before = list(original.config.layer_types)
    model = build(plan_for(f"layer_prune=2:{side}"))
    assert len(model.model.layers) == 4
    assert model.config.num_hidden_layers == 4
    assert model.config.layer_types == [types_before[i] for i in kept]
    for new_idx, old_idx in enumerate(kept):
        assert torch.equal(model.model.layers[new_idx].mlp.Wi.weight, weights[old_idx])
        assert model.model.layers[new_idx].attn.layer_idx == new_idx
    model.save_pretrained(tmp_path)
    from transformers import AutoModelForSequenceClassification

    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert len(reloaded.model.layers) == 4
    torch.testing.assert_close(logits(reloaded), logits(model))


def test_layer_prune_records_what_it_removed() -> None:
    plan = plan_for("layer_prune=3:bottom")
    build(plan)
    assert plan.notes[-1] == (
        "layer_prune: removed 3 bottom layers of 6; kept original layers [3, 4, 5]"
    )


@pytest.mark.parametrize("n", [6, 12])
def test_layer_prune_rejects_all_layers(n: int) -> None:
    with pytest.raises(ConfigError, match="model's 6 layers; use N <= 5"):
        plan_for(f"layer_prune={n}:bottom")


# --- lora --------------------------------------------------------------------------------


def _expected_lora_trainable(model: Any, r: int, layers: list[int]) -> int:
    per_layer = sum(
        r * (m.in_features + m.out_features)
        for m in model.model.layers[0].modules()
        if isinstance(m, torch.nn.Linear)
    )
    head = sum(p.numel() for p in model.head.parameters())
    return per_layer * len(layers) + head + sum(p.numel() for p in model.classifier.parameters())


def test_lora_adapts_every_kept_layer_with_counts(tmp_path: Path) -> None:
    plan = plan_for("layer_prune=2:top,lora=attn_mlp:4:8")
    model = build(plan)
    layers = surgery.encoder_layers(model)[2]
    assert len(layers) == 4
    for layer in layers:
        adapted = {name for name, m in layer.named_modules() if hasattr(m, "lora_A")}
        assert adapted == {"attn.Wqkv", "attn.Wo", "mlp.Wi", "mlp.Wo"}
    assert surgery.adapters_missing(model) == {}
    trainable, total = surgery.count_params(model)
    assert trainable == _expected_lora_trainable(tiny_model(), 4, [0, 1, 2, 3])
    assert f"{trainable:,} of {total:,} parameters trainable" in plan.notes[-1]
    # Only adapters and the head's trainable copies train; every base weight is frozen.
    for name, p in model.named_parameters():
        assert p.requires_grad == ("lora_" in name or ".modules_to_save." in name), name
    saved = {n.split(".")[2] for n, p in model.named_parameters() if ".modules_to_save." in n}
    assert saved == {"head", "classifier"}


def test_lora_saves_a_merged_model_that_reloads(tmp_path: Path) -> None:
    model = build(plan_for("lora=attn_mlp:4:8"))
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.add_(0.05)  # as if trained, so merging actually changes weights
    model.save_pretrained(str(tmp_path))
    from transformers import AutoModelForSequenceClassification

    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert not any("lora" in n for n, _ in reloaded.named_parameters())
    torch.testing.assert_close(logits(reloaded), logits(model), atol=1e-5, rtol=1e-4)


def test_lora_head_only_trains_only_the_classifier() -> None:
    plan = plan_for("lora=head_only")
    model = build(plan)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["classifier.weight", "classifier.bias"]
    assert "only the classifier trains: 66 of" in plan.notes[-1]


def test_lora_gradients_reach_adapters_under_checkpointing() -> None:
    plan = plan_for("lora=attn_mlp:4:8,grad_checkpointing")
    model = build(plan)
    model.gradient_checkpointing_enable(
        gradient_checkpointing_kwargs=plan.training_args["gradient_checkpointing_kwargs"]
    )
    model.train()
    out = model(**batch(), labels=torch.tensor([0, 1, 1]))
    out.loss.backward()
    grads = [p.grad for n, p in model.named_parameters() if "layers.0.attn.Wqkv.lora_B" in n]
    assert grads and grads[0] is not None and grads[0].abs().sum() > 0


# --- freeze ------------------------------------------------------------------------------


def test_freeze_bottom_layers_get_no_gradients() -> None:
    plan = plan_for("freeze=bottom:2")
    model = build(plan)
    model.train()
    model(**batch(), labels=torch.tensor([0, 1, 1])).loss.backward()
    for name, p in model.named_parameters():
        frozen = name.startswith(("model.embeddings.", "model.layers.0.", "model.layers.1."))
        assert p.requires_grad is not frozen, name
        assert (p.grad is None) is frozen, name
    trainable, total = surgery.count_params(model)
    assert f"{trainable:,} of {total:,}" in plan.notes[-1]


def test_freeze_embeddings_only() -> None:
    model = build(plan_for("freeze=embeddings"))
    frozen = {n for n, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {n for n, _ in model.named_parameters() if n.startswith("model.embeddings.")}
    assert frozen


def test_freeze_rejects_all_layers() -> None:
    with pytest.raises(ConfigError, match="freeze=bottom:6"):
        plan_for("freeze=bottom:6")


# --- attention ---------------------------------------------------------------------------


def test_attention_sdpa_builds_the_kernel_and_agrees_with_eager() -> None:
    plan = plan_for("attention=sdpa")
    model = tiny_model(plan.model_kwargs["attn_implementation"])
    assert model.config._attn_implementation == "sdpa"
    torch.testing.assert_close(logits(model), logits(tiny_model("eager")), atol=1e-5, rtol=1e-4)


# --- quantization ------------------------------------------------------------------------


def test_quantization_nf4_rejects_the_embedded_model() -> None:
    knob = default_registry().get("quantization")
    assert knob.validate is not None
    with pytest.raises(ConfigError, match="embedded model is built from a config"):
        knob.validate(STUDY, knob.parse("nf4"))


def test_quantization_int8_conflicts_with_inference_engine() -> None:
    with pytest.raises(KnobConflictError, match="'inference_engine' and 'quantization'"):
        default_registry().resolve(parse_bundle("quantization=int8,inference_engine=onnx"))


def test_nf4_hook_adds_adapters_unless_lora_decided() -> None:
    """The 4-bit hook itself needs CUDA; its 'nothing can train' rule is checked on CPU."""
    plain = tiny_model()
    assert not surgery.trains_adapters_or_head_only(plain)
    assert surgery.trains_adapters_or_head_only(surgery.train_head_only(tiny_model()))
    assert surgery.trains_adapters_or_head_only(surgery.add_lora(tiny_model(), r=2, alpha=4))


# --- Trainer switches: precision, torch_compile, grad_checkpointing ---------------------


def train_one_step(tmp_path: Path, plan: RunPlan, model: Any, **extra: Any) -> Any:
    """Run one optimizer step with the plan's TrainingArguments, as stage_train would."""
    from datasets import Dataset
    from transformers import Trainer, TrainingArguments

    data = Dataset.from_dict(
        {**{k: v.tolist() for k, v in batch(4, 32).items()}, "labels": [0, 1, 0, 1]}
    )
    args = TrainingArguments(
        output_dir=str(tmp_path),
        max_steps=1,
        per_device_train_batch_size=4,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        disable_tqdm=True,
        **{**plan.training_args, **extra},
    )
    trainer = Trainer(model=model, args=args, train_dataset=data)
    trainer.train()
    return trainer


def _linear_output_dtypes(model: Any) -> tuple[set[torch.dtype], list[Any]]:
    seen: set[torch.dtype] = set()
    handles = [
        m.register_forward_hook(lambda _m, _i, out: seen.add(out.dtype))
        for m in model.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    return seen, handles


@pytest.mark.parametrize(
    ("text", "dtype"), [("", torch.float32), ("precision=bf16", torch.bfloat16)]
)
def test_precision_dtype_under_autocast(tmp_path: Path, text: str, dtype: torch.dtype) -> None:
    plan = plan_for(text)
    model = build(plan)
    seen, handles = _linear_output_dtypes(model)
    train_one_step(tmp_path, plan, model)
    assert seen == {dtype}
    assert model.model.layers[0].attn.Wqkv.weight.dtype == torch.float32  # master weights


def test_torch_compile_wraps_the_model(tmp_path: Path) -> None:
    import torch._dynamo

    plan = plan_for("torch_compile")
    torch._dynamo.reset()
    # "eager" backend: dynamo traces the model exactly as inductor would be handed it,
    # without the C++ build inductor needs (see the slow end-to-end test for inductor).
    trainer = train_one_step(tmp_path, plan, build(plan), torch_compile_backend="eager")
    assert isinstance(trainer.model_wrapped, torch._dynamo.eval_frame.OptimizedModule)
    baseline = train_one_step(tmp_path, RunPlan(study=STUDY), tiny_model())
    assert not isinstance(baseline.model_wrapped, torch._dynamo.eval_frame.OptimizedModule)


def test_grad_checkpointing_turns_checkpointing_on(tmp_path: Path) -> None:
    plan = plan_for("grad_checkpointing")
    model = build(plan)
    assert not model.model.gradient_checkpointing
    train_one_step(tmp_path, plan, model)
    assert model.model.gradient_checkpointing
    knob = default_registry().get("grad_checkpointing")
    assert (knob.targets, knob.costs) == (("memory",), ("compute",))
