"""Raw bytes to an incoming-mail value: headers, decoded text, attachments, visible part, flags."""

from __future__ import annotations

import email
import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from assistant import mailflags, quoting
from assistant.charsets import Headers, decode_header, raw_text
from assistant.charsets import decode_bytes  # noqa: F401  (re-exported: intake.decode_bytes)
from assistant.errors import Unparseable
from assistant.mimewalk import Body, Part

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
    # Every Authentication-Results header, top first; only conversation.authentication
    # reads them, and only the ones our own server wrote (RFC 8601 §5).
    authentication_results: tuple[str, ...] = ()
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
    headers = Headers(message)
    notes: list[str] = []
    content_hash = hashlib.sha256(raw).hexdigest()
    body = Body(max_attachment_bytes, notes)
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
        auto_reply=mailflags.auto_reply(headers, message, subject, notes),
        bounce=mailflags.bounce(headers, message, from_address, notes),
        mailing_list=mailflags.mailing_list(headers, notes),
        loop=mailflags.loop(headers, from_address, own_addresses),
        derived_message_id=derived,
        importance=mailflags.importance(headers),
        authentication_results=tuple(headers.all("authentication-results")),
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


# ---- who, which, when -----------------------------------------------------------------

_ANGLE_ID = re.compile(r"<([^<>\s]+)>")


def _sender(headers: Headers, notes: list[str]) -> tuple[str, str]:
    """(name, lower-case address) of From, else of Sender or Return-Path, noted."""
    for name in ("from", "sender", "return-path"):
        for display, address in _parsed_addresses(headers.all(name), name.title(), notes):
            if name != "from":
                notes.append(f"no usable From; sender taken from {name.title()}")
            return display, address
    notes.append("no sender address")
    return "", ""


def _addresses(headers: Headers, name: str, notes: list[str]) -> tuple[str, ...]:
    found = _parsed_addresses(headers.all(name), name.title(), notes)
    return tuple(dict.fromkeys(address for _, address in found))


def _parsed_addresses(values: list[str], what: str, notes: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-case address) pairs; names are decoded after splitting, because
    a decoded name may hold the commas that separate addresses."""
    pairs = []
    for display, address in getaddresses(values):
        address = raw_text(address, what, notes).strip().strip("<>").lower()
        if address:
            pairs.append((decode_header(display, what, notes).strip(), address))
    return pairs


def _message_id(value: str | None, content_hash: str, notes: list[str]) -> tuple[str, bool]:
    """(id without <>, derived?). A mail without one gets an id stable for its bytes."""
    ids = _ids(value or "")
    bare = (value or "").strip("<> \t")
    if ids or (bare and len(bare.split()) == 1):
        return ids[0] if ids else raw_text(bare, "Message-ID", notes), False
    notes.append("no Message-ID; one was derived from the content hash")
    return f"derived-{content_hash[:32]}@assistant.invalid", True


def _ids(value: str) -> list[str]:
    """Message ids in In-Reply-To or References, without <>; bare ids of sloppy mailers too."""
    found = _ANGLE_ID.findall(value) or [word for word in value.split() if "@" in word]
    return [raw_text(one, "References", []) for one in found]


def _date(value: str | None, notes: list[str]) -> datetime | None:
    if not value:
        notes.append("no Date header")
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        notes.append(f"unreadable Date {raw_text(value, 'Date', [])[:80]!r}")
        return None
    if when.tzinfo is None:
        notes.append("Date has no time zone; read as UTC")
        when = when.replace(tzinfo=timezone.utc)
    return when

