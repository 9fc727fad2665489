"""The signature at the end of a reply's new words: after "-- ", a phone's footer, a block
of name, position and phone, or a company's confidentiality notice; and the typed sign-off
("Thanks,\\nRoman", «С уважением, Иван») that ends a mail (`split_signoff`)."""

from __future__ import annotations

import re

from assistant.mail.quotemarks import Marks, clean

# "-- " is the standard delimiter (RFC 3676 section 4.3); people also type "--" and "---".
_STANDARD = re.compile(r"^-- ?$")
_TYPED = re.compile(r"^(?:-{2,3}|—|–|_{2,6})$")
# "-Roman", "- Lev.", "-- Bob", "~Ann" as the last line: a typed name that stands for a
# signature.
_DASH_NAME = re.compile(
    r"^(?:-{1,2}|[–—~]|//)\s?[^\W\d_][\w.'-]{1,20}(?: [^\W\d_][\w.'-]{0,20})?\.?$")
# "Cheers -- Bob", "Thanks - Ann": a sign-off and the name on one line, a dash between.
_NAME_AFTER_DASH = re.compile(r"\s(?:-{1,2}|[–—~])\s?(?P<name>[^-–—~\s].*)$")
# The parts of a one-line signature: "John Smith | Acme Inc | +1 555 0100".
_PARTS = re.compile(r"\s[|·•]\s")
_MAX_SIGNOFF_LINE = 32      # "Заранее спасибо за помощь,", not a sentence
# Lines that only draw a line or hold no letter ("***", "####", "~~~~"): the end of a text.
_NO_WORDS = re.compile(r"^[\W_]{3,}$")
_MAX_TYPED_SIGNATURE = 12   # non-blank lines below "--" or "---" that still make a signature
_MAX_BLOCK = 7              # lines of an undelimited signature block


def split(lines: list[str], marks: Marks) -> tuple[list[str], str]:
    """(the lines before the signature, the signature's text) — ("…", "") when none.

    >>> split(["Done.", "", "-- ", "Ann Lee", "+1 555 0100"], marks)   # doctest: +SKIP
    (['Done.', ''], 'Ann Lee\\n+1 555 0100')
    """
    cleaned = [clean(line) for line in lines]
    cut = _delimited(cleaned, marks)
    if cut is not None:
        start, skip = cut
        return lines[:start], _text(lines[start + skip:])
    end = _disclaimer(cleaned, marks)
    start = _block(cleaned[:end], marks)
    if start is not None:
        return lines[:start], _text(lines[start:end])
    return lines[:end], ""


def split_signoff(lines: list[str], marks: Marks, below: bool = False) -> tuple[list[str], str]:
    """(the lines before a typed sign-off that ends them, the sign-off) — (lines, "") when none.

    "Thanks,\\nRoman", «Спасибо!\\nОльга», "Cheers -- Bob" at the very end are the
    writer's sign-off, not new words. With `below` (a signature or a footer was cut right
    under these lines) a sign-off alone goes too ("Regards,\\n\\nSent from my iPhone").
    """
    cleaned = [clean(line) for line in lines]
    start = _signoff(cleaned, marks)
    if start is None and below:
        start = _bare_signoff_at_end(cleaned, marks)
    if start is None:
        return lines, ""
    return lines[:start], _text(lines[start:])


def _bare_signoff_at_end(cleaned: list[str], marks: Marks) -> int | None:
    end = len(cleaned)
    while end > 0 and not cleaned[end - 1]:
        end -= 1
    if end >= 2 and len(cleaned) - end <= 1 and _bare_signoff(cleaned[end - 1], marks) \
            and _text_above(cleaned, end - 1):
        return end - 1
    return None


def _delimited(cleaned: list[str], marks: Marks) -> tuple[int, int] | None:
    """(first line of the signature, lines of delimiter to skip) for a delimiter or a footer."""
    for i, text in enumerate(cleaned):
        if i == 0 and not any(cleaned[1:]):
            return None
        if (_STANDARD.match(text) or _TYPED.match(text) and _short_below(cleaned, i)) and i > 0:
            return i, _delimiters_from(cleaned, i)
        if marks.is_footer(text):
            return i, 0
        if _NO_WORDS.match(text) and not any(_has_letters(x) for x in cleaned[i:]):
            return i, len(cleaned) - i
        if _DASH_NAME.match(text) and i > 0 and _only_footers_below(cleaned, i, marks):
            return i, 0
    return None


def _delimiters_from(cleaned: list[str], i: int) -> int:
    """How many lines from i are delimiters or blank ("-- " from the markup, then the
    signature's own "-- ")."""
    count = 0
    while i + count < len(cleaned) and (not cleaned[i + count] or _STANDARD.match(
            cleaned[i + count]) or _TYPED.match(cleaned[i + count])):
        count += 1
    return count


