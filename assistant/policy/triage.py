"""How urgent a request is and what kind: language, priority, critical flag with reasons, category, owner."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from assistant.policy.clientdates import find_client_deadline, is_close
from assistant.errors import RuleError
from assistant.policy.langdetect import (
    DETECT_CHARS, language_from_counts, letter_counts, other_language_present, to_cyrillic,
)
from assistant.policy.language import Match, Pipelines, RuleMatcher
from assistant.policy.rulebook import owner_rules, phrase_rules
from assistant.policy.ruletypes import LANGUAGES, PRIORITY_NAMES, Owners
from assistant.policy.severity import SEVERITY_FILES, Evidence, Grade, Severity, grade, priority_of

log = logging.getLogger("assistant.policy.triage")

# Only the head of a message is read: the subject and the first lines say what is on
# fire, and lemmatising whole threads of pasted logs would cost more than intake does.
TRIAGE_CHARS = 1500
# Files of rules/priority/ and what each does to the priority.
PRIORITY_FILES = ("critical", "high", "low", "negation") + SEVERITY_FILES
_NEGATOR_BEFORE = re.compile(r"(?:^|[\s,;:(])(?:не|нет|not|no|never)\s+$", re.IGNORECASE)
_HIGH_HEADER = {"high", "urgent", "1", "2"}
_LOW_HEADER = {"low", "non-urgent", "4", "5"}


@dataclass(frozen=True)
class Reason:
    rule: str           # rule id, e.g. "critical/shipment-stopped", or a signal: "header:importance"
    text: str           # the client's words (or header value) that decided it
    effect: str         # "critical", "raises to high", "lowers (negated)", "client deadline", ...


@dataclass(frozen=True)
class Assessment:
    language: str
    priority: str
    critical: bool
    reasons: tuple[Reason, ...]
    category: str
    owner: str | None               # who approves, when the category needs approval
    client_deadline: datetime | None  # aware UTC, from the client's own words
    impact: Grade = Grade("user")       # who is hurt, and the words that said so
    urgency: Grade = Grade("none")      # how soon, and the words that said so
    works_now: bool = False             # the client says it works ("Спасибо, всё заработало!")
    # False when the text had no letters to tell its language by and the default was taken.
    language_from_text: bool = True


@dataclass(frozen=True)
class TriageInput:
    subject: str
    text: str
    now: datetime
    importance: str | None = None   # Importance / X-Priority header value
    chasing: bool = False           # a reply on a ticket we have not answered yet
    default_language: str = "ru"
    tz: str = "Europe/Moscow"


@dataclass(frozen=True)
class _Prepared:
    language: str
    head: str
    texts: dict[str, str]           # language → the text its pipeline reads
    language_from_text: bool = True


class _LanguageRules:
    """The compiled matchers of one language: priority, category, and the owners' systems."""

    def __init__(self, pipelines: Pipelines, rules_dir, lang: str, owners: Owners):
        nlp = pipelines[lang]
        priority = phrase_rules(rules_dir, "priority", lang)
        for rule in priority:
            if rule.name not in PRIORITY_FILES:
                raise RuleError(f"{rule.file}:1: files in rules/priority/ are named "
                                f"{', '.join(PRIORITY_FILES)}, not {rule.name!r}")
        self.category_rules = phrase_rules(rules_dir, "category", lang)
        systems = [r for s in owners.systems for r in s.rules if r.lang == lang]
        # rules/replies: what a reply says about the ticket ("всё заработало").
        self.replies = RuleMatcher(nlp, phrase_rules(rules_dir, "replies", lang))
        self.matchers = [RuleMatcher(nlp, priority), RuleMatcher(nlp, self.category_rules),
                         RuleMatcher(nlp, systems), self.replies]

    def find(self, doc) -> list[Match]:
        return [m for matcher in self.matchers for m in matcher.find(doc)]


