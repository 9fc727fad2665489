"""The only reader of rules/: files read into the values of `ruletypes`, errors naming file and line.

Besides phrase rules, the marks of quoted mail in `rules/quotes/` (`quote_marks`, which
are literal words and patterns in many languages, not lemmas), and three plain files: `rules/sla.toml` (calendars and targets, read
by `sla_rules`), `rules/owners.toml` (who approves access requests, `owner_rules`) and
`rules/escalation.toml` (who hears of a critical incident at once, `escalation_rules`).

A phrase-rule file is `rules/<concern>/<name>.<lang>.toml`:

    kind = "blame"                      # any top-level key applies to every rule below
    [[rule]]
    id = "you-made-a-mistake"
    phrases = ["вы допустить ошибка", "вы ошибиться"]
    explain = "Blame makes the client defend themselves instead of reading on."
    suggest = "в документе ошибка"
    examples.flag = ["Вы допустили ошибку в документе."]
    examples.pass = ["В документе ошибка, исправим сегодня."]

Phrases are written as words and matched on lemmas, so one phrase covers every
inflection ("ошибку", "ошибки", "ошибся"). In a phrase, `...` stands for up to four
words or commas (never a sentence end), a word ending in `*` matches any word starting so, and a word in
'single quotes' matches that exact word, not its lemma. An apostrophe inside a word
("can't") is part of the word.

Rules that generalise need classes of words rather than single words:

- `[ошибиться|перепутать|забыть]` is any one of these lemmas (`['звоните'|'пишите']`:
  any of these exact words);
- `<VN,gent>` after a word, or standing alone, asks for morphological tags: a Russian
  word carries pymorphy3's grammemes (`NOUN`, `gent`, `impr`, `2per`…) and `VN` for a
  verbal noun («проведение», «реализация»), an English word `NMZ` for a nominalisation
  ("implementation", "assessment"); `позвонить<impr>` is «позвоните», not «позвонит»;
- `@fault` names a set declared once per file, `sets.fault = ["ошибиться", "не указать"]`;
  single words join one `[...|...]`, and each item of several words makes its own phrase.
"""

from __future__ import annotations

