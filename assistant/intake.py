"""Raw bytes to an incoming-mail value: headers, decoded text, attachments, visible part, flags."""

from __future__ import annotations

import binascii
import codecs
import email
import email.charset
import email.errors
import hashlib
import itertools
import logging
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.policy import compat32
import email.utils
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache

from assistant import htmltext, quoting, tnef
from assistant.errors import Unparseable

log = logging.getLogger("assistant.intake")

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 2**20
# Raw values kept for triage, under these lower-case names.
KEPT_HEADERS = (
    "auto-submitted", "precedence", "list-id", "importance", "x-priority",
    "authentication-results", "return-path",
)
# Without at least one of these the bytes are not a mail, whatever else they hold.
_MAIL_HEADERS = frozenset({
    "from", "sender", "to", "cc", "subject", "date", "message-id", "received", "return-path",
    "mime-version", "content-type", "delivered-to", "reply-to", "in-reply-to", "references",
})
_MAX_DEPTH = 30  # deeper MIME nesting is an attack or a loop, not a letter
# html.parser reads about a megabyte a second; nobody writes a longer letter by hand.
_MAX_HTML_READ = 1_000_000


@dataclass(frozen=True)
class Part:
    """An attachment or inline image. `data` is None when it was over the size limit."""

    filename: str
    content_type: str
    size: int
    data: bytes | None
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One mail as the rest of the walk sees it. Addresses are lower-case; ids without <>."""

    message_id: str
    content_hash: str                  # sha256 hex of the raw bytes
    size: int
    from_address: str
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None       # aware; None when missing or unreadable
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""                     # the whole body as text (HTML turned into text)
    html: str | None = None            # the HTML part as sent, when there was one
    visible_text: str = ""             # new text only: no quoted history, no signature
    attachments: tuple[Part, ...] = ()
    auto_reply: bool = False
    bounce: bool = False
    mailing_list: bool = False
    loop: bool = False                 # our own outgoing mail came back
    derived_message_id: bool = False   # the mail had none; this one is stable for its bytes
    importance: str | None = None      # "high" | "low" from Importance / X-Priority / Priority
    authentication_failed: bool = False  # Authentication-Results: dmarc or spf fail for From
    headers: dict[str, str] = field(default_factory=dict)  # a few raw headers, for triage
    notes: tuple[str, ...] = ()        # what intake had to guess or skip, said for people

    @property
    def is_system(self) -> bool:
        """Mail that is kept but never ticketed and never answered automatically."""
        return self.auto_reply or self.bounce or self.mailing_list or self.loop


def parse(
    raw: bytes,
    *,
    own_addresses: frozenset[str] = frozenset(),
    max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
) -> Incoming:
    """How one raw mail reads: sender, subject, text, attachments and flags.

    Anything that is recognisably mail parses, and `notes` says what had to be guessed
    (a charset, a missing Message-ID, an attachment over `max_attachment_bytes` kept by
    name and size only). Raises `Unparseable` with a one-line reason only for bytes that
    are not mail at all: empty, binary, or without a single mail header.
    """
    message = _read(raw)
    headers = _Headers(message)
    notes: list[str] = []
    content_hash = hashlib.sha256(raw).hexdigest()
    body = _Body(max_attachment_bytes, notes)
    body.collect(message, 0)
    text, html = body.text_and_html()
    from_name, from_address = _sender(headers, notes)
    message_id, derived = _message_id(headers.raw("message-id"), content_hash, notes)
    subject = decode_header(headers.raw("subject") or "", "Subject", notes).strip()
    incoming = Incoming(
        message_id=message_id,
        content_hash=content_hash,
        size=len(raw),
        from_address=from_address,
        from_name=from_name,
        to=_addresses(headers, "to", notes),
        cc=_addresses(headers, "cc", notes),
        reply_to=_addresses(headers, "reply-to", notes),
        subject=subject,
        date=_date(headers.raw("date"), notes),
        in_reply_to=next(iter(_ids(headers.raw("in-reply-to") or "")), None),
        references=tuple(_ids(headers.raw("references") or "")),
        text=text,
        html=html,
        visible_text=quoting.visible_text(text),
        attachments=tuple(body.attachments),
        auto_reply=_auto_reply(headers, message, subject, notes),
        bounce=_bounce(headers, message, from_address, notes),
        mailing_list=_mailing_list(headers, notes),
        loop=_loop(headers, from_address, own_addresses),
        derived_message_id=derived,
        importance=_importance(headers),
        authentication_failed=_authentication_failed(headers.all("authentication-results")),
        headers={name: headers.text(name, []) for name in KEPT_HEADERS if name in headers},
        notes=tuple(dict.fromkeys(notes)),
    )
    log.debug("parsed <%s>: %d attachments; notes: %s",
              message_id, len(incoming.attachments), "; ".join(incoming.notes) or "none")
    return incoming


def _read(raw: bytes) -> Message:
    """The message tree, or Unparseable when the bytes are not mail."""
    if not raw.strip():
        raise Unparseable("empty message")
    end_of_head = raw.find(b"\n\n")
    head = raw[: end_of_head if 0 < end_of_head < 8192 else 8192]
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    if controls > len(head) // 20:
        raise Unparseable(f"binary data, not mail ({controls} control bytes in the header)")
    try:
        message = email.message_from_bytes(raw.lstrip(b"\r\n"), policy=compat32)
    except RecursionError:
        raise Unparseable("MIME structure nested too deeply to read") from None
    names = {name.lower() for name in message.keys()}
    if not names:
        raise Unparseable("no headers: the first line is not a header")
    if not names & _MAIL_HEADERS:
        raise Unparseable(f"no mail headers (only {', '.join(sorted(names)[:5])})")
    return message


_CONTROL_BYTES = bytes(b for b in range(32) if b not in b"\t\n\r") + b"\x7f"


class _Headers:
    """Header values as they came, by lower-case name (compat32 keeps them raw and in order)."""

    def __init__(self, message: Message) -> None:
        self._values: dict[str, list[str]] = {}
        for name, value in message.raw_items():
            self._values.setdefault(name.strip().lower(), []).append(_unfold(str(value)))

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
        return _raw_text(value, name, []).strip() if value else ""

    def text(self, name: str, notes: list[str]) -> str:
        """All values of the header, decoded, one per line."""
        title = name.title()
        return "\n".join(decode_header(value, title, notes) for value in self.all(name))


def _unfold(value: str) -> str:
    return value.replace("\r", "").replace("\n", "").strip()


# ---- charsets -------------------------------------------------------------------------

_WESTERN = frozenset({"ascii", "latin-1", "iso8859-1", "cp1252", "iso8859-15"})
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_HIGH_LATIN = re.compile(r"[\xc0-\xff]")
_RUSSIAN_FREQUENT = "оеаинтсрвлкм"


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
        return codecs.lookup(candidate).name
    return None


def decode_bytes(data: bytes, declared: str | None, what: str, notes: list[str]) -> str:
    """Bytes as text in the declared charset, else the most plausible one, noted in `notes`.

    Order: declared → UTF-8 → cp1251 or KOI8-R (whichever reads as Russian) → cp1252.
    A Western label (latin-1, cp1252) on bytes that are really UTF-8 or Russian is a
    common lie of old mailers, so 8-bit text under such a label is checked too.
    """
    codec = _codec(declared) if declared else None
    if declared and codec is None:
        notes.append(f"{what}: unknown charset {declared!r}")
    if codec:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
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
        return _raw_text(value, what, notes)
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
            out.append(_raw_text(between, what, notes))
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
    out.append(_raw_text(value[position:], what, notes))
    return "".join(out).replace("\x00", "")


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


def _raw_text(value: str, what: str, notes: list[str]) -> str:
    """Header text as it came; 8-bit bytes (surrogates from the parser) decoded by guess."""
    if value.isascii():
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"), None, what, notes)


# ---- who, which, when -----------------------------------------------------------------

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _sender(headers: _Headers, notes: list[str]) -> tuple[str, str]:
    """(name, lower-case address) of From, else of Sender or Return-Path, noted."""
    for name in ("from", "sender", "return-path"):
        for display, address in _parsed_addresses(headers.all(name), name.title(), notes):
            if name != "from":
                notes.append(f"no usable From; sender taken from {name.title()}")
            return display, address
    notes.append("no sender address")
    return "", ""


def _addresses(headers: _Headers, name: str, notes: list[str]) -> tuple[str, ...]:
    found = _parsed_addresses(headers.all(name), name.title(), notes)
    return tuple(dict.fromkeys(address for _, address in found))


def _parsed_addresses(values: list[str], what: str, notes: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-case address) pairs; names are decoded after splitting, because
    a decoded name may hold the commas that separate addresses."""
    pairs = []
    for display, address in getaddresses(values):
        address = _raw_text(address, what, notes).strip().strip("<>").lower()
        if address:
            pairs.append((decode_header(display, what, notes).strip(), address))
    return pairs


