"""The new words of a reply: quoted history, attribution lines and signatures taken away."""

from __future__ import annotations

import re

_QUOTED = re.compile(r"^\s*>")

# "On Mon, 3 Mar 2025 at 10:00, Ivan <ivan@x.ru> wrote:" (Gmail, Apple Mail, Thunderbird),
# "03.03.2025 10:00, Иван пишет:" (Thunderbird ru), "… написал(а):" (Apple Mail ru).
_WROTE = re.compile(
    r"(?:\bwrote|\bпишет|\bнаписала?|\bнаписал\(а\)|\bschrieb|\bécrit)\s*:\s*$", re.IGNORECASE
)
# Gmail ru: "пн, 3 мар. 2025 г. в 10:00, Иван <x@y>:"; Mail.ru: "Понедельник, 3 марта 2025,
# 10:00 +03:00 от Иван <x@y>:"; Yandex: "03.03.2025, 10:00, "Иван" <x@y>:".
_DATED_HEADER = re.compile(
    r"\d{4}\s*г\.?,?\s*в\s*\d{1,2}:\d{2}.{0,200}:\s*$"
    r"|\d{1,2}:\d{2}(?:\s*[+-]\d{2}:?\d{2})?\s+от\s.{0,200}@[^\s<>]+>?\s*:\s*$"
    r"|\d{1,2}:\d{2}.{0,200}<[^<>\s]+@[^<>\s]+>\s*:\s*$",
    re.IGNORECASE,
)
# A date or a time in the line: what makes "… wrote:" an attribution rather than prose.
_HAS_DATE = re.compile(r"\d{1,2}:\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}|\d{4}|@")
_MAY_WRAP = re.compile(r"^\s*(?:on\s|\w{2,11},\s|\d)", re.IGNORECASE)

_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:original message|исходное сообщение|forwarded message|"
    r"пересылаемое сообщение|перенаправленное сообщение|переадресованное сообщение)\s*-{2,}\s*$"
    r"|^\s*(?:begin forwarded message|начало переадресованного сообщения)\s*:\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From:" then "Sent:"/"Date:" and "To:"/"Subject:" within a few
# lines, in English or Russian, sometimes bold ("*From:*") after HTML conversion.
_BLOCK_FROM = re.compile(r"^\s*\*?(?:from|от)\s*:\*?\s*\S", re.IGNORECASE)
_BLOCK_SENT = re.compile(r"^\s*\*?(?:sent|date|отправлено|дата)\s*:", re.IGNORECASE)
_BLOCK_OTHER = re.compile(r"^\s*\*?(?:to|subject|кому|тема)\s*:", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")

# One short line naming a phone or a mail app: everything below it is not new words.
_MOBILE = re.compile(
    r"^\s*(?:sent (?:from|with|via)|get outlook for|отправлено (?:с|из|через)|послано (?:с|из))\b"
    r"(?=.*(?:iphone|ipad|android|mobile|phone|galaxy|samsung|huawei|xiaomi|outlook|mail|почт"
    r"|телефон|смартфон|мобильн|планшет|яндекс|proton|blackberry|windows)).{0,70}$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(r"^--\s?$")


def visible_text(text: str) -> str:
    """The new words of a reply, without quoted history and signature.

    >>> visible_text("It works.\\n\\nOn Mon, 3 Mar 2025, Ann <a@b.c> wrote:\\n> Try again")
    'It works.'

    When stripping would leave nothing (a mail that is all quote), the text is kept.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[: _history_start(lines)]
    lines = _without_quotes(lines)
    lines = _without_signature(lines)
    return _tidy(lines) or _tidy(text.strip().split("\n"))


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


def _history_start(lines: list[str]) -> int:
    """The index of the first line of history that is cut as a whole, or len(lines)."""
    for i, line in enumerate(lines):
        if not line.strip() or _QUOTED.match(line):
            continue
        if _SEPARATOR.match(line) or _MOBILE.match(line):
            return i
        if _BLOCK_FROM.match(line) and _is_header_block(lines, i):
            return _underscores_above(lines, i)
        span = _attribution_span(lines, i)
        if span and not _quote_follows(lines, i + span) and _is_strong(lines, i, span):
            return i
    return len(lines)


def _is_header_block(lines: list[str], i: int) -> bool:
    following = lines[i + 1 : i + 7]
    return any(_BLOCK_SENT.match(x) for x in following) and any(
        _BLOCK_OTHER.match(x) for x in following
    )


def _underscores_above(lines: list[str], i: int) -> int:
    """Outlook on the web draws a line of underscores above the header block: cut it too."""
    above = i - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _UNDERSCORES.match(lines[above]) else i


def _attribution_span(lines: list[str], i: int) -> int:
    """How many lines the attribution starting at line i takes (Gmail wraps long ones), or 0."""
    joined = lines[i].strip()
    for span in (1, 2, 3):
        if len(joined) < 400 and (_WROTE.search(joined) or _DATED_HEADER.search(joined)):
            return span
        if span == 1 and (joined.endswith(":") or not _MAY_WRAP.match(joined)):
            return 0
        if i + span >= len(lines) or not lines[i + span].strip():
            return 0
        joined = f"{joined} {lines[i + span].strip()}"
    return 0


def _is_strong(lines: list[str], i: int, span: int) -> bool:
    """An attribution with nothing quoted below it still ends the new words if it is dated."""
    joined = " ".join(x.strip() for x in lines[i : i + span])
    return bool(_DATED_HEADER.search(joined) or _HAS_DATE.search(joined))


def _quote_follows(lines: list[str], start: int) -> bool:
    for line in lines[start:]:
        if line.strip():
            return bool(_QUOTED.match(line))
    return False


def _without_quotes(lines: list[str]) -> list[str]:
    """Lines that are not quoted, and not the attribution lines that introduce a quote."""
    kept: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _QUOTED.match(line):
            i += 1
            continue
        span = _attribution_span(lines, i) if line.strip() else 0
        if span and _quote_follows(lines, i + span):
            i += span
            continue
        kept.append(line)
        i += 1
    return kept


def _without_signature(lines: list[str]) -> list[str]:
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line):
            return lines[:i]
    return lines


def _tidy(lines: list[str]) -> str:
    """Lines without trailing blanks, runs of blank lines squeezed to one, ends trimmed."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
