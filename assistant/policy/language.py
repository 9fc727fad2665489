"""The spaCy pipelines (blank + cached lemmatizer, no downloaded weights) and rule matchers on lemmas."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Callable, Iterable

import numpy
import spacy
from spacy.attrs import LEMMA, LOWER, TAG
from spacy.language import Language
from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc

from assistant.policy.phrasesyntax import phrase_words
from assistant.policy.rulebook import PhraseRule

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN = re.compile(r"[a-z]", re.IGNORECASE)
_LATIN_WORD = re.compile(r"[a-z]+", re.IGNORECASE)
GAP = "..."
GAP_WORDS = 4
# A gap may hold commas ("вы, к сожалению, ошиблись") but never crosses a sentence end.
_SENTENCE_END = [".", "!", "?", ";", "\n", "\n\n"]
# The lemma caches stop growing here: real mail repeats its word forms, spam need not.
CACHE_LIMIT = 200_000
# What a pipeline reads of any one text (see `readable`). spaCy's tokenizer strips
# prefixes and suffixes one at a time, searching the rest of the word each time, so a word
# costs its length squared: a 39 KB subject of "!" took over a minute.
MAX_PIPELINE_CHARS = 50_000
MAX_WORD_CHARS = 100
MAX_MARK_RUN = 4
_MARK_RUN = re.compile(r"[^\w\s]{%d,}" % (MAX_MARK_RUN + 1))
_LONG_WORD = re.compile(r"\S{%d,}" % (MAX_WORD_CHARS + 1))

# Words that Russian written in Latin letters uses all the time and English never does.
_TRANSLIT_WORDS = frozenset("""
    ne net da u nas vas menya mne ya my vy on ona oni eto chto kak gde kogda pochemu
    pozhaluysta pozhalujsta pojaluista spasibo zdravstvuyte zdravstvujte privet dobryy dobryj
    den dnya utro vecher srochno rabotaet rabotayet ne_rabotaet mozhno nuzhno nado ochen
    tozhe uzhe eshe eshche seychas sejchas segodnya zavtra vchera posle poka esli ili ili
    tolko vse vsyo vsem problema oshibka otgruzka sklad zarplata nalogi dostup prava
    kassa platezhi pomogite podskazhite proshu kollegi ostanovilas vstala ne_mogu mogu
""".split())
_ENGLISH_WORDS = frozenset("""
    the and is are was were be to of in on for with we you our your it this that not no
    have has can cannot please thanks hello hi dear from by at as an a will would could
    should there their they what when where why how all any but or if so
