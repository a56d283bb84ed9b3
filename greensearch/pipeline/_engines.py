"""Prediction engines for the ``eval`` stage.

``torch`` is the baseline (HF Trainer prediction loop). Other engines are selected by
the ``inference_engine`` knob; each returns class probabilities, an ``(examples, classes)``
array, so metrics and the kept predictions (class and positive-class score) are derived
identically whatever engine produced them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from greensearch.exceptions import ConfigError

__all__ = ["predict", "predict_proba", "ENGINES", "register_engine"]

#: ``engine(state, dataset)`` returns class probabilities, shape ``(examples, classes)``.
Engine = Callable[[Any, Any], Any]
ENGINES: dict[str, Engine] = {}


def register_engine(name: str) -> Callable[[Engine], Engine]:
    """Decorator adding an engine under ``name``."""

    def add(fn: Engine) -> Engine:
        ENGINES[name] = fn
        return fn

    return add


def predict_proba(state: Any, dataset: Any) -> Any:
    """Class probabilities for ``dataset`` from the engine the plan names."""
    name = state.plan.eval_engine
    try:
        engine = ENGINES[name]
    except KeyError:
        raise ConfigError(
            f"unknown eval engine '{name}'; known: {', '.join(sorted(ENGINES))}"
        ) from None
    return engine(state, dataset)


def predict(state: Any, dataset: Any) -> list[int]:
    """Predict class ids for ``dataset`` with the engine the plan names."""
    return [int(i) for i in predict_proba(state, dataset).argmax(-1)]


def softmax(logits: Any) -> Any:
    """Row-wise softmax in float64 (stable for large logits)."""
    import numpy as np

    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@register_engine("torch")
def _predict_torch(state: Any, dataset: Any) -> Any:
    clock = _clock(state)
    if clock is None:
        return softmax(state.trainer.predict(dataset).predictions)
    from greensearch.pipeline._clocks import batch_ticks

    ticks = batch_ticks(clock)
    state.trainer.add_callback(ticks)
    try:
        output = state.trainer.predict(dataset)
    finally:
        state.trainer.remove_callback(ticks)
    return softmax(output.predictions)


def _clock(state: Any) -> Any:
    """The eval stage's batch clock (``_clocks``), if the run keeps one."""
    return (getattr(state, "extra", None) or {}).get("eval_clock")


def _tick(state: Any, batch_size: int) -> None:
    """Tell the eval stage's batch clock that a batch (of at most ``batch_size``) is done."""
    clock = _clock(state)
    if clock is not None:
        clock.tick(batch_size)


# --- engines that start from the saved model folder --------------------------------------
# They evaluate the artefact the save stage wrote (adapters merged, pruned config), so
# what they measure is what a user would deploy, and their set-up cost lands in eval.


def _load_saved(state: Any) -> Any:
    """The saved classifier, fp32, in eval mode, with the plan's attention kernel."""
    from transformers import AutoModelForSequenceClassification

    if state.model_dir is None:
        raise ConfigError("this eval engine needs the model saved by the save stage")
    attn = state.plan.model_kwargs.get("attn_implementation", "eager")
    model = AutoModelForSequenceClassification.from_pretrained(
        str(state.model_dir), attn_implementation=attn
    )
    return model.eval()


def _batches(dataset: Any, batch_size: int, pad_id: int) -> Any:
    """Yield ``(input_ids, attention_mask)`` int64 numpy arrays, right-padded per batch."""
    import numpy as np

    for start in range(0, len(dataset), batch_size):
        batch = dataset[start : start + batch_size]
        rows = batch["input_ids"]
        masks = batch.get("attention_mask") or [[1] * len(r) for r in rows]
        width = max(len(r) for r in rows)
        ids = np.full((len(rows), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(rows), width), dtype=np.int64)
        for i, (row, row_mask) in enumerate(zip(rows, masks, strict=True)):
            ids[i, : len(row)] = row
            mask[i, : len(row_mask)] = row_mask
        yield ids, mask


def _pad_id(model: Any) -> int:
    pad = model.config.pad_token_id
    return 0 if pad is None else int(pad)


def onnx_logits(state: Any, dataset: Any) -> Any:
    """Export the saved model to ONNX and return ONNX Runtime logits for ``dataset``."""
    import logging
    import time

    import numpy as np
    import onnxruntime as ort
    import torch

    model = _load_saved(state)
    path = state.output_dir / "model.onnx"
    ids, mask = next(_batches(dataset.select(range(min(2, len(dataset)))), 2, _pad_id(model)))
    if len(ids) < 2:  # a batch of one would fix the batch dimension at 1
        ids, mask = np.repeat(ids, 2, axis=0), np.repeat(mask, 2, axis=0)
    started = time.perf_counter()
    dims = {0: "batch", 1: "seq"}
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    program = torch.onnx.export(
        model,
        (),
        kwargs={"input_ids": torch.from_numpy(ids), "attention_mask": torch.from_numpy(mask)},
        dynamo=True,
        verbose=False,
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_shapes={"input_ids": dims, "attention_mask": dims},
    )
    if program is None:  # only the legacy (dynamo=False) exporter returns None
        raise RuntimeError("torch.onnx.export(dynamo=True) returned no ONNX program")
    program.save(str(path))
    export_s = time.perf_counter() - started
    providers = ["CPUExecutionProvider"]
    if torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    session = ort.InferenceSession(str(path), providers=providers)
    state.plan.note(
        f"inference_engine=onnx: export {export_s:.1f} s, providers {session.get_providers()}"
    )
    out = []
    for i, m in _batches(dataset, state.plan.study.eval_batch_size, _pad_id(model)):
        out.append(session.run(["logits"], {"input_ids": i, "attention_mask": m})[0])
        _tick(state, state.plan.study.eval_batch_size)
    return np.concatenate(out)


@register_engine("onnx")
def _predict_onnx(state: Any, dataset: Any) -> Any:
    return softmax(onnx_logits(state, dataset))


def int8_logits(state: Any, dataset: Any) -> Any:
    """Logits of the saved model with its Linear layers dynamically quantized to int8.

    Dynamic int8 kernels run on the CPU only, so this engine evaluates on the CPU even
    where a GPU trained the model.
    """
    import warnings

    import numpy as np
    import torch
    from torch.ao.quantization import quantize_dynamic

    model = _load_saved(state).to("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch marks the eager int8 API as deprecated
        qmodel = quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    out = []
    with torch.inference_mode():
        for ids, mask in _batches(dataset, state.plan.study.eval_batch_size, _pad_id(model)):
            logits = qmodel(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)
            ).logits
            out.append(logits.float().numpy())
            _tick(state, state.plan.study.eval_batch_size)
    return np.concatenate(out)


@register_engine("int8")
def _predict_int8(state: Any, dataset: Any) -> Any:
    return softmax(int8_logits(state, dataset))


@register_engine("vllm")
def _predict_vllm(state: Any, dataset: Any) -> Any:
    """vLLM pooling model (``task="classify"``) on the saved folder, fed token ids."""
    from vllm import LLM
    from vllm.inputs import TokensPrompt

    if state.model_dir is None:
        raise ConfigError("the vllm engine needs the model saved by the save stage")
    llm = LLM(model=str(state.model_dir), task="classify", enforce_eager=False)
    prompts = []
    for ids, mask in zip(dataset["input_ids"], dataset["attention_mask"], strict=True):
        prompts.append(
            TokensPrompt(prompt_token_ids=[t for t, m in zip(ids, mask, strict=True) if m])
        )
    outputs = llm.classify(prompts)
    import numpy as np

    return np.asarray([o.outputs.probs for o in outputs], dtype=np.float64)
