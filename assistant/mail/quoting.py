"""The new words of a reply: quoted history, attribution lines and signatures taken away.

The finder reads a reply's structure rather than a list of exact lines. History begins at
a separator ("-----Original Message-----"), at a header block ("From: … Sent: … To: …"),
or at an attribution ("On <date>, <who> wrote:", wrapped over lines or glued to the end of
a line of text) that nothing quoted follows. Quoted lines ("> …") and the attribution just
above them go wherever they stand, so answers written between quotes stay. What is left
loses its signature (`signatures`), and a typed sign-off with a name when it ends the
mail (not one above a quote: the mail goes on below it). The words of all of this, in many
languages, are data in rules/quotes/ (`quotemarks`). HTML arrives as text from `htmltext`,
which already turned the quote markup of mail programs into "> " lines.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from assistant.config import defaults
from assistant.mail import signatures
from assistant.mail.quotemarks import Marks, clean, marks_from

# "> " and Supercite's or The Bat!'s initials ("JD> ", "ИП> ") mark a quoted line.
_QUOTED = re.compile(r"^\s*[^\W\d_]{0,3}>")
# A line drawn across: Outlook's underscores, a row of dashes above a header block.
_RULE = re.compile(r"^\s*(?:[-_=*~—–]\s?){5,}\s*$")
_WRAP_LINES = 4          # an attribution wraps over at most this many lines
_WRAP_CHARS = 400


@dataclass(frozen=True)
class Reply:
    """A reply taken apart: what its writer wrote now, and the signature below it."""

    visible: str          # the new words; the whole text when nothing new was found
    signature: str = ""   # the signature or phone footer that was cut, without "-- "
    history: bool = False  # quoted history or a header block was cut
    only_history: bool = False  # nothing new was found: `visible` is the whole text
    signoff: str = ""     # a typed sign-off and name that ended the new words ("Thanks,\nAnn")


def read_reply(text: str, marks: Marks | None = None) -> Reply:
    """The reply's new words, its signature, and a typed sign-off that ended the mail.

    >>> read_reply("Works now.\\n\\n-- \\nAnn Lee\\n\\nOn Mon, 3 Mar 2025, Bo <b@c.d> wrote:\\n> x")
    Reply(visible='Works now.', signature='Ann Lee', history=True, only_history=False, signoff='')
    """
    marks = marks or default_marks()
    text = text.replace("\ufeff", "")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start, column = _history_start(lines, marks)
    kept = lines[:start] + ([lines[start][:column]] if column > 0 else [])
    kept_at = _unquoted(kept, marks)
    without = [kept[k] for k in kept_at]
    body, signature = signatures.split(without, marks)
    signoff = ""
    words = max((n + 1 for n, line in enumerate(body) if clean(line)), default=0)
    if start == len(lines) and _nothing_quoted_after(kept_at, words, len(kept)):
        body, signoff = signatures.split_signoff(body, marks, below=bool(signature))
    visible = _tidy(body)
    history = start < len(lines) or len(without) < len(kept)
    if not visible and _tidy(without):    # all of it looked like a signature: it is the text
        visible, signature, signoff = _tidy(without), "", ""
    if not visible:
        return Reply(_tidy(text.strip().split("\n")), "", history, only_history=True)
    return Reply(visible, signature, history, signoff=signoff)


def visible_text(text: str, marks: Marks | None = None) -> str:
    """The new words of a reply, without quoted history and signature.

    >>> visible_text("It works.\\n\\nOn Mon, 3 Mar 2025, Ann <a@b.c> wrote:\\n> Try again")
    'It works.'

    When stripping would leave nothing (a mail that is all quote), the text is kept.
    """
    return read_reply(text, marks).visible


def own_words(text: str, marks: Marks | None = None) -> str:
    """What may be quoted back to the writer: the new words, or "" when the text holds
    nothing but history (a stored visible text of such a mail is the whole text)."""
    reply = read_reply(text, marks)
    return "" if reply.only_history else reply.visible


@functools.lru_cache(maxsize=1)
def default_marks() -> Marks:
    """The marks shipped in rules/quotes/ (or those of the configured rules folder).

    Kept once per process: building the default settings and resolving the folder for
    every mail cost more than reading the reply itself."""
    return marks_from(defaults().rules_dir)


def unflow(text: str, delsp: bool = False) -> str:
    """Plain text sent as format=flowed with its soft line breaks joined (RFC 3676 section 4)."""
    out: list[str] = []
    # A paragraph's lines are joined once, at its end: adding each line to a string made
    # 2 MB of soft line breaks cost minutes.
    pending: tuple[int, list[str]] | None = None
    for line in text.split("\n"):
        content = line.lstrip(">")
        depth = len(line) - len(content)
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        soft = content.endswith(" ") and content != "-- "
        if pending is not None and pending[0] != depth:
            out.append(_requote(pending[0], "".join(pending[1])))
            pending = None
        pieces = pending[1] if pending is not None else []
        pieces.append(content[:-1] if soft and delsp else content)
        if soft:
            pending = (depth, pieces)
        else:
            out.append(_requote(depth, "".join(pieces)))
            pending = None
    if pending is not None:
        out.append(_requote(pending[0], "".join(pending[1])))
    return "\n".join(out)


def _requote(depth: int, content: str) -> str:
    return f"{'>' * depth} {content}" if depth else content


# ---- where the history begins --------------------------------------------------------

def _history_start(lines: list[str], marks: Marks) -> tuple[int, int]:
    """(line, column) where history cut as a whole begins; (len(lines), 0) when none.

    A column above 0 means the history begins inside that line (a glued attribution).
    """
    for i, line in enumerate(lines):
        text = clean(line)
        if not text or _QUOTED.match(line):
            continue
        if marks.is_separator(text) or _header_block(lines, i, marks):
            return _rule_above(lines, i), 0
        column = _glued(lines, i, marks)
        if column > 0:
            return i, column
        span, strength = _attribution(lines, i, marks)
        if span:
            if _quote_follows(lines, i + span) or not _new_words_above(lines, i):
                continue
            if strength == "strong":
                return _rule_above(lines, i), 0
    return len(lines), 0


def _header_block(lines: list[str], i: int, marks: Marks) -> bool:
    """Whether a block of header lines ("From:", "Sent:", "To:", "Subject:") starts at i."""
    first = marks.field_role(lines[i])
    if first is None or first in ("cc", "other"):
        return False
    roles, values, strays = [first], [clean(lines[i])], 0
    for line in lines[i + 1 : i + 12]:
        text = clean(line.lstrip("> ")) if _QUOTED.match(line) and _QUOTED.match(lines[i]) \
            else clean(line)
        role = marks.field_role(text) if text else None
        if role:
            roles.append(role)
            values.append(text)
        elif not text and len(roles) >= 2 and strays == 0:
            break
        elif text and strays < 2 and len(text) < 120:
            strays += 1          # a wrapped value (a long list of addresses)
        elif not text:
            continue
        else:
            break
    distinct = set(roles) - {"other"}
    if len(distinct) >= 3:
        return True
    evidence = any(re.search(r"@|\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b", v) for v in values)
    return len(distinct) == 2 and bool(distinct & {"from", "date"}) and evidence


def _attribution(lines: list[str], i: int, marks: Marks) -> tuple[int, str]:
    """(lines taken, "strong" | "weak") for an attribution starting at line i, or (0, "").

    Mail programs wrap a long one: "On Tue, … John Smith\\n\\n<\\nmailto:john@…>\\n> wrote:".
    """
    joined = clean(lines[i])
    alone = marks.attribution(joined)
    if alone == "strong" or alone and joined.endswith((":", "：")):
        return 1, alone
    if joined.endswith((":", "!", "?")) or not marks.may_open_attribution(joined):
        return (1, alone) if alone else (0, "")
    span, strength = _wrapped(lines, i, joined, marks)
    return (span, strength) if span else ((1, alone) if alone else (0, ""))


def _wrapped(lines: list[str], i: int, joined: str, marks: Marks) -> tuple[int, str]:
    """An attribution that starts at line i and goes on over the next lines, or (0, "")."""
    j = i + 1
    for _ in range(_WRAP_LINES - 1):
        while j < len(lines) and not clean(lines[j]) and j - i < _WRAP_LINES + 1:
            j += 1
        if j >= len(lines):
            return 0, ""
        piece = clean(lines[j])
        if _QUOTED.match(lines[j]):
            piece = clean(lines[j].lstrip().lstrip(">"))
            if not (len(piece) < 40 and piece.endswith((":", "："))):
                return 0, ""
        if len(piece) > 160:
            return 0, ""
        if marks.attribution(piece) and (j > i + 1 and not clean(lines[j - 1])
                                         or joined.endswith((".", "!", "?", "…"))):
            return 0, ""     # a whole attribution below a paragraph of text
        joined = f"{joined} {piece}"
        if len(joined) > _WRAP_CHARS:
            return 0, ""
        strength = marks.attribution(joined)
        if strength == "strong" or strength and joined.endswith((":", "：")):
            # "Hi,\nAnn wrote:" is a greeting above an attribution, not one wrapped line.
            if not _opens_wrapped(lines[i], marks):
                return 0, ""
            return j - i + 1, strength
        j += 1
    return 0, ""


def _opens_wrapped(line: str, marks: Marks) -> bool:
    text = clean(line)
    return bool(marks.intro.match(text) or marks.quoting.match(text)
                or re.search(r"\d{1,2}:\d{2}|\b(?:19|20)\d{2}\b|@|<$", text))


def _glued(lines: list[str], i: int, marks: Marks) -> int:
    """Where an attribution glued to the end of line i begins (it may wrap on), or 0."""
    text = clean(lines[i])
    if len(text) < 12:
        return 0
    tail_lines = [clean(x) for x in lines[i + 1 : i + 3]]
    for extra in range(len(tail_lines) + 1):
        if extra and not tail_lines[extra - 1]:
            break
        candidate = " ".join([text, *tail_lines[:extra]]).strip()
        column = marks.glued_attribution(candidate)
        if 0 < column < len(text):
            return _column_in(lines[i], text[:column])
    return 0


def _column_in(line: str, cleaned_prefix: str) -> int:
    """The column of `line` that matches the end of its cleaned prefix."""
    words = cleaned_prefix.split()
    position = 0
    for word in words:
        found = line.find(word, position)
        position = found + len(word) if found >= 0 else position
    return max(position, 1)


def _rule_above(lines: list[str], i: int) -> int:
    """A line drawn across just above the history (Outlook's underscores) goes with it."""
    above = i - 1
    while above >= 0 and not clean(lines[above]):
        above -= 1
    return above if above >= 0 and _RULE.match(clean(lines[above])) else i


def _new_words_above(lines: list[str], i: int) -> bool:
    return any(clean(line) and not _QUOTED.match(line) for line in lines[:i])


def _nothing_quoted_after(kept_at: list[int], count: int, total: int) -> bool:
    """Whether no quoted line of the `total` was dropped below the first `count` unquoted
    ones (the last of them with words): their end is the end of the mail, and a sign-off
    there ends it (one above a quote does not)."""
    if count == 0:
        return True
    return kept_at[count - 1:] == list(range(kept_at[count - 1], total))


def _quote_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if clean(line):
            return bool(_QUOTED.match(line))
    return False


# ---- quotes between the answers ------------------------------------------------------

def _unquoted(lines: list[str], marks: Marks) -> list[int]:
    """The indexes of lines that are not quoted, and not the attribution lines that
    introduce a quote (or stand first, above an unquoted original: nothing new was written
    above them)."""
    kept: list[str] = []
    at: list[int] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _QUOTED.match(line):
            i += 1
            continue
        span, strength = _attribution(lines, i, marks) if clean(line) else (0, "")
        if span and (_quote_follows(lines, i + span)
                     or strength == "strong" and not _new_words_above(kept, len(kept))):
            i += span
            continue
        kept.append(line)
        at.append(i)
        i += 1
    return at


def _tidy(lines: list[str]) -> str:
    """Lines without trailing blanks, runs of blank lines squeezed to one, ends trimmed."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if not clean(line):
            line = ""
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()

