"""Raw bytes to an incoming-mail value: headers, decoded text, attachments, visible part, flags."""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime

from assistant.mail import bigparts, mailflags, quoting
from assistant.mail.addresses import MAX_HEADER_CHARS, mailboxes
from assistant.mail.charsets import Headers, clean, decode_header, raw_text
from assistant.mail.charsets import decode_bytes  # noqa: F401  (re-exported: intake.decode_bytes)
from assistant.errors import Unparseable
from assistant.mail.mimewalk import Body, BoundedMessage, Part

log = logging.getLogger("assistant.mail.intake")

DEFAULT_MAX_ATTACHMENT_BYTES = 25 * 2**20
# Raw values kept for triage, under these lower-case names.
KEPT_HEADERS = (
    "auto-submitted", "precedence", "list-id", "importance", "x-priority",
    "authentication-results", "return-path",
)
# Longer subjects and names are cut here (noted): no person writes more, and every
# pipeline and page that shows them would pay for the rest.
MAX_SUBJECT_CHARS = 1000
MAX_NAME_CHARS = 200
# An id our outbox can write back in In-Reply-To: printable ASCII without "<" or ">",
# short enough for a unique index in any database we store it in.
_ANSWERABLE_ID = re.compile(r"[!-;=?-~]{1,250}")
# Enough of a long References chain to find the thread: the first and the latest ids.
MAX_REFERENCES = 100
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
    signature: str = ""                # the sender's signature or mobile footer, when one was cut
    attachments: tuple[Part, ...] = ()
    auto_reply: bool = False
    bounce: bool = False
    mailing_list: bool = False
    loop: bool = False                 # our own outgoing mail came back
    derived_message_id: bool = False   # the mail had none usable; this one is stable for its bytes
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
    content_hash: str | None = None,
) -> Incoming:
    """How one raw mail reads: sender, subject, text, attachments and flags.

    Anything that is recognisably mail parses, and `notes` says what had to be guessed
    (a charset, a missing Message-ID, an attachment over `max_attachment_bytes` kept by
    name and size only). Raises `Unparseable` with a one-line reason only for bytes that
    are not mail at all: empty, binary, without a single mail header, or nested too deep
    to read. Every text in the result is valid Unicode without NUL (`charsets.clean`),
    whatever the bytes held. `content_hash`, when the caller has hashed the bytes
    already, is taken as their sha256 hex instead of hashing them again.
    """
    message = _read(raw)
    headers = Headers(message)
    notes: list[str] = []
    content_hash = content_hash or hashlib.sha256(raw).hexdigest()
    body = Body(max_attachment_bytes, notes)
    body.collect(message, 0)
    text, html = body.text_and_html()
    reply = quoting.read_reply(text)
    from_name, from_address = _sender(headers, notes)
    message_id, derived = _message_id(headers.raw("message-id"), content_hash, notes)
    subject = _cut(decode_header(headers.raw("subject") or "", "Subject", notes).strip(),
                   MAX_SUBJECT_CHARS, "Subject", notes)
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
        references=_references(headers.raw("references") or "", notes),
        text=text,
        html=html,
        visible_text=reply.visible,
        signature=reply.signature,
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
    incoming = _cleaned(incoming)
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
        message = bigparts.parse(raw.lstrip(b"\r\n"), BoundedMessage)
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
    """(name, lower-case address) of From, else of Sender or Return-Path, noted.

    The address is the one a mail program shows and DMARC checks: in angle brackets when
    there are any, never one written in the display name or a comment.
    """
    for name in ("from", "sender", "return-path"):
        found = _parsed_addresses(headers.all(name), name.title(), notes)
        if not found:
            continue
        display, address = found[0]
        if name != "from":
            notes.append(f"no usable From; sender taken from {name.title()}")
        if len({address for _, address in found}) > 1:
            notes.append(f"{name.title()} names {len(found)} addresses; the first was taken")
        if "@" in display and display.strip("<>\"' ").lower() != address:
            notes.append(f"the name {display[:80]!r} looks like an address; "
                         f"the mail came from {address}")
        return _cut(display, MAX_NAME_CHARS, "From name", notes), address
    notes.append("no sender address")
    return "", ""


def _addresses(headers: Headers, name: str, notes: list[str]) -> tuple[str, ...]:
    found = _parsed_addresses(headers.all(name), name.title(), notes)
    return tuple(dict.fromkeys(address for _, address in found))


