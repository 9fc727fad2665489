"""The spaCy pipelines (blank + cached lemmatizer, no downloaded weights) and rule matchers on lemmas.

Which language a text is in is `langdetect`; the lemmas of single words are `morphology`.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterable

import spacy
from spacy.attrs import LEMMA
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from assistant.policy.langdetect import letter_counts
from assistant.policy.morphology import CachedLemmatizer, english_lemma, english_tag, russian_analysis, russian_lemmas
from assistant.policy.phrasesyntax import phrase_words
from assistant.policy.ruletypes import PhraseRule

GAP = "..."
GAP_WORDS = 4
# A gap may hold commas ("вы, к сожалению, ошиблись") but never crosses a sentence end.
_SENTENCE_END = [".", "!", "?", ";", "\n", "\n\n"]
# What a pipeline reads of any one text (see `readable`). spaCy's tokenizer strips
# prefixes and suffixes one at a time, searching the rest of the word each time, so a word
# costs its length squared: a 39 KB subject of "!" took over a minute.
MAX_PIPELINE_CHARS = 50_000
MAX_WORD_CHARS = 100
MAX_MARK_RUN = 4
_MARK_RUN = re.compile(r"[^\w\s]{%d,}" % (MAX_MARK_RUN + 1))
_LONG_WORD = re.compile(r"\S{%d,}" % (MAX_WORD_CHARS + 1))


def readable(text: str) -> str:
    """What the pipelines read of `text`: its first MAX_PIPELINE_CHARS characters, with a
    run of punctuation or an overlong word blanked after its first few characters. Up to
    the cut it has the length of `text`, so character offsets found in it hold in `text`.

    >>> readable("Help!!!!!!!! now")
    'Help!!!!     now'
    """
    text = text[:MAX_PIPELINE_CHARS]
    text = _MARK_RUN.sub(lambda run: _blank_after(run.group(0), MAX_MARK_RUN), text)
    return _LONG_WORD.sub(lambda word: _blank_after(word.group(0), MAX_WORD_CHARS), text)


def _blank_after(run: str, keep: int) -> str:
    return run[:keep] + " " * (len(run) - keep)


class _ReadableTokenizer:
    """The pipeline's tokenizer, given only `readable` text whoever calls it."""

    def __init__(self, tokenizer) -> None:
        self._tokenizer = tokenizer

    def __call__(self, text: str) -> Doc:
        return self._tokenizer(readable(text))

    def __getattr__(self, name: str):
        return getattr(self._tokenizer, name)


def build_pipeline(lang: str) -> Language:
    """A blank pipeline with a cached lemmatizer whose data ships in PyPI packages."""
    if lang == "ru":
        nlp = spacy.blank("ru")
        lemmatizer = CachedLemmatizer(russian_analysis)
    elif lang == "en":
        nlp = spacy.blank("en")
        loader = nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        nlp.initialize()
        table = loader.lookups.get_table("lemma_lookup")
        nlp.remove_pipe("lemmatizer")
        lemmatizer = CachedLemmatizer(lambda word: (english_lemma(table, word), english_tag(word)))
    else:
        raise ValueError(f"no pipeline for language {lang!r}")
    name = f"cached_lemmas_{lang}_{id(lemmatizer)}"
    Language.component(name, func=lemmatizer)
    nlp.add_pipe(name)
    # Texts of any length may come: the tokenizer reads what `readable` leaves of them.
    nlp.tokenizer = _ReadableTokenizer(nlp.tokenizer)
    nlp.max_length = 2**62
    nlp.meta["lemmas_of"] = lang
    return nlp


def word_lemmas(nlp: Language, word: str) -> list[str]:
    """The lemmas a phrase word may stand for: all readings in Russian, one in English."""
    if nlp.lang == "ru" and letter_counts(word)[0]:
        return russian_lemmas(word.lower())
    return [t.lemma_ for t in nlp(word.lower())]


