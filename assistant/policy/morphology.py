"""Lemmas and grammemes of single words: pymorphy3 for Russian, spaCy's lookup table for
English, both behind a per-form cache that the pipelines run as their lemmatizer."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable

import numpy
from spacy.attrs import LEMMA, LOWER, TAG
from spacy.tokens import Doc

# The lemma caches stop growing here: real mail repeats its word forms, spam need not.
CACHE_LIMIT = 200_000


class CachedLemmatizer:
    """Sets every token's lemma and tags from a per-form cache in front of the real analyser.

    pymorphy3 costs several microseconds a word; mail repeats its word forms, so a dict
    lookup answers almost every token. Lemmas are lower-case with "ё" read as "е", so
    "платёж" and "платеж" are one word whoever typed them. The tag is a space-separated
    set of grammemes ("NOUN VN neut sing gent") that rules may ask for.
    """

    def __init__(self, analyse: Callable[[str], tuple[str, str]]):
        self._analyse = analyse
        self._cache: dict[int, tuple[int, int]] = {}   # hash of the form → hashes of lemma, tag
        self._in_zone = False

    def __call__(self, doc: Doc) -> Doc:
        # Whole arrays, not Token objects: creating a Token costs more than the lookup.
        cache, strings = self._cache, doc.vocab.strings
        lowers = doc.to_array([LOWER]).tolist()
        rows = []
        for lower in lowers:
            row = cache.get(lower)
            if row is None:
                lemma, tag = self._analyse(strings[lower])
                row = (strings.add(lemma.replace("ё", "е")), strings.add(tag))
                # In a memory zone those strings go at its end: a row naming them is not kept.
                if not self._in_zone:
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[lower] = row
            rows.append(row)
        if rows:
            doc.from_array([LEMMA, TAG], numpy.array(rows, dtype="uint64").reshape(-1, 2))
        return doc

    @contextmanager
    def memory_zone(self, mem=None) -> Iterator[None]:
        """spaCy's protocol for a component: inside `nlp.memory_zone()` forms met for the
        first time are analysed for the text at hand and not cached."""
        self._in_zone = True
        try:
            yield
        finally:
            self._in_zone = False


def russian_lemmas(word: str) -> list[str]:
    """Every dictionary form pymorphy3 knows for `word`, the most probable first; the word
    itself when pymorphy3 cannot read it."""
    try:
        parses = _morph().parse(word)
    except ValueError:  # it asks unicodedata.name() of each letter: Tangut letters have none
        return [word.replace("ё", "е")]
    known = [p.normal_form for p in parses if p.is_known] or [parses[0].normal_form]
    return [lemma.replace("ё", "е") for lemma in dict.fromkeys(known)]


# A noun with one of these endings names an action: «проведение», «реализация», «открытие».
_VERBAL_NOUN_ENDINGS = ("ание", "яние", "ение", "тие", "ация", "яция", "ирование")
# English nominalisations: "implementation", "assessment", "assistance", "reference".
_NOMINALISATION = re.compile(r"^[a-z]{3,}(?:tion|sion|ment|ance|ence)s?$")


def russian_analysis(word: str) -> tuple[str, str]:
    """The most probable lemma of `word` and the grammemes of every parse with that lemma.

    >>> russian_analysis("проведения")
    ('проведение', 'NOUN VN inan neut sing gent plur nomn accs')
    """
    try:
        parses = _morph().parse(word)
    except ValueError:  # it asks unicodedata.name() of each letter: Tangut letters have none
        return word, ""
    known = [p for p in parses if p.is_known] or parses[:1]
    lemma = known[0].normal_form
    grammemes: dict[str, None] = {}
    for parse in known:
        if parse.normal_form == lemma and parse.tag.POS == known[0].tag.POS:
            grammemes.update(dict.fromkeys(str(parse.tag).replace(" ", ",").split(",")))
    if known[0].tag.POS == "NOUN" and lemma.endswith(_VERBAL_NOUN_ENDINGS):
        grammemes = {"NOUN": None, "VN": None, **grammemes}
    return lemma, " ".join(grammemes)


_MORPH = []


def _morph():
    # Lazy: pymorphy3 loads its dictionaries in ~0.5 s, so once per process and only when a
    # Russian word is first read; every pipeline shares the one analyser.
    if not _MORPH:
        import pymorphy3
        _MORPH.append(pymorphy3.MorphAnalyzer(lang="ru"))
    return _MORPH[0]


# The tokenizer splits "can't" into "ca" + "n't"; read the halves as the words they are,
# so "can't ship" and "cannot ship" meet on the same lemmas. Curly apostrophes too.
_ENGLISH_CONTRACTIONS = {"ca": "can", "wo": "will", "sha": "shall", "n't": "not", "'m": "be",
                         "'re": "be", "'s": "'s", "'ve": "have", "'ll": "will", "'d": "would"}


def english_lemma(table, word: str) -> str:
    """The lemma of an English word from spaCy's lookup `table`; a contraction's half as its word."""
    word = word.replace("\u2019", "'")
    return _ENGLISH_CONTRACTIONS.get(word) or table.get(word, word)


def english_tag(word: str) -> str:
    """"NMZ" for a nominalisation ("implementation"), else ""."""
    return "NMZ" if _NOMINALISATION.match(word) else ""
