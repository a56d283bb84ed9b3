"""Entity spans from BIO tags, and the per-sentence counts entity F1 is computed from.

Why here and not seqeval: the counts must be kept per sentence (so sentences can be
resampled), and greensearch adds no dependency for a few lines. The chunking follows
seqeval's default (lenient) mode: an ``I-X`` after ``O`` or after another type starts an
entity, and an entity is its type with its first and last token. IOBES tags (``E-``,
``S-``) are read as seqeval reads them.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["entity_counts", "entity_spans"]

_ENDS_AFTER = {("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O")}
_STARTS_AT = {("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I")}


def _split(tag: str) -> tuple[str, str]:
    """``B-PER`` -> (``B``, ``PER``); ``O`` -> (``O``, ``_``)."""
    return tag[:1], tag[1:].split("-", maxsplit=1)[-1] or "_"


def entity_spans(tags: Sequence[str]) -> set[tuple[str, int, int]]:
    """The entities of one sentence as ``(type, first token, last token)``.

    Raises:
        ValueError: a tag that is not ``O`` or does not start with ``B``, ``I``, ``E``, ``S``.
    """
    spans: set[tuple[str, int, int]] = set()
    prev_tag, prev_type, begin = "O", "", 0
    for i, tag in enumerate([*tags, "O"]):
        head, kind = _split(tag)
        if head not in ("B", "I", "E", "S", "O") or (head != "O" and tag[1:2] != "-"):
            raise ValueError(f"tag {tag!r} is not BIO: use O, B-TYPE or I-TYPE")
        ended = prev_tag in ("E", "S") or (prev_tag, head) in _ENDS_AFTER
        if prev_tag != "O" and prev_type != kind:
            ended = True
        if ended:
            spans.add((prev_type, begin, i - 1))
        started = head in ("B", "S") or (prev_tag, head) in _STARTS_AT
        if head != "O" and prev_type != kind:
            started = True
        if started:
            begin = i
        prev_tag, prev_type = head, kind
    return spans


def entity_counts(
    gold: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> list[tuple[int, int, int]]:
    """Per sentence, ``(tp, fp, fn)`` of exact entity spans, for ``report_run``.

    Summed over sentences these give seqeval's entity F1,
    ``2 ΣTP / (2 ΣTP + ΣFP + ΣFN)``.

    Args:
        gold: The true BIO tags, one list per sentence.
        predicted: The predicted tags, aligned with ``gold`` token by token.

    Raises:
        ValueError: the sentences or a sentence's tokens differ in number, or a tag is
            not BIO.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"gold and predicted sentences differ: {len(gold)} vs {len(predicted)}")
    counts = []
    for i, (true_tags, pred_tags) in enumerate(zip(gold, predicted, strict=True)):
        if len(true_tags) != len(pred_tags):
            raise ValueError(
                f"sentence {i}: {len(true_tags)} gold tags vs {len(pred_tags)} predicted"
            )
        true, pred = entity_spans(true_tags), entity_spans(pred_tags)
        tp = len(true & pred)
        counts.append((tp, len(pred) - tp, len(true) - tp))
    return counts