def _is_plain(base: str, tags: tuple[str, ...]) -> bool:
    """True for a word the PhraseMatcher can take: a lemma with no tags, set, prefix or quotes."""
    return bool(base) and not tags and base != GAP and base[0] not in "'[" and not base.endswith("*")


# spaCy keeps every word form it has met (its string, a lexeme, the tokenizer's split) for
# the life of the process: mail brings names, numbers and typos without end, and a daemon
# grew by 7 MB every thousand mails that carried ten new words each. Up to this many strings
# a language's forms are kept (the common words of mail, read fast ever after); beyond it
# each text is read in a memory zone that frees the forms it met for the first time.
# Below morphology.CACHE_LIMIT, so the lemma cache never has to forget a kept form.
PERMANENT_STRINGS = 100_000


class Pipelines:
    """One pipeline per language, built on first use and kept for the process.

    Read texts through `reading` and build matchers under `lock`: a memory zone frees what
    it did not keep, so no other thread may use the pipeline meanwhile (the web desk checks
    tone beside the daemon's triage).
    """

    def __init__(self, permanent_strings: int = PERMANENT_STRINGS) -> None:
        self._built: dict[str, Language] = {}
        self.permanent_strings = permanent_strings
        self.lock = threading.RLock()
        self._depth = 0

    def __getitem__(self, lang: str) -> Language:
        if lang not in self._built:
            with self.lock:
                if lang not in self._built:
                    self._built[lang] = build_pipeline(lang)
        return self._built[lang]

    @contextmanager
    def reading(self, lang: str) -> Iterator[Language]:
        """The pipeline of `lang`, for texts read (and their docs dropped) inside the block."""
        nlp = self[lang]
        with self.lock:
            if self._depth or len(nlp.vocab.strings) <= self.permanent_strings:
                self._depth += 1
                try:
                    yield nlp
                finally:
                    self._depth -= 1
                return
            self._depth += 1
            try:
                with nlp.memory_zone():
                    yield nlp
            finally:
                self._depth -= 1


@dataclass(frozen=True)
class Match:
    rule: PhraseRule
    start: int          # character offsets in the text
    end: int
    text: str


def _after_enough(rule: PhraseRule, doc: Doc, start: int) -> bool:
    """A rule with `after_number = N` counts only right after a number of at least N:
    "140 сотрудников" is a headcount, "3 сотрудника" is not."""
    least = rule.extra.get("after_number")
    if not least:
        return True
    if start == 0:
        return False
    digits = doc[start - 1].text.replace(" ", "").replace("\u00a0", "")
    return digits.isdigit() and int(digits) >= int(least)


