"""The words of a rule phrase: what each may be, and the named sets a rule file declares.

The syntax is described in `assistant.policy.rulebook`; this module only reads it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from assistant.errors import RuleError


def line_of(path: Path, needle: str) -> int:
    """The first line of `path` holding `needle` (0 when absent or unreadable)."""
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                return number
    except OSError:
        pass
    return 0


# A word may hold an apostrophe inside ("can't"); one wrapped in them is matched exactly.
_PLAIN = r"'[^'\s\[\]|<>]+'|[^\s'*\[\]|<>@]+(?:'[^\s'*\[\]|<>]+)*"
_BASE = rf"(?:{_PLAIN})\*?|\[(?:{_PLAIN})(?:\|(?:{_PLAIN}))*\]"
_TAGS = r"<[A-Za-z0-9]+(?:,[A-Za-z0-9]+)*>"
_WORD = re.compile(rf"^(?P<base>{_BASE})?(?P<tags>{_TAGS})?$|^\.\.\.$")
_SET_NAME = re.compile(r"@([a-z_]+)")


def phrase_words(phrase: str) -> list[tuple[str, tuple[str, ...]]]:
    """A phrase's words, each split into its base (lemma, `[..|..]`, 'exact', prefix*) and tags.

    >>> phrase_words("позвонить<impr> ...")
    [('позвонить', ('impr',)), ('...', ())]
    """
    words = []
    for word in phrase.split():
        found = _WORD.match(word)
        tags = found.group("tags") if found and found.group("tags") else ""
        base = word[:len(word) - len(tags)]
        words.append((base, tuple(tags.strip("<>").split(",")) if tags else ()))
    return words


def phrase_problem(phrase: str) -> str | None:
    """Why a phrase cannot be compiled, or None when it can."""
    words = phrase.split()
    if words[0] == "..." or words[-1] == "...":
        return "'...' only goes between words"
    for word in words:
        if not _WORD.match(word) or not word:
            return f"cannot read the word {word!r}"
        if word.startswith("[") and ("'" in word) and not all(
                item.startswith("'") for item in word.split(">")[0].strip("[]").split("|")):
            return f"{word!r}: a [..|..] set holds either lemmas or 'exact' words, not both"
    return None


def word_sets(path: Path, table: Any) -> dict[str, list[str]]:
    """`sets.<name> = [...]` of a rule file, checked: names of word classes its phrases use."""
    if not isinstance(table, dict):
        raise RuleError(f"{path}:{line_of(path, 'sets')}: write sets as sets.<name> = [\"word\", ...]")
    for name, items in table.items():
        if (not re.fullmatch(r"[a-z_]+", name) or not isinstance(items, list) or not items
                or not all(isinstance(i, str) and i.strip() and "@" not in i for i in items)):
            raise RuleError(f"{path}:{line_of(path, name)}: sets.{name} must be a list of words or phrases")
    return {name: [" ".join(i.split()) for i in items] for name, items in table.items()}


def with_sets(phrases: list[str], sets: dict[str, list[str]], where: str) -> list[str]:
    """Phrases with every `@name` replaced: one `[..|..]` for the set's single words, and
    one more phrase per item of several words (tags after `@name` go to that word)."""
    done, waiting = [], [p.strip() for p in phrases]
    while waiting:
        phrase = waiting.pop(0)
        found = _SET_NAME.search(phrase)
        if not found:
            done.append(phrase)
            continue
        name = found.group(1)
        if name not in sets:
            raise RuleError(f"{where}: phrase {phrase!r} names @{name}, but the file has no sets.{name}")
        head, tail = phrase[:found.start()], phrase[found.end():]
        tags = re.match(_TAGS, tail)
        tags_text = tags.group(0) if tags else ""
        tail = tail[len(tags_text):]
        single = [i for i in sets[name] if " " not in i]
        several = [i for i in sets[name] if " " in i]
        if single:
            waiting.append(f"{head}[{'|'.join(single)}]{tags_text}{tail}" if len(single) > 1
                           else f"{head}{single[0]}{tags_text}{tail}")
        waiting.extend(f"{head}{item}{tags_text}{tail}" for item in several)
    return list(dict.fromkeys(done))