def _message_id(value: str | None, content_hash: str, notes: list[str]) -> tuple[str, bool]:
    """(id without <>, derived?). A mail without one gets an id stable for its bytes."""
    ids = _ids(value or "")
    bare = (value or "").strip("<> \t")
    if ids or (bare and len(bare.split()) == 1):
        return ids[0] if ids else _raw_text(bare, "Message-ID", notes), False
    notes.append("no Message-ID; one was derived from the content hash")
    return f"derived-{content_hash[:32]}@assistant.invalid", True


def _ids(value: str) -> list[str]:
    """Message ids in In-Reply-To or References, without <>; bare ids of sloppy mailers too."""
    found = _ANGLE_ID.findall(value) or [word for word in value.split() if "@" in word]
    return [_raw_text(one, "References", []) for one in found]


def _date(value: str | None, notes: list[str]) -> datetime | None:
    if not value:
        notes.append("no Date header")
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append(f"unreadable Date {_raw_text(value, 'Date', [])[:80]!r}")
        return None
    if when.tzinfo is None:
        notes.append("Date has no time zone; read as UTC")
        when = when.replace(tzinfo=timezone.utc)
    return when


# ---- body -----------------------------------------------------------------------------

_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f]")


class _Body:
    """Texts and attachments of a MIME tree, in the order a reader meets them."""

    def __init__(self, limit: int, notes: list[str], numbers: itertools.count | None = None):
        self.limit = limit
        self.notes = notes
        self.numbers = numbers or itertools.count(1)  # for attachments that came unnamed
        self.plain: list[str] = []
        self.html: list[str] = []
        self.fallback: list[str] = []  # winmail.dat bodies: read only when nothing else is
        self.attachments: list[Part] = []

    def collect(self, part: Message, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.notes.append(f"MIME nesting deeper than {_MAX_DEPTH}; the rest skipped")
            return
        content_type = part.get_content_type()
        # get_payload() of a leaf decodes with the charset parameter and can raise on a
        # broken one: ask is_multipart() first, and read leaves with decode=True only.
        if not part.is_multipart():
            self._leaf(part, content_type)
        elif content_type.startswith("message/"):
            self._embedded(part, content_type)
        elif content_type == "multipart/alternative":
            self._alternative(part.get_payload(), depth)
        else:
            for child in part.get_payload():
                self.collect(child, depth + 1)

    def text_and_html(self) -> tuple[str, str | None]:
        html = "\n".join(self.html) or None
        text = "\n".join(self.plain).strip()
        if not text and html:
            if len(html) > _MAX_HTML_READ:
                self.notes.append(f"HTML of {len(html)} characters; only the first "
                                  f"{_MAX_HTML_READ} were turned into text")
            text = htmltext.to_text(html[:_MAX_HTML_READ])
        if not text and self.fallback:
            text = "\n\n".join(self.fallback)
        return text, html

    def _alternative(self, children: list[Message], depth: int) -> None:
        """The last plain text and the last HTML among the alternatives (RFC 2046 section
        5.1.4 puts the richest last); attachments of every alternative."""
        plain: list[str] = []
        html: list[str] = []
        for child in children:
            branch = _Body(self.limit, self.notes, self.numbers)
            branch.collect(child, depth + 1)
            plain, html = branch.plain or plain, branch.html or html
            self.attachments += branch.attachments
            self.fallback += branch.fallback
        self.plain += plain
        self.html += html

    def _leaf(self, part: Message, content_type: str) -> None:
        if content_type.startswith("multipart/"):
            self.notes.append(f"{content_type} without parts; read as plain text")
            content_type = "text/plain"
        disposition = _disposition(part)
        filename = _filename(part, self.notes)
        if content_type in _TNEF_TYPES or filename.lower() == "winmail.dat":
            self._tnef(_payload(part), filename, content_type)
        elif content_type in ("text/plain", "text/html") and not filename and (
            disposition != "attachment"
        ):
            texts = self.plain if content_type == "text/plain" else self.html
            texts.append(_part_text(part, content_type, self.notes))
        else:
            self._attach(filename, content_type, _payload(part), disposition, _content_id(part))

    def _embedded(self, part: Message, content_type: str) -> None:
        """A forwarded message or a delivery report, kept whole as one attachment."""
        inner = part.get_payload()
        subject = _Headers(inner[0]).raw("subject") if inner else None
        name = _filename(part, self.notes) or (
            f"{_clean_filename(decode_header(subject or '', 'Subject', [])) or 'message'}.eml"
            if content_type == "message/rfc822" else f"{content_type.split('/')[1]}.txt"
        )
        self._attach(name, content_type, _message_bytes(inner, content_type), "attachment", None)

    def _tnef(self, data: bytes, filename: str, content_type: str) -> None:
        unpacked = tnef.unpack(data)
        if unpacked is None:
            self.notes.append("winmail.dat could not be unpacked; kept as it came")
            self._attach(filename or "winmail.dat", content_type, data, "attachment", None)
            return
        for file in unpacked.files:
            name = _clean_filename(file.filename)
            guessed_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._attach(name, guessed_type, file.data, "attachment", None)
        self.notes.extend(unpacked.notes)
        body = unpacked.body_text or htmltext.to_text(unpacked.body_html or "")
        if body:
            self.fallback.append(body)

    def _attach(self, filename: str, content_type: str, data: bytes, disposition: str,
                content_id: str | None) -> None:
        number = next(self.numbers)
        name = filename or f"part-{number}{mimetypes.guess_extension(content_type) or '.bin'}"
        kept: bytes | None = data
        if len(data) > self.limit:
            self.notes.append(f"attachment {name!r} is {len(data)} bytes, over the "
                              f"{self.limit}-byte limit; kept by name and size only")
            kept = None
        inline = disposition == "inline" or (not disposition and content_id is not None)
        self.attachments.append(Part(name, content_type, len(data), kept, inline, content_id))


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message, content_type: str, notes: list[str]) -> str:
    data = _payload(part)
    declared = _param(part, "charset").strip().lower()
    if not declared and content_type == "text/html":
        declared = htmltext.declared_charset(data)
    what = "text" if content_type == "text/plain" else "HTML"
    text = decode_bytes(data, declared, what, notes)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if content_type == "text/plain" and _param(part, "format").lower() == "flowed":
        text = quoting.unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return text


