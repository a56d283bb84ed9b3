"""Datasets for greensearch: the shipped ``vulnsynth`` set, BigVul, hub ids and local files.

:func:`load_splits` returns every source as train/validation/test with ``text``/``label``;
:func:`embedded_tokenizer` is the tokenizer trained for ``embedded:vulnsynth``;
:func:`ner_sentences` generates the tagged sentences of the token-classification
examples. Nothing here imports torch, transformers or datasets until a function is called.
"""

from greensearch.data._loaders import (
    EMBEDDED_DATASETS,
    HUB_ALIASES,
    embedded_tokenizer,
    load_splits,
)
from greensearch.data._ner import ner_sentences

__all__ = [
    "EMBEDDED_DATASETS",
    "HUB_ALIASES",
    "embedded_tokenizer",
    "load_splits",
    "ner_sentences",
]