class RuleMatcher:
    """Finds the phrases of a set of rules (one language) in texts, on lemmas.

    Plain phrases go to a PhraseMatcher (nearly free), one pattern per reading of an
    ambiguous word ("стоит" is both "стоить" and "стоять"); phrases with gaps, prefixes
    or exact words go to the token Matcher.
    """

    def __init__(self, nlp: Language, rules: Iterable[PhraseRule]):
        self.nlp = nlp
        self.rules: dict[str, PhraseRule] = {}
        self._phrases = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._tokens = Matcher(nlp.vocab)
        self._has_tokens = False
        self._token_needs: list[frozenset[int]] = []
        for rule in rules:
            self.rules[rule.id] = rule
            for phrase in rule.phrases:
                self._add(rule.id, phrase)

    def _add(self, key: str, phrase: str) -> None:
        words = phrase_words(phrase)
        if all(_is_plain(base, tags) for base, tags in words):
            readings = [self._readings(base) for base, _ in words]
            patterns = []
            for combination in itertools.product(*readings):
                lemmas = [lemma for part in combination for lemma in part]
                pattern = Doc(self.nlp.vocab, words=lemmas)
                for token, lemma in zip(pattern, lemmas):
                    token.lemma_ = lemma
                patterns.append(pattern)
            self._phrases.add(key, patterns)
            return
        self._tokens.add(key, [self._token_pattern(words)], greedy="LONGEST")
        self._has_tokens = True
        # The token Matcher walks every token in Python; run it only on a doc that holds
        # every plain word of at least one of its phrases.
        needed = set()
        for base, tags in words:
            if base.startswith("'") and base.endswith("'") and len(base) > 2:
                # An exact word carries the one lemma the pipeline gives that form.
                tokens = self.nlp(base.strip("'").lower())
                if len(tokens) == 1:
                    needed.add(self.nlp.vocab.strings.add(tokens[0].lemma_))
            elif base and _is_plain(base, ()):
                readings = self._readings(base)
                if len(readings) == 1:
                    needed.update(self.nlp.vocab.strings.add(lemma) for lemma in readings[0])
        self._token_needs.append(frozenset(needed))

    def _readings(self, word: str) -> list[tuple[str, ...]]:
        # A word the tokenizer splits ("can't") has one reading made of several lemmas.
        tokens = [t.lemma_ for t in self.nlp(word.lower())]
        if len(tokens) > 1:
            return [tuple(tokens)]
        return [(lemma,) for lemma in word_lemmas(self.nlp, word)]

    def _token_pattern(self, words: list[tuple[str, tuple[str, ...]]]) -> list[dict]:
        pattern: list[dict] = []
        for base, tags in words:
            if base == GAP:
                pattern.append({"TEXT": {"NOT_IN": _SENTENCE_END}, "OP": f"{{0,{GAP_WORDS}}}"})
                continue
            if base.startswith("["):
                items = base[1:-1].split("|")
                if items[0].startswith("'"):
                    token = {"LOWER": {"IN": [item.strip("'").lower() for item in items]}}
                else:
                    token = {"LEMMA": {"IN": sorted({r[0] for item in items for r in self._readings(item)})}}
            elif base.endswith("*"):
                token = {"LOWER": {"REGEX": "^" + re.escape(base[:-1].lower())}}
            elif base.startswith("'"):
                token = {"LOWER": base.strip("'").lower()}
            elif base:
                readings = self._readings(base)
                if len(readings) == 1 and not tags:
                    pattern.extend({"LEMMA": lemma} for lemma in readings[0])
                    continue
                token = {"LEMMA": {"IN": [r[0] for r in readings]}}
            else:
                token = {}
            if tags:
                # Every tag must be among the token's grammemes, in any order.
                token["TAG"] = {"REGEX": "".join(rf"(?=.*\b{re.escape(t)}\b)" for t in tags)}
            pattern.append(token)
        return pattern

    def find(self, doc: Doc) -> list[Match]:
        """Every match, in text order; overlapping or touching matches of one rule are merged."""
        found: list[tuple[int, int, str]] = []
        matchers = (self._phrases, self._tokens) if self._wants_tokens(doc) else (self._phrases,)
        for matcher in matchers:
            for key, start, end in matcher(doc):
                found.append((start, end, self.nlp.vocab.strings[key]))
        found.sort()
        merged: list[tuple[int, int, str]] = []
        last_of: dict[str, int] = {}            # rule key → index of its latest span in merged
        for start, end, key in found:
            index = last_of.get(key)
            if index is not None and start <= merged[index][1]:
                merged[index] = (merged[index][0], max(merged[index][1], end), key)
            else:
                last_of[key] = len(merged)
                merged.append((start, end, key))
        matches = []
        for start, end, key in sorted(merged):
            span = doc[start:end]
            if _after_enough(self.rules[key], doc, start):
                matches.append(Match(self.rules[key], span.start_char, span.end_char, span.text))
        return matches

    def _wants_tokens(self, doc: Doc) -> bool:
        if not self._has_tokens:
            return False
        present = set(doc.to_array([LEMMA]).tolist())
        return any(needed <= present for needed in self._token_needs)

    def __call__(self, text: str) -> list[Match]:
        return self.find(self.nlp(text))