class Triage:
    """Reads rules/ once, compiles the matchers, and assesses messages one by one or in batches."""

    def __init__(self, settings, pipelines: Pipelines | None = None):
        rules_dir = settings.rules_dir
        self.pipelines = pipelines or Pipelines()
        self.owners = owner_rules(rules_dir)
        with self.pipelines.lock:       # the rules' words are kept, never read in a zone
            self._rules = {lang: _LanguageRules(self.pipelines, rules_dir, lang, self.owners)
                           for lang in LANGUAGES}
        self._precedence: dict[str, int] = {}
        self._needs_approval: set[str] = set()
        for rules in self._rules.values():
            for rule in rules.category_rules:
                self._precedence[rule.name] = int(rule.extra.get("precedence", 9))
                if rule.extra.get("approval"):
                    self._needs_approval.add(rule.name)

    def assess(self, subject: str, text: str, *, importance: str | None = None,
               chasing: bool = False, now: datetime, default_language: str = "ru",
               tz: str = "Europe/Moscow") -> Assessment:
        """The assessment of one message; `now` is when it arrived (aware).

        >>> triage.assess("Отгрузка", "С утра остановилась отгрузка", now=arrived).priority
        'critical'
        """
        item = TriageInput(subject, text, now, importance, chasing, default_language, tz)
        return self.assess_many([item])[0]

    def assess_many(self, items: list[TriageInput]) -> list[Assessment]:
        """Assessments in the order given; each language's texts go through nlp.pipe in batches."""
        prepared = [_prepare(item) for item in items]
        found: list[list[Match]] = [[] for _ in items]
        for lang in LANGUAGES:
            chosen = [i for i, p in enumerate(prepared) if lang in p.texts]
            if not chosen:
                continue
            with self.pipelines.reading(lang) as nlp:
                docs = nlp.pipe((prepared[i].texts[lang] for i in chosen), batch_size=256)
                for i, doc in zip(chosen, docs):
                    found[i].extend(self._rules[lang].find(doc))
        return [self._decide(item, p, m) for item, p, m in zip(items, prepared, found)]

    def _decide(self, item: TriageInput, prepared: _Prepared, matches: list[Match]) -> Assessment:
        deadline = find_client_deadline(prepared.head, item.now, item.tz)
        priority, reasons, severity = _priority(item, prepared, matches, deadline)
        category, category_reasons = self._category(matches, critical=priority == "critical")
        owner = self._owner(matches) if category in self._needs_approval else None
        return Assessment(
            language=prepared.language, priority=priority, critical=priority == "critical",
            reasons=tuple(reasons + category_reasons), category=category, owner=owner,
            client_deadline=deadline.due if deadline else None,
            impact=severity.impact, urgency=severity.urgency,
            works_now=any(m.rule.concern == "replies" for m in matches),
            language_from_text=prepared.language_from_text)

    def _category(self, matches: list[Match], critical: bool) -> tuple[str, list[Reason]]:
        hits: dict[str, list[Match]] = {}
        for match in matches:
            if match.rule.concern == "category":
                hits.setdefault(match.rule.name, []).append(match)
        if critical and not any(name in self._needs_approval for name in hits):
            # A stopped business is an incident whatever words it came in.
            return "incident", []
        if not hits:
            return "question", []
        best = min(hits, key=lambda name: (-len(hits[name]), self._precedence.get(name, 9), name))
        first = hits[best][0]
        return best, [Reason(_rule_name(first), first.text, f"category: {best}")]

    @staticmethod
    def client_deadline(subject: str, text: str, now: datetime, tz: str) -> datetime | None:
        """The deadline triage would read from this message in `tz` (aware UTC), or None.

        The time zone changes an assessment only through such a deadline, so a verdict
        made in another zone that found none holds when this finds none either.
        """
        found = find_client_deadline(_head(subject, text), now, tz)
        return found.due if found else None

    def works_now(self, text: str, lang: str) -> str | None:
        """The client's words saying it works now, or None: "всё заработало"."""
        rules = self._rules.get(lang)
        if rules is None:
            return None
        with self.pipelines.reading(lang):
            found = rules.replies(text[:TRIAGE_CHARS])
        return found[0].text if found else None

    def _owner(self, matches: list[Match]) -> str:
        named = [m.rule.id.removeprefix("system:") for m in matches if m.rule.concern == "owners"]
        for system in self.owners.systems:
            if system.name in named:
                return system.owner
        return self.owners.default


def _head(subject: str, text: str) -> str:
    return f"{subject}\n{text[:TRIAGE_CHARS]}"


def _prepare(item: TriageInput) -> _Prepared:
    head = _head(item.subject, item.text)
    counts = letter_counts(head[:DETECT_CHARS])
    cyrillic, latin = counts
    language = language_from_counts(cyrillic, latin, head, item.default_language)
    # Russian in Latin letters is read by the Russian rules once turned back into Cyrillic.
    readable = to_cyrillic(head) if language == "ru" and latin > cyrillic else head
    texts = {language: readable}
    if other_language_present(head, language, counts):
        texts["en" if language == "ru" else "ru"] = head
    return _Prepared(language=language, head=head, texts=texts,
                     language_from_text=bool(cyrillic or latin))


def _rule_name(match: Match) -> str:
    return f"{match.rule.name}/{match.rule.id}"


