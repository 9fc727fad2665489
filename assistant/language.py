"""The spaCy pipelines (blank + lemmatizer, no downloaded weights) and rule matchers on lemmas."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

import spacy
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from assistant.rulebook import PhraseRule

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
GAP = "..."
GAP_WORDS = 4
# A gap may hold commas ("вы, к сожалению, ошиблись") but never crosses a sentence end.
_SENTENCE_END = [".", "!", "?", ";", "\n", "\n\n"]


def detect_language(text: str, default: str = "ru") -> str:
    """"ru" or "en" by the letters the text is written in; `default` when it has none.

    >>> detect_language("Отгрузка остановилась")
    'ru'
    """
    cyrillic = len(_CYRILLIC.findall(text))
    latin = len(_LATIN.findall(text))
    if cyrillic == latin == 0:
        return default
    return "ru" if cyrillic >= latin * 0.5 else "en"


@Language.component("lowercase_lemmas")
def _lowercase_lemmas(doc: Doc) -> Doc:
    # The English lookup table is keyed by lower-case words: "Shipments" would keep its
    # own text as lemma. Look up the lower-case form for every token instead.
    table = doc.vocab.lookups.get_table("lemma_lookup", None) if doc.vocab.lookups.has_table(
        "lemma_lookup") else None
    for token in doc:
        lower = token.lower_
        token.lemma_ = table.get(lower, lower) if table is not None else lower
    return doc


def build_pipeline(lang: str) -> Language:
    """A blank pipeline with a lemmatizer whose data ships in PyPI packages."""
    if lang == "ru":
        nlp = spacy.blank("ru")
        nlp.add_pipe("lemmatizer", config={"mode": "pymorphy3"})
        nlp.initialize()
        return nlp
    if lang == "en":
        nlp = spacy.blank("en")
        lemmatizer = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        # Share the loaded table with the vocab so the lower-casing step can read it.
        nlp.vocab.lookups.add_table("lemma_lookup", lemmatizer.lookups.get_table("lemma_lookup"))
        nlp.remove_pipe("lemmatizer")
        nlp.add_pipe("lowercase_lemmas")
        return nlp
    raise ValueError(f"no pipeline for language {lang!r}")


class Pipelines:
    """One pipeline per language, built on first use and kept for the process."""

    def __init__(self) -> None:
        self._built: dict[str, Language] = {}

    def __getitem__(self, lang: str) -> Language:
        if lang not in self._built:
            self._built[lang] = build_pipeline(lang)
        return self._built[lang]


@dataclass(frozen=True)
class Match:
    rule: PhraseRule
    start: int          # character offsets in the text
    end: int
    text: str


class RuleMatcher:
    """Finds the phrases of a set of rules (one language) in texts, on lemmas.

    Plain phrases go to a PhraseMatcher (nearly free); phrases with gaps, prefixes or
    exact words go to the token Matcher.
    """

    def __init__(self, nlp: Language, rules: Iterable[PhraseRule]):
        self.nlp = nlp
        self.rules: dict[str, PhraseRule] = {}
        self._phrases = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._tokens = Matcher(nlp.vocab)
        for rule in rules:
            self.rules[rule.id] = rule
            for phrase in rule.phrases:
                self._add(rule.id, phrase)

    def _add(self, key: str, phrase: str) -> None:
        words = phrase.split()
        if all(w != GAP and not w.endswith("*") and not w.startswith("'") for w in words):
            lemmas = [t.lemma_ for t in self.nlp(phrase.lower())]
            pattern = Doc(self.nlp.vocab, words=lemmas)
            for token, lemma in zip(pattern, lemmas):
                token.lemma_ = lemma
            self._phrases.add(key, [pattern])
            return
        pattern: list[dict] = []
        for word in words:
            if word == GAP:
                pattern.append({"TEXT": {"NOT_IN": _SENTENCE_END}, "OP": f"{{0,{GAP_WORDS}}}"})
            elif word.endswith("*"):
                pattern.append({"LOWER": {"REGEX": "^" + re.escape(word[:-1].lower())}})
            elif word.startswith("'"):
                pattern.append({"LOWER": word.strip("'").lower()})
            else:
                pattern.extend({"LEMMA": t.lemma_} for t in self.nlp(word.lower()))
        self._tokens.add(key, [pattern], greedy="LONGEST")

    def find(self, doc: Doc) -> list[Match]:
        """Every match, in text order; overlapping matches of one rule are merged."""
        found: list[tuple[int, int, str]] = []
        for matcher in (self._phrases, self._tokens):
            for key, start, end in matcher(doc):
                found.append((start, end, self.nlp.vocab.strings[key]))
        found.sort()
        merged: list[tuple[int, int, str]] = []
        for start, end, key in found:
            if merged and merged[-1][2] == key and start < merged[-1][1]:
                last = merged[-1]
                merged[-1] = (last[0], max(last[1], end), key)
            else:
                merged.append((start, end, key))
        matches = []
        for start, end, key in merged:
            span = doc[start:end]
            matches.append(Match(self.rules[key], span.start_char, span.end_char, span.text))
        return matches

    def __call__(self, text: str) -> list[Match]:
        return self.find(self.nlp(text))
