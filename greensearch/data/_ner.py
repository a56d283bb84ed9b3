"""Generated NER sentences (person, place and organisation names tagged in BIO), and
the alignment of word tags to sub-tokens that both NER examples fine-tune with.

Why generated: no NER corpus ships in a PyPI package greensearch can depend on, and the
token-classification examples must run offline. The set is small on purpose but not
trivial: some names are a person in one sentence and a place in another ("Jordan",
"Paris"), and 40 % are invented from syllables, so only the context tells their type.
Everything derives from one ``random.Random(seed)``: the same seed, the same sentences.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = ["first_subtoken_labels", "ner_sentences"]

PEOPLE = ["Anna Berg", "Bruno Keller", "Chen Wei", "Dana", "Jordan", "Paris Hilton", "Omar"]
PLACES = ["Oslo", "New York", "Jordan", "Paris", "Lima", "Cape Town", "Kyoto"]
ORGS = ["Acme Corp", "Nordbank", "Red Cross", "Volta Labs", "United Nations"]
TEMPLATES = [
    "{PER} flew to {LOC} last week .",
    "{PER} said {ORG} will open an office in {LOC} .",
    "yesterday {ORG} hired {PER} .",
    "the weather in {LOC} was mild .",
    "{PER} met {PER} at {ORG} .",
    "{ORG} moved from {LOC} to {LOC} .",
    "nobody expected rain today .",
]
POOLS = {"PER": PEOPLE, "LOC": PLACES, "ORG": ORGS}
SYLLABLES = ["ka", "lo", "ven", "ri", "mar", "tu", "sel", "no", "bri", "dan"]


def _invented(rng: random.Random) -> str:
    """A name no pool holds (one or two words): only the context tells its type."""
    words = rng.choice((1, 1, 2))
    return " ".join(
        "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3)))).title()
        for _ in range(words)
    )


def ner_sentences(n: int, seed: int) -> list[tuple[list[str], list[str]]]:
    """``n`` tagged sentences as (words, BIO tags), the same for the same seed."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        tokens: list[str] = []
        tags: list[str] = []
        for part in rng.choice(TEMPLATES).split():
            if part.startswith("{"):
                kind = part[1:-1]
                name = _invented(rng) if rng.random() < 0.4 else rng.choice(POOLS[kind])
                words = name.split()
                tokens += words
                tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
            else:
                tokens.append(part)
                tags.append("O")
        out.append((tokens, tags))
    return out


def first_subtoken_labels(
    word_ids: Sequence[int | None], tags: Sequence[str], names: Sequence[str]
) -> list[int]:
    """One sentence's label ids per sub-token: each word's first sub-token carries its tag
    (its index in ``names``), the word's other sub-tokens, special tokens and padding -100.

    Why the first sub-token only: each word is then scored once, as entity F1 counts
    words, and -100 is what PyTorch's cross entropy and transformers' token-classification
    guide leave out. ``word_ids`` is a fast tokenizer's ``encoding.word_ids(i)``.
    """
    row: list[int] = []
    previous = None
    for word in word_ids:
        if word is not None and word != previous:  # the word's first sub-token
            row.append(names.index(tags[word]))
        else:
            row.append(-100)
        previous = word
    return row
