"""The only reader of rules/: typed rules, and errors that name the file and line.

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
'single quotes' matches that exact word, not its lemma.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import RuleError

LANGUAGES = ("ru", "en")


@dataclass(frozen=True)
class PhraseRule:
    id: str
    concern: str            # the folder: "priority", "category", "tone", ...
    name: str               # the file's stem without the language: "blame", "critical"
    lang: str
    phrases: tuple[str, ...]
    explain: str = ""
    suggest: str = ""
    examples_flag: tuple[str, ...] = ()
    examples_pass: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's contents, or a RuleError naming the file and the line at fault."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RuleError(f"{path}: missing") from exc
    except UnicodeDecodeError as exc:
        raise RuleError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{path}: {exc}") from exc


def line_of(path: Path, needle: str) -> int:
    """The first line of `path` that contains `needle` (1-based; 0 when absent)."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
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
    shared = {k: v for k, v in data.items() if k != "rule"}
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise RuleError(f"{path}:1: use [[rule]] tables")
    rules = []
    for entry in entries:
        rule_id = entry.get("id")
        line = line_of(path, f'"{rule_id}"') if rule_id else 0
        where = f"{path}:{line}"
        if not rule_id or not isinstance(rule_id, str):
            raise RuleError(f"{where}: a rule without an id")
        phrases = entry.get("phrases")
        if not phrases or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise RuleError(f"{where}: rule {rule_id!r} needs a list of non-empty phrases")
        for phrase in phrases:
            problem = phrase_problem(phrase)
            if problem:
                raise RuleError(f"{where}: rule {rule_id!r}, phrase {phrase!r}: {problem}")
        examples = entry.get("examples", {})
        extra = {**shared, **{k: v for k, v in entry.items()
                              if k not in {"id", "phrases", "explain", "suggest", "examples"}}}
        rules.append(PhraseRule(
            id=rule_id, concern=concern, name=name, lang=lang,
            phrases=tuple(p.strip() for p in phrases),
            explain=entry.get("explain", ""), suggest=entry.get("suggest", ""),
            examples_flag=tuple(examples.get("flag", ())),
            examples_pass=tuple(examples.get("pass", ())),
            extra=extra, file=str(path), line=line,
        ))
    return rules


_WORD = re.compile(r"^('[^' ]+'|[^\s'*]+\*?|\.\.\.)$")


def phrase_problem(phrase: str) -> str | None:
    """Why a phrase cannot be compiled, or None when it can."""
    words = phrase.split()
    if words[0] == "..." or words[-1] == "...":
        return "'...' only goes between words"
    for word in words:
        if not _WORD.match(word):
            return f"cannot read the word {word!r}"
    return None
