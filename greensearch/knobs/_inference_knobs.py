"""Inference-phase knobs: which engine predicts the test split in the ``eval`` stage.

Engines live in :mod:`greensearch.pipeline._engines`. Each starts from the model folder
the ``save`` stage wrote, so whatever an engine needs beforehand (ONNX export, engine
start-up) is spent, and metered, inside ``eval``. Dynamic int8 quantization is the
``quantization=int8`` knob, which picks the ``int8`` engine; the two knobs conflict
because both choose the eval engine.
"""

from __future__ import annotations

from greensearch.knobs._plan import RunPlan
from greensearch.knobs._registry import Knob, Param, Requirement, Value

__all__ = ["KNOBS"]


def _apply_inference_engine(plan: RunPlan, value: Value) -> None:
    engine = value["engine"]
    plan.eval_engine = engine
    how = {
        "onnx": "exported to ONNX (in eval) and run with ONNX Runtime",
        "vllm": "served by vLLM (task=classify), start-up in eval",
    }[engine]
    plan.note(f"inference_engine: test split {how}")


KNOBS: tuple[Knob, ...] = (
    Knob(
        name="inference_engine",
        phase="inference",
        targets=("compute",),
        description="predict the test split with ONNX Runtime or vLLM instead of torch",
        params=(Param("engine", str, "onnx", choices=("onnx", "vllm")),),
        search_values=("onnx", "vllm"),
        value_needs={
            "onnx": (
                Requirement("package", "onnxruntime"),
                Requirement("package", "onnx"),
                Requirement("package", "onnxscript"),
            ),
            "vllm": (Requirement("cuda"), Requirement("package", "vllm")),
        },
        conflicts=("quantization",),
        apply=_apply_inference_engine,
        windows=("eval",),  # it starts from the saved model; its set-up lands in eval
    ),
)