def _message_bytes(inner: list[Message], content_type: str) -> bytes:
    if content_type != "message/delivery-status" and len(inner) == 1:
        try:
            return inner[0].as_bytes()
        except (LookupError, ValueError, TypeError, AttributeError, email.errors.MessageError):
            pass  # a message too broken to write back out: keep its headers below
    blocks = ("\n".join(f"{name}: {value}" for name, value in block.raw_items()) for block in inner)
    return "\n\n".join(blocks).encode("utf-8", "surrogateescape")


def _disposition(part: Message) -> str:
    return _first_raw(part, "content-disposition").split(";", 1)[0].strip().lower()


def _content_id(part: Message) -> str | None:
    return _raw_text(_first_raw(part, "content-id"), "Content-ID", []).strip("<> ") or None


def _first_raw(part: Message, name: str) -> str:
    """A part's header as it came, unfolded; compat32's get() would wrap 8-bit in Header."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return _unfold(str(value))
    return ""


def _filename(part: Message, notes: list[str]) -> str:
    """The attachment's name: RFC 2231, RFC 2047 inside quotes (Outlook) and raw 8-bit."""
    raw = [(name, str(value)) for name, value in part.raw_items()
           if name.lower() in ("content-disposition", "content-type")]
    if not all(value.isascii() for _, value in raw):
        # compat32 turns 8-bit parameters into replacement characters: decode them first.
        part = Message()
        for name, value in raw:
            part[name] = _raw_text(_unfold(value), "Filename", notes)
    name = (_param(part, "filename", "content-disposition") or _param(part, "name")).strip()
    if not name:
        return ""
    if "=?" in name:
        name = decode_header(name, "Filename", notes)
    return _clean_filename(name)