import re
import tomllib
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.errors import RuleError
from assistant.policy.phrasesyntax import phrase_problem, with_sets, word_sets
from assistant.policy.ruletypes import (
    LANGUAGES, PRIORITY_NAMES, Calendar, MarkRule, OwnedSystem, Override, Owners, PhraseRule, SlaRules,
    Span, Target,
)


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's contents, or a RuleError naming the file and the line at fault."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RuleError(f"{path}: missing") from exc
    except UnicodeDecodeError as exc:
        raise RuleError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        # tomllib says "... (at line 7, column 12)"; lead with file:line like a compiler.
        found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{path}:{found.group(1)}" if found else f"{path}"
        raise RuleError(f"{where}: {exc}") from exc


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    """The line of `path` holding the `nth` occurrence of `needle` (1-based; 0 when absent)."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                nth -= 1
                if nth == 0:
                    return number
    except OSError:
        pass
    return 0


def phrase_rules(rules_dir: Path, concern: str, lang: str | None = None) -> list[PhraseRule]:
    """Every rule in `rules/<concern>/*.<lang>.toml` (all languages when lang is None)."""
    folder = rules_dir / concern
    if not folder.is_dir():
        raise RuleError(f"{folder}: missing (rules for {concern!r} are needed)")
    rules: list[PhraseRule] = []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(folder.glob("*.toml")):
        name, _, file_lang = path.stem.rpartition(".")
        if file_lang not in LANGUAGES or not name:
            raise RuleError(f"{path}: name it <name>.<lang>.toml with lang one of {LANGUAGES}")
        if lang is not None and file_lang != lang:
            continue
        for rule in _rules_in(path, concern, name, file_lang):
            key = (rule.lang, rule.id)
            if key in seen:
                raise RuleError(f"{rule.where}: rule id {rule.id!r} is already used at {seen[key]}")
            seen[key] = rule.where
            rules.append(rule)
    return rules


def _rules_in(path: Path, concern: str, name: str, lang: str) -> list[PhraseRule]:
    data = read_toml(path)
    shared = {k: v for k, v in data.items() if k not in ("rule", "sets")}
    sets = word_sets(path, data.get("sets", {}))
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise RuleError(f"{path}:1: use [[rule]] tables")
    rules = []
    seen: dict[str, int] = {}
    for entry in entries:
        rule_id = entry.get("id")
        if isinstance(rule_id, str):
            seen[rule_id] = seen.get(rule_id, 0) + 1
        line = line_of(path, f'"{rule_id}"', seen.get(rule_id, 1)) if rule_id else 0
        where = f"{path}:{line}"
        if not rule_id or not isinstance(rule_id, str):
            raise RuleError(f"{where}: a rule without an id")
        phrases = entry.get("phrases")
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise RuleError(f"{where}: rule {rule_id!r} needs a list of non-empty phrases")
        phrases = with_sets(phrases, sets, f"{where}: rule {rule_id!r}")
        for phrase in phrases:
            problem = phrase_problem(phrase)
            if problem:
                raise RuleError(f"{where}: rule {rule_id!r}, phrase {phrase!r}: {problem}")
        examples = entry.get("examples", {})
        extra = {**shared, **{k: v for k, v in entry.items()
                              if k not in {"id", "phrases", "explain", "suggest", "examples"}}}
        if isinstance(extra.get("allow"), list) and all(isinstance(p, str) for p in extra["allow"]):
            extra["allow"] = with_sets(extra["allow"], sets, f"{where}: rule {rule_id!r}, allow")
        rules.append(PhraseRule(
            id=rule_id, concern=concern, name=name, lang=lang,
            phrases=tuple(p.strip() for p in phrases),
            explain=entry.get("explain", ""), suggest=entry.get("suggest", ""),
            examples_flag=tuple(examples.get("flag", ())),
            examples_pass=tuple(examples.get("pass", ())),
            extra=extra, file=str(path), line=line,
        ))
    return rules


# --- Plain rule files: SLA, owners of access requests, escalation -------------------------

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?$")


def sla_rules(rules_dir: Path) -> SlaRules:
    """`rules/sla.toml` read and checked; a RuleError names the file and line at fault."""
    path = rules_dir / "sla.toml"
    data = read_toml(path)
    calendars = {name: _calendar(path, name, table)
                 for name, table in _table(path, data, "calendars").items()}
    default = data.get("default_calendar")
    if default not in calendars:
        raise RuleError(f"{path}:{line_of(path, 'default_calendar')}: "
                        f"default_calendar {default!r} is not one of {sorted(calendars)}")
    targets_table = _table(path, data, "targets")
    missing = [p for p in PRIORITY_NAMES if p not in targets_table]
    if missing:
        raise RuleError(f"{path}:{line_of(path, '[targets')}: no targets for {', '.join(missing)}")
    targets = {p: _target(path, p, targets_table[p]) for p in PRIORITY_NAMES}
    overrides = tuple(_override(path, row, calendars) for row in data.get("override", []))
    internal = data.get("internal")
    return SlaRules(
        default_calendar=default, calendars=calendars, targets=targets, overrides=overrides,
        internal=_override(path, {**internal, "internal": True}, calendars) if internal else None,
    )


def _table(path: Path, data: dict, key: str) -> dict[str, Any]:
    table = data.get(key)
    if not isinstance(table, dict) or not table:
        raise RuleError(f"{path}:1: a [{key}.<name>] table is needed")
    return table


def _calendar(path: Path, name: str, table: dict) -> Calendar:
    where = f"{path}:{line_of(path, f'[calendars.{name}]')}"
    zone = table.get("timezone", "")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleError(f"{where}: calendar {name!r}: unknown timezone {zone!r}") from exc
    days = table.get("week", list(_WEEKDAYS[:5]))
    if not all(d in _WEEKDAYS for d in days):
        raise RuleError(f"{where}: calendar {name!r}: week days are written {_WEEKDAYS}")
    hours = table.get("hours", ["00:00", "24:00"] if table.get("around_the_clock") else None)
    opens, closes = _hours(where, name, hours)
    dated = {}
    for key in ("holidays", "working_days"):
        values = table.get(key, [])
        bad = [v for v in values if not isinstance(v, date)]
        if bad:
            raise RuleError(f"{path}:{line_of(path, str(bad[0]))}: calendar {name!r}: "
                            f"{key} are TOML dates like 2026-01-01, not {bad[0]!r}")
        dated[key] = frozenset(values)
    return Calendar(name=name, timezone=zone, weekdays=frozenset(_WEEKDAYS.index(d) for d in days),
                    opens=opens, closes=closes, holidays=dated["holidays"],
                    working_days=dated["working_days"],
                    around_the_clock=bool(table.get("around_the_clock", False)))


def _hours(where: str, name: str, hours: Any) -> tuple[time, time]:
    try:
        opens, closes = (time.fromisoformat(h) if h != "24:00" else time.max for h in hours)
    except (TypeError, ValueError) as exc:
        raise RuleError(f'{where}: calendar {name!r}: hours = ["09:00", "18:00"] expected, '
                        f"not {hours!r}") from exc
    if opens >= closes:
        raise RuleError(f"{where}: calendar {name!r}: opens at {opens} after closing at {closes}")
    return opens, closes


def parse_span(text: Any, where: str) -> Span:
    """ "1d", "4h", "2h30m" as a Span; a RuleError naming `where` otherwise."""
    match = _SPAN.match(text.strip()) if isinstance(text, str) and text.strip() else None
    if not match:
        raise RuleError(f'{where}: cannot read the duration {text!r} (write "30m", "4h", "2d")')
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return Span(days=days, minutes=hours * 60 + minutes)


_TARGET_FIELDS = ("first_response", "resolution", "cadence")


def _target(path: Path, priority: str, table: dict) -> Target:
    where = f"{path}:{line_of(path, f'[targets.{priority}]')}"
    fields = _target_fields(where, table)
    missing = [f for f in _TARGET_FIELDS if f not in fields]
    if missing:
        raise RuleError(f"{where}: targets for {priority!r} need {', '.join(missing)}")
    return Target(**fields)


def _target_fields(where: str, table: dict) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for key, value in table.items():
        if key in _TARGET_FIELDS:
            fields[key] = parse_span(value, where)
        elif key == "around_the_clock":
            fields[key] = bool(value)
        else:
            raise RuleError(f"{where}: unknown target key {key!r} "
                            f"(known: {', '.join(_TARGET_FIELDS)}, around_the_clock)")
    return fields


def _override(path: Path, row: dict, calendars: dict[str, Calendar]) -> Override:
    kind = "internal" if row.get("internal") else "client" if "client" in row else "domain"
    match = "" if kind == "internal" else str(row.get(kind, "")).strip().lower()
    line = line_of(path, "[internal]") if kind == "internal" else line_of(path, f'"{match}"')
    where = f"{path}:{line}"
    if kind != "internal" and (not match or (kind == "client" and "@" not in match)):
        raise RuleError(f"{where}: an [[override]] needs client = \"name@domain\" or domain = \"...\"")
    calendar = row.get("calendar")
    if calendar is not None and calendar not in calendars:
        raise RuleError(f"{where}: calendar {calendar!r} is not one of {sorted(calendars)}")
    targets = {}
    for priority, table in row.get("targets", {}).items():
        if priority not in PRIORITY_NAMES:
            raise RuleError(f"{where}: {priority!r} is not a priority ({', '.join(PRIORITY_NAMES)})")
        targets[priority] = _target_fields(where, table)
    return Override(kind=kind, match=match, calendar=calendar, targets=targets, where=where)


def owner_rules(rules_dir: Path) -> Owners:
    """`rules/owners.toml`: the default approver and the owner of each named system."""
    path = rules_dir / "owners.toml"
    data = read_toml(path)
    default = data.get("default", "")
    if not isinstance(default, str) or "@" not in default:
        raise RuleError(f"{path}:{line_of(path, 'default')}: default = \"owner@domain\" is needed")
    systems = []
    for row in data.get("system", []):
        name = row.get("name", "")
        where = f"{path}:{line_of(path, name) if name else 0}"
        owner = row.get("owner", "")
        if not name or "@" not in owner:
            raise RuleError(f"{where}: every [[system]] needs a name and an owner address")
        rules = []
        for lang, phrases in row.get("phrases", {}).items():
            if lang not in LANGUAGES:
                raise RuleError(f"{where}: phrases.{lang}: language is one of {LANGUAGES}")
            for phrase in phrases:
                problem = phrase_problem(phrase) if phrase.strip() else "empty phrase"
                if problem:
                    raise RuleError(f"{where}: system {name!r}, phrase {phrase!r}: {problem}")
            rules.append(PhraseRule(id=f"system:{name}", concern="owners", name="owners", lang=lang,
                                    phrases=tuple(phrases), file=str(path), line=int(where.rsplit(":", 1)[1])))
        systems.append(OwnedSystem(name=name, owner=owner.lower(), rules=tuple(rules)))
    return Owners(default=default.lower(), systems=tuple(systems))


def escalation_rules(rules_dir: Path) -> tuple[str, ...]:
    """`rules/escalation.toml`: the addresses told of a critical incident at once."""
    path = rules_dir / "escalation.toml"
    data = read_toml(path)
    oncall = data.get("oncall")
    if (not isinstance(oncall, list) or not oncall
            or not all(isinstance(a, str) and "@" in a for a in oncall)):
        raise RuleError(f"{path}:{line_of(path, 'oncall')}: oncall = [\"duty@domain\", ...] is needed")
    return tuple(a.strip().lower() for a in oncall)


# --- Quote marks: the vocabulary of reply headers, footers and signatures ---------------

# Folders of pattern rules rather than phrase rules (their own reader, below).
PATTERN_CONCERNS = ("quotes",)


def quote_marks(rules_dir: Path) -> list[MarkRule]:
    """Every rule in `rules/quotes/*.toml`; a RuleError names the file and line at fault."""
    folder = rules_dir / "quotes"
    if not folder.is_dir():
        raise RuleError(f"{folder}: missing (the marks of quoted mail are needed)")
    rules: list[MarkRule] = []
    for path in sorted(folder.glob("*.toml")):
        data = read_toml(path)
        for entry in data.get("rule", []):
            rule_id = entry.get("id") or ""
            where = f"{path}:{line_of(path, f'{chr(34)}{rule_id}{chr(34)}') if rule_id else 0}"
            role = entry.get("role", data.get("role", ""))
            words, patterns = entry.get("words", []), entry.get("patterns", [])
            if not rule_id or not role or not (words or patterns):
                raise RuleError(f"{where}: a quote rule needs an id, a role and words or patterns")
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise RuleError(f"{where}: rule {rule_id!r}, pattern {pattern!r}: {exc}") from exc
            examples = entry.get("examples", {})
            rules.append(MarkRule(id=rule_id, role=role, words=tuple(words),
                                  patterns=tuple(patterns),
                                  examples_flag=tuple(examples.get("flag", ())),
                                  examples_pass=tuple(examples.get("pass", ())), where=where))
    return rules