def _short_below(cleaned: list[str], i: int) -> bool:
    return sum(1 for x in cleaned[i + 1:] if x) <= _MAX_TYPED_SIGNATURE


def _only_footers_below(cleaned: list[str], i: int, marks: Marks) -> bool:
    return all(not x or marks.is_footer(x) for x in cleaned[i + 1:])


def _has_letters(text: str) -> bool:
    return any(ch.isalpha() for ch in text)


def _disclaimer(cleaned: list[str], marks: Marks) -> int:
    """Where a confidentiality notice at the end begins (after a blank line), or the end."""
    paragraph_start = None
    for i, text in enumerate(cleaned):
        if not text:
            paragraph_start = None
            continue
        if paragraph_start is None:
            paragraph_start = i
            if i > 0 and marks.is_disclaimer(" ".join(cleaned[i:i + 4])):
                return i
    return len(cleaned)


def _block(cleaned: list[str], marks: Marks) -> int | None:
    """The first line of an undelimited signature block at the end, or None.

    The block is the last paragraph: a name (or a sign-off and a name) and lines that carry
    a position, a company, a phone, an address or a site, or one line of such parts split
    by bars. A sign-off with only a name ("Спасибо,\\nАнна") is no block: `split_signoff`
    takes it where it ends the mail.
    """
    end = len(cleaned)
    while end > 0 and not cleaned[end - 1]:
        end -= 1
    start = end
    while start > 0 and cleaned[start - 1]:
        start -= 1
    block = cleaned[start:end]
    if len(block) == 1 and start > 0:         # "John Smith | Acme Inc | +1 555 0100"
        block = [x.strip() for x in _PARTS.split(block[0])]
    if start == 0 or not 2 <= len(block) <= _MAX_BLOCK or any(len(x) > 80 for x in block):
        return None
    first = 1 if marks.is_signoff(block[0]) else 0
    if first >= len(block) or not _is_name(block[first]):
        return None
    if not any(marks.is_signature_line(x) for x in block[first + 1:]):
        return None
    return start


def _signoff(cleaned: list[str], marks: Marks) -> int | None:
    """The first line of a typed sign-off and name that end the text, or None.

    "Thanks,\\nRoman", «Спасибо!\\nОльга», "Cheers -- Bob": a short sign-off line (a word
    of the rules and at most punctuation after it) and a name below it, or the name after a
    dash on the same line, with no text after them. A sign-off alone ("Cheers") stays: it
    carries no name and may be the writer's last sentence.
    """
    end = len(cleaned)
    while end > 0 and not cleaned[end - 1]:
        end -= 1
    if end < 2:
        return None
    last = cleaned[end - 1]
    dashed = _NAME_AFTER_DASH.search(last)
    if dashed and _bare_signoff(last[:dashed.start()], marks) and _is_name(dashed["name"]):
        return end - 1
    named = marks.closing_name(last)          # «С уважением, Иван Петров»
    if named and _is_name(named) and _text_above(cleaned, end - 1):
        return end - 1
    if (_is_name(last) or _DASH_NAME.match(last)) and end >= 3 \
            and _bare_signoff(cleaned[end - 2], marks) and _text_above(cleaned, end - 2):
        return end - 2
    return None


def _bare_signoff(text: str, marks: Marks) -> bool:
    """ "Thanks,", "С уважением", "Viele Grüße!" — a sign-off of the rules and nothing more."""
    text = text.strip()
    found = marks.signoff.match(text)
    return bool(found) and len(text) <= _MAX_SIGNOFF_LINE and not text[found.end():].strip(
        " ,.!;:)-–—。！，、")


def _text_above(cleaned: list[str], i: int) -> bool:
    """Whether new words stand above line i and end before it: a blank line or the end of
    a sentence, not a list going on ("Steps:\\nBest\\nWorst")."""
    above = cleaned[i - 1] if i > 0 else ""
    ended = not above or above.endswith((".", "!", "?", "…", ")", ":)", "))"))
    return ended and any(_has_letters(x) for x in cleaned[:i])


def _is_name(text: str) -> bool:
    """ "Иван Петров", "John Miller", "Anna" — words that start with capitals, no digits."""
    words = text.rstrip(",.").split()
    if not 1 <= len(words) <= 4 or any(ch.isdigit() for ch in text) or len(text) > 40:
        return False
    return all(w[0].isupper() or w.lower() in ("van", "de", "von", "der", "la", "di") for w in words)


def _text(lines: list[str]) -> str:
    out = [line.rstrip() for line in lines]
    return "\n".join(out).strip()
