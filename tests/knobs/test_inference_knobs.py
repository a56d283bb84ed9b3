"""Inference-phase knobs: the eval engine, and nothing else, changes; end-to-end runs."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from greensearch.config import StudyConfig
from greensearch.exceptions import KnobConflictError, KnobUnavailableError
from greensearch.knobs import RunPlan, default_registry, parse_bundle
from tests.conftest import positive_f1

STUDY = StudyConfig(name="t", source="<test>")


def test_inference_engine_onnx_changes_only_the_engine() -> None:
    plan = default_registry().plan(STUDY, parse_bundle("inference_engine=onnx"))
    base = RunPlan(study=STUDY)
    assert plan.eval_engine == "onnx"
    for field in (
        "training_args",
        "model_kwargs",
        "model_hooks",
        "data_hooks",
        "callbacks",
        "study",
        "padding",
        "fast_tokenizer",
        "run_contexts",
    ):
        assert getattr(plan, field) == getattr(base, field), field
    assert plan.notes == [
        "inference_engine: test split exported to ONNX (in eval) and run with ONNX Runtime"
    ]


def test_inference_engine_vllm_parses_and_names_its_needs() -> None:
    registry = default_registry()
    assert registry.canonical(parse_bundle("inference_engine=vllm")) == "inference_engine=vllm"
    knob = registry.get("inference_engine")
    reason = knob.unavailable_reason(knob.parse("vllm"))
    if torch.cuda.is_available():
        pytest.skip("reason text checked on CPU machines")
    assert reason is not None and "CUDA" in reason and "'vllm'" in reason
    with pytest.raises(KnobUnavailableError, match="inference_engine=vllm' is unavailable"):
        registry.resolve(parse_bundle("inference_engine=vllm"))


def test_onnx_needs_the_onnx_packages() -> None:
    knob = default_registry().get("inference_engine")
    needed = {r.name for r in knob.value_needs["onnx"]}
    assert needed == {"onnx", "onnxruntime", "onnxscript"}


def test_one_knob_chooses_the_eval_engine() -> None:
    with pytest.raises(KnobConflictError):
        default_registry().resolve(parse_bundle("inference_engine=onnx,quantization=int8"))


# --- end to end: every CPU-runnable model/inference knob through the six stages ----------

E2E = [
    {"layer_prune": "2:bottom"},
    {"lora": "attn_mlp:8:16"},
    {"lora": "head_only"},
    {"freeze": "bottom:2"},
    {"attention": "sdpa"},
    {"grad_checkpointing": "on"},
    {"precision": "bf16"},
    {"quantization": "int8"},
    # inference_engine=onnx runs end to end in test_onnx_run_scores_like_the_torch_run
]


def _run(study: StudyConfig, bundle: dict[str, str], meter: Any, tmp_path: Any) -> Any:
    from greensearch.pipeline import run_once

    return run_once(study, bundle, meter=meter, output_dir=tmp_path)


@pytest.mark.parametrize("bundle", E2E, ids=lambda b: ",".join(f"{k}={v}" for k, v in b.items()))
def test_knob_runs_end_to_end(
    tiny_study: StudyConfig, clock_meter: Any, tmp_path: Any, bundle: dict[str, str]
) -> None:
    from transformers import AutoModelForSequenceClassification

    record = _run(tiny_study, bundle, clock_meter, tmp_path)
    name = next(iter(bundle))
    assert record["knobs"].startswith(name)
    assert any(note.startswith(name) for note in record["notes"])
    assert record["metrics"]["f1"] == pytest.approx(positive_f1(record))
    assert record["train_steps"] > 0
    saved = AutoModelForSequenceClassification.from_pretrained(record["model_dir"])
    layers = tiny_study.model_config["num_hidden_layers"]
    assert saved.config.num_hidden_layers == (layers - 2 if name == "layer_prune" else layers)
    assert not any("lora" in n for n, _ in saved.named_parameters())


def test_onnx_run_scores_like_the_torch_run(
    tiny_study: StudyConfig, clock_meter: Any, tmp_path: Any
) -> None:
    torch_run = _run(tiny_study, {}, clock_meter, tmp_path / "torch")
    onnx_run = _run(tiny_study, {"inference_engine": "onnx"}, clock_meter, tmp_path / "onnx")
    assert onnx_run["knobs"] == "inference_engine=onnx" and onnx_run["train_steps"] > 0
    assert any(note.startswith("inference_engine") for note in onnx_run["notes"])
    assert onnx_run["metrics"]["f1"] == pytest.approx(positive_f1(onnx_run))
    assert abs(onnx_run["metrics"]["f1"] - torch_run["metrics"]["f1"]) < 0.01
    # Export happens in eval: that window grows, training does not change.
    assert onnx_run["stages"]["eval"]["duration_s"] > torch_run["stages"]["eval"]["duration_s"]


@pytest.mark.slow
def test_torch_compile_inductor_end_to_end(
    tiny_study: StudyConfig, clock_meter: Any, tmp_path: Any
) -> None:
    record = _run(tiny_study, {"torch_compile": "on"}, clock_meter, tmp_path)
    assert record["knobs"] == "torch_compile" and record["train_steps"] > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the reasons given without CUDA")
def test_unavailable_values_are_listed_per_value() -> None:
    registry = default_registry()
    assert set(registry.get("precision").unavailable_values()) == {"fp16"}
    assert "vllm" in registry.get("inference_engine").unavailable_values()
    assert "onnx" not in registry.get("inference_engine").unavailable_values()