def _priority(item: TriageInput, prepared: _Prepared, matches: list[Match],
              deadline) -> tuple[str, list[Reason], Severity]:
    """The priority, the reasons for it (strongest first), and impact × urgency behind it."""
    mine = [m for m in matches if m.rule.concern == "priority"]
    negations = [m for m in mine if m.rule.name == "negation"]
    kept = [m for m in mine if m.rule.name != "negation" and not (
        m.rule.name in ("critical", "high", "security") and _negated(m, negations, prepared.texts[m.rule.lang]))]
    severity = grade(kept, prepared.texts, deadline=deadline, now=item.now, tz=item.tz)
    minor = [m for m in kept if m.rule.name == "low"]
    impact, urgency = severity.impact, severity.urgency
    if minor and urgency.level in ("none", "days") and not _stated_critical(kept):
        # Cosmetics, wishes and notes: nothing is on fire whatever is broken in them.
        urgency = Grade("none", tuple(Evidence(_rule_name(m), m.text) for m in minor))
    severity = Severity(impact, urgency, severity.fault, severity.relief)
    level = PRIORITY_NAMES.index(priority_of(impact.level, urgency.level, wish=bool(minor)))
    reasons = _decisive(level, kept, severity, minor)
    works_now = any(m.rule.concern == "replies" for m in matches)
    level, signals = _signals(item, deadline, level, kept, severity.fault and not minor, works_now)
    reasons += signals
    for match in negations:
        if level == 0:
            reasons.append(Reason(_rule_name(match), match.text, "noted; a stopped business stays critical"))
            continue
        if level < len(PRIORITY_NAMES) - 1:
            level += 1
            reasons.append(Reason(_rule_name(match), match.text, "lowers (negated)"))
        break
    return PRIORITY_NAMES[level], reasons + _grade_reasons(severity), severity


def _stated_critical(matches: list[Match]) -> bool:
    return any(m.rule.name == "critical" for m in matches)


def _decisive(level: int, kept: list[Match], severity: Severity, minor: list[Match]) -> list[Reason]:
    """The words that set the matrix's answer, named by what they did."""
    if level == 3:
        return [Reason(_rule_name(m), m.text, "lowers to low") for m in minor]
    if level == 2:
        return []
    effect = "critical" if level == 0 else "raises to high"
    stated = [m for m in kept if m.rule.name == "critical"] if level == 0 else []
    if stated:
        return [Reason(_rule_name(m), m.text, effect) for m in stated]
    evidence = severity.urgency.evidence + severity.impact.evidence
    return [Reason(e.rule, e.text, effect) for e in dict.fromkeys(evidence)]


def _grade_reasons(severity: Severity) -> list[Reason]:
    """Impact and urgency as reasons, so they travel wherever the reasons go."""
    reasons = []
    for axis, grade in (("impact", severity.impact), ("urgency", severity.urgency)):
        # A level nothing spoke for (one person; no time pressure) is kept too, without words.
        reasons += [Reason(e.rule, e.text, f"{axis}: {grade.level}") for e in grade.evidence] \
            or [Reason(axis, "", f"{axis}: {grade.level}")]
    reasons += [Reason(e.rule, e.text, "urgency lowered a step") for e in severity.relief]
    return reasons


def _signals(item: TriageInput, deadline, level: int, kept: list[Match],
             fault: bool, works_now: bool = False) -> tuple[int, list[Reason]]:
    """Explicit signals besides impact × urgency: the header, the client's deadline, a chasing
    reply, and "urgent" beside a fault (on its own, shouting raises nothing).

    A reply saying it works now ("Спасибо, всё заработало!") is not chasing, however
    unanswered the ticket looks.
    """
    reasons: list[Reason] = []
    raised = False
    header = (item.importance or "").strip().lower()
    header_word = header.split()[0] if header else ""
    if header_word in _HIGH_HEADER and level > 1:
        level, raised = 1, True
        reasons.append(Reason("header:importance", item.importance, "Importance: high header"))
    if deadline is not None and is_close(deadline.due, item.now, item.tz):
        if level > 1:
            level, raised = 1, True
        reasons.append(Reason("client-deadline", deadline.text, "client deadline"))
    for match in kept:
        if match.rule.extra.get("shout") and fault and level > 1:
            level, raised = 1, True
            reasons.append(Reason(_rule_name(match), match.text, "raises to high"))
        if match.rule.extra.get("chase") and level > 1 and not works_now:
            level, raised = 1, True
            reasons.append(Reason(_rule_name(match), match.text, "raises to high"))
    if item.chasing and level > 1 and not works_now:
        level -= 1
        raised = True
        reasons.append(Reason("chasing", "reply to an unanswered ticket",
                              f"raises to {PRIORITY_NAMES[level]} (chasing)"))
    if header_word in _LOW_HEADER and level == 2 and not raised:
        level = 3
        reasons.append(Reason("header:importance", item.importance, "Importance: low header"))
    return level, reasons


def _negated(match: Match, negations: list[Match], text: str) -> bool:
    """True when the client's words deny this phrase: "не срочно", "not urgent"."""
    for negation in negations:
        if negation.rule.lang == match.rule.lang and negation.start < match.end and match.start < negation.end:
            return True
    return bool(_NEGATOR_BEFORE.search(text[max(0, match.start - 12):match.start]))
