"""BIO tags to entity spans and per-sentence counts, as seqeval's default mode reads them."""

from __future__ import annotations

import pytest

from greensearch.stats import entity_counts, entity_spans


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["B-PER", "I-PER", "O"], {("PER", 0, 1)}),
        (["I-PER", "I-PER"], {("PER", 0, 1)}),  # lenient: I- after O starts an entity
        (["B-PER", "I-LOC"], {("PER", 0, 0), ("LOC", 1, 1)}),  # a type change splits
        (["B-PER", "B-PER"], {("PER", 0, 0), ("PER", 1, 1)}),
        (["O", "I-LOC", "O", "B-ORG", "I-ORG", "I-ORG"], {("LOC", 1, 1), ("ORG", 3, 5)}),
        (["O", "O"], set()),
        ([], set()),
    ],
)
def test_spans_follow_seqeval_chunking(tags, spans):
    assert entity_spans(tags) == spans


def test_counts_sum_to_seqevals_documented_f1():
    # seqeval's README example: f1_score(y_true, y_pred) == 0.5
    y_true = [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    y_pred = [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]
    counts = entity_counts(y_true, y_pred)
    assert counts == [(0, 1, 1), (1, 0, 0)]  # a wrong boundary is a miss and a false alarm
    tp, fp, fn = (sum(c) for c in zip(*counts, strict=True))
    assert 2 * tp / (2 * tp + fp + fn) == 0.5


def test_bad_tags_and_misaligned_sentences_are_refused():
    with pytest.raises(ValueError, match="is not BIO"):
        entity_spans(["PER"])
    with pytest.raises(ValueError, match="sentence 0: 2 gold tags vs 1 predicted"):
        entity_counts([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="differ: 1 vs 2"):
        entity_counts([["O"]], [["O"], ["O"]])