""".split())

# Longest first, so "shch" wins over "sh" and "zh" over "z".
_TO_CYRILLIC = sorted({
    "shch": "щ", "sch": "щ", "zh": "ж", "kh": "х", "ts": "ц", "ch": "ч", "sh": "ш",
    "yu": "ю", "ya": "я", "yo": "ё", "ye": "е", "iy": "ий", "yy": "ый", "ay": "ай",
    "oy": "ой", "uy": "уй", "ey": "ей", "aj": "ай", "oj": "ой", "uj": "уй", "ej": "ей",
    "a": "а", "b": "б", "v": "в", "g": "г", "d": "д", "e": "е", "z": "з", "i": "и",
    "j": "й", "k": "к", "l": "л", "m": "м", "n": "н", "o": "о", "p": "п", "r": "р",
    "s": "с", "t": "т", "u": "у", "f": "ф", "h": "х", "c": "ц", "y": "ы", "w": "в",
    "x": "кс", "q": "к", "'": "ь",
}.items(), key=lambda pair: -len(pair[0]))
# ASCII case-folding only: Unicode folding would let "ı", "İ", "ſ" and "K" (Kelvin) match
# "i", "s" and "k", and those letters have no entry in the table.
_TRANSLIT = re.compile("|".join(re.escape(latin) for latin, _ in _TO_CYRILLIC),
                       re.IGNORECASE | re.ASCII)
_TRANSLIT_MAP = dict(_TO_CYRILLIC)


def letter_counts(text: str) -> tuple[int, int]:
    """(Cyrillic letters, Latin letters) in `text`."""
    return len(_CYRILLIC.findall(text)), len(_LATIN.findall(text))


def is_transliterated(text: str) -> bool:
    """True when Latin letters carry Russian words ("u nas ne rabotaet otgruzka")."""
    words = [w.lower() for w in _LATIN_WORD.findall(text[:2000])]
    if len(words) < 3:
        return False
    russian = sum(w in _TRANSLIT_WORDS for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    return russian >= 2 and russian > english


def to_cyrillic(text: str) -> str:
    """Russian written in Latin letters, turned back into Cyrillic for the Russian matchers.

    >>> to_cyrillic("otgruzka ostanovilas")
    'отгрузка остановилась'
    """
    def replace(match: re.Match) -> str:
        cyrillic = _TRANSLIT_MAP.get(match.group(0).lower(), match.group(0))
        return cyrillic.upper() if match.group(0)[0].isupper() and cyrillic else cyrillic
    # The soft sign at the end of a verb is often dropped: "ostanovilas" means "остановилась".
    converted = _TRANSLIT.sub(replace, text)
    return re.sub(r"(?<=л[аи]с)\b", "ь", converted)


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


# Language is plain from the first lines; counting letters further only costs time.
DETECT_CHARS = 1000


def detect_language(text: str, default: str = "ru") -> str:
    """"ru" or "en" by the letters and words of the text; `default` when it has none.

    Mixed text goes by its larger script (Russian wins a tie: Russian mail is full of
    English product names and error messages), and Russian written in Latin letters is
    Russian.

    >>> detect_language("Отгрузка остановилась")
    'ru'
    >>> detect_language("privet, u nas ne rabotaet kassa")
    'ru'
    """
    return language_from_counts(*letter_counts(text[:DETECT_CHARS]), text, default)


def language_from_counts(cyrillic: int, latin: int, text: str, default: str = "ru") -> str:
    """`detect_language` for a caller that has already counted the letters."""
    if cyrillic == latin == 0:
        return default
    if cyrillic >= latin * 0.5:
        return "ru"
    return "ru" if is_transliterated(text) else "en"


def other_language_present(text: str, language: str, counts: tuple[int, int] | None = None) -> bool:
    """True when the language not chosen still has whole sentences' worth of letters."""
    cyrillic, latin = counts or letter_counts(text[:DETECT_CHARS])
    other = latin if language == "ru" else cyrillic
    return other >= 15 and other >= 0.2 * (cyrillic + latin)


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

    def __call__(self, doc: Doc) -> Doc:
        # Whole arrays, not Token objects: creating a Token costs more than the lookup.
        cache, strings = self._cache, doc.vocab.strings
        lowers = doc.to_array([LOWER]).tolist()
        rows = []
        for lower in lowers:
            row = cache.get(lower)
            if row is None:
                if len(cache) >= CACHE_LIMIT:
                    cache.clear()
                lemma, tag = self._analyse(strings[lower])
                row = cache[lower] = (strings.add(lemma.replace("ё", "е")), strings.add(tag))
            rows.append(row)
        if rows:
            doc.from_array([LEMMA, TAG], numpy.array(rows, dtype="uint64").reshape(-1, 2))
        return doc


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
    parses = _morph().parse(word)
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
    # pymorphy3 loads its dictionaries in ~0.5 s: once per process, shared by every pipeline.
    if not _MORPH:
        import pymorphy3
        _MORPH.append(pymorphy3.MorphAnalyzer(lang="ru"))
    return _MORPH[0]


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
        lemmatizer = CachedLemmatizer(lambda word: (_english_lemma(table, word), _english_tag(word)))
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


# The tokenizer splits "can't" into "ca" + "n't"; read the halves as the words they are,
# so "can't ship" and "cannot ship" meet on the same lemmas. Curly apostrophes too.
_ENGLISH_CONTRACTIONS = {"ca": "can", "wo": "will", "sha": "shall", "n't": "not", "'m": "be",
                         "'re": "be", "'s": "'s", "'ve": "have", "'ll": "will", "'d": "would"}


def _english_lemma(table, word: str) -> str:
    word = word.replace("\u2019", "'")
    return _ENGLISH_CONTRACTIONS.get(word) or table.get(word, word)


def _english_tag(word: str) -> str:
    return "NMZ" if _NOMINALISATION.match(word) else ""


def word_lemmas(nlp: Language, word: str) -> list[str]:
    """The lemmas a phrase word may stand for: all readings in Russian, one in English."""
    if nlp.lang == "ru" and _CYRILLIC.search(word):
        return russian_lemmas(word.lower())
    return [t.lemma_ for t in nlp(word.lower())]


def _is_plain(base: str, tags: tuple[str, ...]) -> bool:
    """True for a word the PhraseMatcher can take: a lemma with no tags, set, prefix or quotes."""
    return bool(base) and not tags and base != GAP and base[0] not in "'[" and not base.endswith("*")


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
