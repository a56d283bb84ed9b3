"""The shipped examples, imported as modules the way a test calls their ``main``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load_example(filename: str) -> ModuleType:
    """``examples/<filename>`` as a fresh module (each call runs its top level again)."""
    spec = importlib.util.spec_from_file_location(
        Path(filename).stem + "_example", EXAMPLES / filename
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
