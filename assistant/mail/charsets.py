"""Mail bytes as text: charsets declared, mislabelled or guessed, and header values decoded."""

from __future__ import annotations

import binascii
import codecs
import email.charset
import re
from email.message import Message
from functools import lru_cache


# ---- charsets -------------------------------------------------------------------------

_WESTERN = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_HIGH_LATIN = re.compile(r"[\xc0-\xff]")
_RUSSIAN_FREQUENT = "оеаинтсрвлкм"
# Text codecs of Python that are no charset of mail: they turn escapes or labels into
# characters ("\\ud800" into a lone surrogate) or refuse any input.
_NOT_CHARSETS = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined"})
# Controls no reader sees: C0 except tab, line feed and carriage return; DEL; C1.
# PostgreSQL text cannot hold NUL at all, and a terminal obeys ESC and CSI.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """`text` as valid Unicode any store and terminal takes: lone surrogates (from UTF-7 or
    escapes) become U+FFFD, NUL and the other invisible controls go; tab and line ends stay.

    >>> clean("Help\\x00me \\ud800")
    'Helpme \\ufffd'
    """
    if text.isascii() and text.isprintable():
        return text
    return _SURROGATE.sub("\ufffd", _CONTROLS.sub("", text))


@lru_cache(maxsize=256)
def _codec(declared: str) -> str | None:
    """Python's name for a declared charset, or None when Python has no such text codec."""
    name = declared.strip().strip("\"'").lower()
    for candidate in (name, email.charset.ALIASES.get(name, name), name.removeprefix("x-")):
        try:
            b"x".decode(candidate)
        except UnicodeDecodeError:
            pass  # a real codec (utf-16) that needs more than one byte
        except (LookupError, ValueError):
            continue
        name = codecs.lookup(candidate).name
        return None if name in _NOT_CHARSETS else name
    return None


def decode_bytes(data: bytes, declared: str | None, what: str, notes: list[str]) -> str:
    """Bytes as text in the declared charset, else the most plausible one, noted in `notes`.

    Order: declared → UTF-8 → cp1251 or KOI8-R (whichever reads as Russian) → cp1252.
    A Western label (latin-1, cp1252) on bytes that are really UTF-8 or Russian is a
    common lie of old mailers, so 8-bit text under such a label is checked too.
    The text comes back `clean`: whatever the bytes, it holds no lone surrogate or NUL.
    """
    return clean(_decoded(data, declared, what, notes))


def _decoded(data: bytes, declared: str | None, what: str, notes: list[str]) -> str:
    codec = _codec(declared) if declared else None
    if declared and codec is None:
        notes.append(f"{what}: unknown charset {declared!r}")
    if codec:
        try:
            text = data.decode(codec)
        except UnicodeError:  # undecodable bytes, or a codec that refuses (utf-7 state)
            pass
        else:
            if codec not in _WESTERN or data.isascii() or not _lied_western(data, text):
                return text
    elif data.isascii():
        return data.decode("ascii")
    guessed, text = _guess(data)
    if declared or guessed != "utf-8":
        said = f" instead of the declared {declared}" if declared and codec else ""
        notes.append(f"{what}: read as {guessed}{said}")
    return text


def _lied_western(data: bytes, text: str) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return _reads_as_russian_misread(text)


def _reads_as_russian_misread(text: str) -> bool:
    """Latin-1 readings of Russian bytes are mostly letters like "Ïðèâåò"."""
    sample = text[:8192]
    high = len(_HIGH_LATIN.findall(sample))
    return high >= 3 and high >= len(_ASCII_LETTER.findall(sample))


def _guess(data: bytes) -> tuple[str, str]:
    """(charset, text) for 8-bit bytes of unknown charset."""
    try:
        return "utf-8", data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    sample = data[:8192]
    readings = {codec: sample.decode(codec, "replace") for codec in ("cp1251", "koi8-r")}
    best = max(readings, key=lambda codec: _russian_score(readings[codec]))
    reading = readings[best]
    cyrillic = len(_CYRILLIC.findall(reading))
    if _russian_score(reading) and cyrillic * 3 >= len(_ASCII_LETTER.findall(reading)):
        return best, data.decode(best, "replace")
    try:
        return "cp1252", data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1", data.decode("latin-1")


def _russian_score(text: str) -> int:
    # Read in the wrong one of cp1251/KOI8-R, Russian comes out in capitals: frequent
    # lower-case letters tell the right reading.
    return sum(text.count(letter) for letter in _RUSSIAN_FREQUENT)


# ---- headers --------------------------------------------------------------------------

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_NOT_BASE64 = re.compile(rb"[^A-Za-z0-9+/]")


def decode_header(value: str, what: str, notes: list[str]) -> str:
    """A header value as text: RFC 2047 encoded-words decoded leniently, raw 8-bit guessed.

    Adjacent words in one charset are decoded together, so a character split between two
    words (a common mailer bug) survives; bad base64 padding is repaired.

    >>> decode_header("=?utf-8?B?0J/RgNC40LLQtdGC?= =?utf-8?Q?_=D0=BC=D0=B8=D1=80?=", "Subject", [])
    'Привет мир'
    """
    if "=?" not in value:
        return raw_text(value, what, notes)
    out: list[str] = []
    pending: tuple[str, bytearray] | None = None  # same-charset words in a row
    position = 0
    for word in _ENCODED_WORD.finditer(value):
        between = value[position : word.start()]
        charset = word.group(1).split("*", 1)[0].lower()  # RFC 2231 adds "*language"
        # Whitespace between two encoded-words is not text (RFC 2047 section 6.2).
        if position == 0 or between.strip():
            out.extend(_flush(pending, what, notes))
            pending = None
            out.append(raw_text(between, what, notes))
        elif pending and pending[0] != charset:
            out.extend(_flush(pending, what, notes))
            pending = None
        data = _word_bytes(word.group(2), word.group(3))
        if pending:
            pending[1].extend(data)
        else:
            pending = (charset, bytearray(data))
        position = word.end()
    out.extend(_flush(pending, what, notes))
    out.append(raw_text(value[position:], what, notes))
    return clean("".join(out))


def _flush(pending: tuple[str, bytearray] | None, what: str, notes: list[str]) -> list[str]:
    return [decode_bytes(bytes(pending[1]), pending[0], what, notes)] if pending else []


def _word_bytes(encoding: str, encoded: str) -> bytes:
    data = encoded.encode("utf-8", "surrogateescape")
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    data = _NOT_BASE64.sub(b"", data)
    if len(data) % 4 == 1:
        data = data[:-1]
    return binascii.a2b_base64(data + b"=" * (-len(data) % 4))


def raw_text(value: str, what: str, notes: list[str]) -> str:
    """Header text as it came; 8-bit bytes (surrogates from the parser) decoded by guess."""
    if value.isascii():
        return clean(value)
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None, what, notes)


class Headers:
    """Header values as they came, by lower-case name (compat32 keeps them raw and in order)."""

    def __init__(self, message: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._values.setdefault(name.strip().lower(), []).append(unfold(str(value)))

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def raw(self, name: str) -> str | None:
        values = self._values.get(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return self._values.get(name, [])

    def first(self, name: str) -> str:
        """The first value as text without notes, "" when missing: for flags and ids."""
        value = self.raw(name)
        return raw_text(value, name, []).strip() if value else ""

    def text(self, name: str, notes: list[str]) -> str:
        """All values of the header, decoded, one per line."""
        title = name.title()
        return "\n".join(decode_header(value, title, notes) for value in self.all(name))


def unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "").strip()