def _param(part: Message, name: str, header: str = "content-type") -> str:
    """A header parameter as text, "" when missing or unreadable.

    email.utils.decode_params raises TypeError when numbered and unnumbered RFC 2231
    pieces of one parameter are mixed (as a truncated mail leaves them): that is "unreadable".
    """
    try:
        value = part.get_param(name, header=header)
    except (TypeError, ValueError, LookupError, IndexError):
        return ""
    if isinstance(value, tuple):
        value = email.utils.collapse_rfc2231_value(value)
    return str(value or "")


def _clean_filename(name: str) -> str:
    """The last path component, without control characters: names come from strangers."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_IN_NAME.sub("", name).strip()[:255]


# ---- flags ----------------------------------------------------------------------------

# Subjects of out-of-office replies from mailers that send no RFC 3834 headers.
_OUT_OF_OFFICE = re.compile(
    r"^(?:\[[^\]]*\]\s*)?(?:automatic reply|auto[- ]?reply|autoreply|out of (?:the )?office"
    r"|автоматический ответ|автоответ|нет на месте|вне офиса|(?:я )?(?:нахожусь )?в отпуске)"
    r"|(?:automatic reply|автоматический ответ)\s*:",
    re.IGNORECASE,
)
_AUTH_RESULT = re.compile(r"\b(dmarc|spf)\s*=\s*([a-z]+)", re.IGNORECASE)
_COMMENT = re.compile(r"\([^()]*\)")


def _auto_reply(headers: _Headers, message: Message, subject: str, notes: list[str]) -> bool:
    reason = None
    submitted = headers.first("auto-submitted").split(";", 1)[0].strip().lower()
    precedence = headers.first("precedence").lower()
    flagged = [name for name in ("x-autoreply", "x-autorespond", "x-autoresponse")
               if name in headers and headers.first(name).lower() not in ("no", "false", "0")]
    if submitted and submitted != "no":  # RFC 3834 section 5
        reason = f"Auto-Submitted: {submitted}"
    elif flagged:
        reason = flagged[0].title()
    elif precedence in ("auto_reply", "bulk", "junk"):
        reason = f"Precedence: {precedence}"
    elif _report_type(message) == "disposition-notification":
        reason = "a read receipt"
    elif _OUT_OF_OFFICE.search(subject):
        reason = f"the subject {subject[:60]!r}"
    return _flag("auto-reply", reason, notes)


def _bounce(headers: _Headers, message: Message, from_address: str, notes: list[str]) -> bool:
    reason = None
    if _report_type(message) == "delivery-status":
        reason = "a delivery status report"
    elif from_address.split("@", 1)[0] in ("mailer-daemon", "postmaster"):
        reason = f"sent by {from_address}"
    elif "return-path" in headers and "".join(headers.first("return-path").split()) == "<>":
        reason = "empty Return-Path"
    elif "x-failed-recipients" in headers:
        reason = "X-Failed-Recipients"
    return _flag("bounce", reason, notes)


def _mailing_list(headers: _Headers, notes: list[str]) -> bool:
    reason = next((name.title() for name in ("list-id", "list-unsubscribe", "list-post")
                   if name in headers), None)
    if not reason and headers.first("precedence").lower() == "list":
        reason = "Precedence: list"
    return _flag("mailing list", reason, notes)


def _flag(flag: str, reason: str | None, notes: list[str]) -> bool:
    if reason:
        notes.append(f"{flag}: {reason}")
    return reason is not None


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return _param(message, "report-type").lower()


def _loop(headers: _Headers, from_address: str, own_addresses: frozenset[str]) -> bool:
    own = {address.lower() for address in own_addresses}
    return from_address in own or "x-assistant-origin" in headers


def _importance(headers: _Headers) -> str | None:
    """ "high" or "low" from Importance, X-Priority (1-2, 4-5), Priority, X-MSMail-Priority."""
    importance = headers.first("importance").lower()
    if importance in ("high", "low"):
        return importance
    x_priority = headers.first("x-priority")[:1]
    if x_priority in ("1", "2", "4", "5"):
        return "high" if x_priority in ("1", "2") else "low"
    priority = headers.first("priority").lower()
    if priority in ("urgent", "non-urgent"):
        return "high" if priority == "urgent" else "low"
    ms_priority = headers.first("x-msmail-priority").lower()
    return ms_priority if ms_priority in ("high", "low") else None


def _authentication_failed(results: list[str]) -> bool:
    """True when DMARC failed, or SPF failed and DMARC did not pass (RFC 8601 results)."""
    found: dict[str, set[str]] = {"dmarc": set(), "spf": set()}
    for result in results:
        for method, verdict in _AUTH_RESULT.findall(_COMMENT.sub("", result)):
            found[method.lower()].add(verdict.lower())
    return "fail" in found["dmarc"] or ("fail" in found["spf"] and "pass" not in found["dmarc"])
