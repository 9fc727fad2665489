"""Check a reply against rules/tone: blame, boilerplate, deflection and bureaucratese, with rewrites."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from assistant.errors import RuleError
from assistant.policy.langdetect import detect_language, language_from_counts, letter_counts
from assistant.policy.language import MAX_PIPELINE_CHARS, Pipelines, RuleMatcher
from assistant.policy.phrasesyntax import phrase_problem
from assistant.policy.rulebook import phrase_rules
from assistant.policy.ruletypes import LANGUAGES, PhraseRule

KINDS = ("blame", "boilerplate", "deflection", "bureaucratese")


@dataclass(frozen=True)
class Finding:
    rule: str           # the rule id, e.g. "ru-you-made-a-mistake"
    kind: str           # one of KINDS
    start: int          # character offsets of the phrase in the checked text
    end: int
    text: str           # the phrase exactly as it stands in the text
    suggestion: str     # a human rewrite
    explain: str        # why the phrase hurts


class ToneChecker:
    """Finds phrases in a reply that blame, deflect, sound canned or bureaucratic.

    >>> checker = ToneChecker(Path("rules"))
    >>> [f.suggestion for f in checker.check("Вы допустили ошибку в документе.")]
    ['в документе ошибка']
    """

    def __init__(self, rules_dir: Path, pipelines: Pipelines | None = None):
        self.pipelines = pipelines or Pipelines()
        self.rules: dict[str, list[PhraseRule]] = {lang: [] for lang in LANGUAGES}
        for rule in phrase_rules(Path(rules_dir), "tone"):
            kind = rule.extra.get("kind")
            if kind not in KINDS:
                raise RuleError(f"{rule.where}: rule {rule.id!r} needs kind = one of {KINDS}, not {kind!r}")
            self.rules[rule.lang].append(rule)
        self._matchers: dict[str, tuple[RuleMatcher, RuleMatcher]] = {}

    def check(self, text: str, lang: str | None = None) -> list[Finding]:
        """Every tone finding in `text`, in text order; an empty list when the reply reads well.

        Each sentence is read in its own language, so a Russian letter with an English
        paragraph gets both checked. `lang` ("ru" or "en") is the language of the letter,
        used for sentences too short to tell; None detects it from the whole text. A text longer
        than `language.MAX_PIPELINE_CHARS` is checked in its first that many characters.
        """
        text = text[:MAX_PIPELINE_CHARS]
        lang = lang or detect_language(text)
        if lang not in self.rules:
            raise ValueError(f"no tone rules for language {lang!r}")
        findings = []
        for start, end, part_lang in language_runs(text, lang):
            findings.extend(self._check_run(text, start, end, part_lang))
        return findings

    def _check_run(self, text: str, start: int, end: int, lang: str) -> list[Finding]:
        """The findings in text[start:end], read as `lang`, with offsets into the whole text."""
        matcher, allowed = self._matchers_for(lang)
        part = text[start:end]
        # Lemmas of ambiguous words keep their case ("Данный" stays "Данный"), so the
        # matchers read a lower-cased copy; offsets hold as long as lower() keeps length.
        lowered = part.lower()
        probe = lowered if len(lowered) == len(part) else part
        with self.pipelines.reading(lang):
            allowed_spans = [(m.rule.extra["allows"], m.start, m.end) for m in allowed(probe)]
            matches = matcher(probe)
        findings = []
        for match in matches:
            if any(rule_id == match.rule.id and begin <= match.start and match.end <= finish
                   for rule_id, begin, finish in allowed_spans):
                continue
            rule = match.rule
            findings.append(Finding(
                rule=rule.id, kind=rule.extra["kind"], start=start + match.start,
                end=start + match.end, text=text[start + match.start:start + match.end],
                suggestion=rule.suggest, explain=rule.explain,
            ))
        return findings

    def _matchers_for(self, lang: str) -> tuple[RuleMatcher, RuleMatcher]:
        """The rule matcher of a language and the matcher of its allowed phrases, built once."""
        if lang not in self._matchers:
            with self.pipelines.lock:       # the rules' words are kept, never read in a zone
                nlp = self.pipelines[lang]
                rules = self.rules[lang]
                self._matchers[lang] = (RuleMatcher(nlp, rules), RuleMatcher(nlp, allowances(rules)))
        return self._matchers[lang]


# A sentence ends at . ! ? or … before a space, or at a line break.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])\s+|\n\s*")
# Fewer letters than this do not show a language ("OK.", "Мария", "CRM 2.0").
_LETTERS_TO_TELL = 12


def language_runs(text: str, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, language) of the stretches of `text` written in one language, in order.

    A sentence with too few letters to tell keeps the language of the letter (`lang`).

    >>> language_runs("Добрый день! Thank you for your patience.", "ru")
    [(0, 13, 'ru'), (13, 41, 'en')]
    """
    runs: list[tuple[int, int, str]] = []
    start = 0
    for end in [m.end() for m in _SENTENCE_BREAK.finditer(text)] + [len(text)]:
        if end <= start:
            continue
        sentence = text[start:end]
        cyrillic, latin = letter_counts(sentence)
        part_lang = lang
        if cyrillic + latin >= _LETTERS_TO_TELL:
            part_lang = language_from_counts(cyrillic, latin, sentence, lang)
        if runs and runs[-1][2] == part_lang:
            runs[-1] = (runs[-1][0], end, part_lang)
        else:
            runs.append((start, end, part_lang))
        start = end
    return runs


def allowances(rules: list[PhraseRule]) -> list[PhraseRule]:
    """Pseudo-rules for each rule's `allow` phrases: a match inside one of them is dropped.

    A rule such as "в целях" lists `allow = ["в 'целях' 'безопасности'"]` for the uses
    that read fine; keeping them as phrases means they follow the same syntax.
    """
    allowances = []
    for rule in rules:
        phrases = rule.extra.get("allow", [])
        if isinstance(phrases, str) or not all(isinstance(p, str) for p in phrases):
            raise RuleError(f"{rule.where}: allow of rule {rule.id!r} must be a list of phrases")
        for number, phrase in enumerate(phrases):
            problem = phrase_problem(phrase) if phrase.strip() else "empty phrase"
            if problem:
                raise RuleError(f"{rule.where}: rule {rule.id!r}, allow {phrase!r}: {problem}")
            allowances.append(PhraseRule(
                id=f"{rule.id}#allow{number}", concern=rule.concern, name=rule.name,
                lang=rule.lang, phrases=(phrase,), extra={"allows": rule.id},
                file=rule.file, line=rule.line,
            ))
    return allowances