def _parsed_addresses(values: list[str], what: str, notes: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-case address) pairs; names are decoded after splitting, because
    a decoded name may hold the commas that separate addresses."""
    pairs = []
    for value in values:
        if len(value) > MAX_HEADER_CHARS:
            notes.append(f"{what} of {len(value)} characters; read up to {MAX_HEADER_CHARS}")
        for mailbox in mailboxes(value):
            address = raw_text(mailbox.address, what, notes).strip().lower()
            if address:
                pairs.append((decode_header(mailbox.name, what, notes).strip(), address))
            elif mailbox.name:
                notes.append(f"{what}: no address can be read from {mailbox.name[:80]!r}")
    return pairs


def _message_id(value: str | None, content_hash: str, notes: list[str]) -> tuple[str, bool]:
    """(id without <>, derived?). A mail without an id we could answer to gets one stable
    for its bytes, so a second copy is still a duplicate; the id it came with is noted."""
    ids = _ANGLE_ID.findall(value or "") or [word for word in (value or "").split() if "@" in word]
    bare = (value or "").strip("<> \t")
    found = ids[0] if ids else bare if bare and len(bare.split()) == 1 else None
    if found is not None and _ANSWERABLE_ID.fullmatch(found):
        return found, False
    if value and value.strip():
        notes.append(f"Message-ID {raw_text(value, 'Message-ID', [])[:80]!r} cannot be "
                     f"answered; one was derived from the content hash")
    else:
        notes.append("no Message-ID; one was derived from the content hash")
    return f"derived-{content_hash[:32]}@assistant.invalid", True


def _ids(value: str) -> list[str]:
    """Message ids in In-Reply-To or References, without <>; bare ids of sloppy mailers too.
    Ids no mail of ours could carry are left out: they cannot name a thread of ours."""
    found = _ANGLE_ID.findall(value) or [word for word in value.split() if "@" in word]
    return [one for one in found if _ANSWERABLE_ID.fullmatch(one)]


def _references(value: str, notes: list[str]) -> tuple[str, ...]:
    ids = _ids(value)
    if len(ids) > MAX_REFERENCES:
        notes.append(f"References holds {len(ids)} ids; the first and the last "
                     f"{MAX_REFERENCES - 1} were kept")
        ids = ids[:1] + ids[-(MAX_REFERENCES - 1):]
    return tuple(ids)


def _cut(text: str, limit: int, what: str, notes: list[str]) -> str:
    if len(text) <= limit:
        return text
    notes.append(f"{what} of {len(text)} characters; the first {limit} were kept")
    return text[:limit].rstrip()


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
    try:
        in_utc = when.astimezone(timezone.utc)
    except OverflowError:  # "31 Dec 9999 23:59 -2359" is past the last datetime in UTC
        in_utc = None
    if in_utc is None or not _EARLIEST_YEAR <= in_utc.year <= _LATEST_YEAR:
        notes.append(f"Date {raw_text(value, 'Date', [])[:80]!r} is out of any mailer's range")
        return None
    return when


# A Date outside these years is no date a mailer wrote; reading it would only let the
# arithmetic on it (deadlines, reports) overflow.
_EARLIEST_YEAR, _LATEST_YEAR = 1970, 2999


def _cleaned(incoming: Incoming) -> Incoming:
    """The same mail with every text in it `clean`: the one gate between the bytes of a
    stranger and the stores, pipelines and terminals that read the rest of the walk."""
    changes: dict[str, object] = {}
    for spec in fields(incoming):
        value = getattr(incoming, spec.name)
        if isinstance(value, str):
            changed = clean(value)
        elif isinstance(value, tuple) and all(isinstance(one, str) for one in value):
            changed = tuple(clean(one) for one in value)
        elif isinstance(value, dict):
            changed = {clean(key): clean(text) for key, text in value.items()}
        else:
            continue
        if changed != value:
            changes[spec.name] = changed
    parts = tuple(replace(part, filename=clean(part.filename),
                          content_type=clean(part.content_type),
                          content_id=clean(part.content_id) if part.content_id else None)
                  for part in incoming.attachments)
    if parts != incoming.attachments:
        changes["attachments"] = parts
    return replace(incoming, **changes) if changes else incoming

