"""Eval engines return the predictions torch returns (up to tolerance)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from greensearch.config import StudyConfig
from greensearch.knobs import RunPlan
from greensearch.pipeline import _engines
from tests.conftest import TINY_ARCH


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """A tiny ModernBERT classifier saved the way the save stage saves it."""
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
        **TINY_ARCH,
    )
    torch.manual_seed(0)
    model = ModernBertForSequenceClassification._from_config(cfg, attn_implementation="eager")
    with torch.no_grad():  # spread the logits so argmax is not decided by rounding
        model.classifier.weight.mul_(20)
    path = tmp_path_factory.mktemp("model")
    model.save_pretrained(path)
    return path, model.eval()


@pytest.fixture(scope="module")
def dataset() -> Any:
    """200 rows of variable length, as dynamic padding would leave them."""
    from datasets import Dataset

    gen = torch.Generator().manual_seed(3)
    rows, masks = [], []
    for i in range(200):
        n = 8 + i % 40
        rows.append(torch.randint(3, 100, (n,), generator=gen).tolist())
        masks.append([1] * n)
    return Dataset.from_dict(
        {"input_ids": rows, "attention_mask": masks, "label": [i % 2 for i in range(200)]}
    )


def state_for(path: Path, out: Path, engine: str) -> Any:
    plan = RunPlan(study=StudyConfig(eval_batch_size=32))
    plan.eval_engine = engine  # type: ignore[assignment]
    return types.SimpleNamespace(plan=plan, model_dir=path, output_dir=out)


def torch_logits(model: Any, dataset: Any) -> np.ndarray:
    out = []
    with torch.no_grad():
        for ids, mask in _engines._batches(dataset, 32, 0):
            out.append(
                model(
                    input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
                ).logits.numpy()
            )
    return np.concatenate(out)


def test_batches_pad_right_with_the_pad_id(dataset: Any) -> None:
    ids, mask = next(_engines._batches(dataset.select(range(3)), 3, 0))
    assert ids.shape == (3, 10) and mask.sum(1).tolist() == [8, 9, 10]
    assert ids[0, 8:].tolist() == [0, 0] and mask[0, 8:].tolist() == [0, 0]


def test_onnx_agrees_with_torch(saved: tuple[Path, Any], dataset: Any, tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime")
    path, model = saved
    state = state_for(path, tmp_path, "onnx")
    got = _engines.onnx_logits(state, dataset)
    want = torch_logits(model, dataset)
    assert got.shape == (200, 2)
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-3)
    agreement = float((got.argmax(-1) == want.argmax(-1)).mean())
    assert agreement >= 0.99
    assert len(set(want.argmax(-1).tolist())) == 2  # both classes occur: agreement means something
    assert (tmp_path / "model.onnx").is_file()
    assert "inference_engine=onnx: export" in state.plan.notes[-1]
    assert _engines.predict(state, dataset) == got.argmax(-1).tolist()


def test_int8_quantizes_and_stays_close(
    saved: tuple[Path, Any], dataset: Any, tmp_path: Path
) -> None:
    path, model = saved
    got = _engines.int8_logits(state_for(path, tmp_path, "int8"), dataset)
    want = torch_logits(model, dataset)
    assert not np.array_equal(got, want)  # int8 kernels really ran
    assert float(np.abs(got - want).max()) < 0.05 * float(np.abs(want).max())
    assert float((got.argmax(-1) == want.argmax(-1)).mean()) >= 0.95


def test_vllm_engine_feeds_unpadded_token_ids(
    saved: tuple[Path, Any], dataset: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vLLM needs CUDA; a stand-in module checks our side of the call."""
    calls: dict[str, Any] = {}

    class FakeLLM:
        def __init__(self, model: str, task: str, **kwargs: Any) -> None:
            calls.update(model=model, task=task)

        def classify(self, prompts: list[dict[str, Any]]) -> list[Any]:
            calls["prompts"] = prompts
            return [
                types.SimpleNamespace(
                    outputs=types.SimpleNamespace(
                        probs=[0.2, 0.8] if len(p["prompt_token_ids"]) % 2 else [0.9, 0.1]
                    )
                )
                for p in prompts
            ]

    vllm = types.ModuleType("vllm")
    vllm.LLM = FakeLLM  # type: ignore[attr-defined]
    inputs = types.ModuleType("vllm.inputs")
    inputs.TokensPrompt = dict  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vllm", vllm)
    monkeypatch.setitem(sys.modules, "vllm.inputs", inputs)
    path, _ = saved
    padded = dataset.map(
        lambda r: {
            "input_ids": r["input_ids"] + [0, 0],
            "attention_mask": r["attention_mask"] + [0, 0],
        }
    )
    preds = _engines.predict(state_for(path, tmp_path, "vllm"), padded)
    assert calls["model"] == str(path) and calls["task"] == "classify"
    assert [len(p["prompt_token_ids"]) for p in calls["prompts"][:3]] == [8, 9, 10]
    assert preds[:3] == [0, 1, 0]
