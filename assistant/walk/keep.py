"""The first stages: the raw bytes kept before anything can go wrong, then read into a mail."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime
from email.parser import BytesParser
from email.policy import compat32

from sqlmodel import Session

from assistant.config import Settings
from assistant.errors import Unparseable
from assistant.mail import intake
from assistant.mail.intake import Incoming
from assistant.store.models import Quarantine
from assistant.store.states import Fate, QuarantineKind
from assistant.store.raw import keep_raw
from assistant.walk.budget import cpu_budget
from assistant.walk.passage import Outcome, Passage

# `quarantine retry` of a message that ran out of time gives it this many times as long.
RETRY_BUDGET_FACTOR = 10


class Keep:
    """Store the raw bytes first; the same bytes read before are a duplicate (unless retried).

    The row (or, for mail over the size limit, the file and its row) is added to the
    walk's transaction here, so whichever way a message is walked its bytes are written
    with its fate, never one without the other; a batch writes them all in its one flush."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.max_message_bytes = settings.storage.max_message_bytes

    def __call__(self, passage: Passage) -> Outcome | None:
        kept = passage.known.has_bytes(passage.session, passage.digest)
        if kept and not passage.retry:
            return Outcome(Fate.DUPLICATE, reason="the same bytes were read before")
        if not kept:
            keep_raw(passage.session, self.settings, passage.raw, passage.digest,
                     self.max_message_bytes)
        return None


class Understand:
    """Read the bytes into a mail (a worker may have done it already); hopeless mail is
    quarantined with its reason, and a mail over the size limit is read by its headers."""

    def __init__(self, settings: Settings):
        self.own = settings.support_addresses
        self.max_message_bytes = settings.storage.max_message_bytes
        self.max_attachment_bytes = settings.storage.max_attachment_bytes
        self.budget = settings.performance.message_budget_seconds
        self.dating = None      # import: (mail, now) -> the time the mail itself arrived

    def __call__(self, passage: Passage) -> Outcome | None:
        try:
            passage.mail = self.read(passage.raw, passage)
        except Unparseable as exc:
            return quarantine(passage.session, passage.digest, str(exc), passage.source, passage.now)
        if self.dating:
            passage.now = self.dating(passage.mail, passage.now)
        return None

    def read(self, raw: bytes, passage: Passage) -> Incoming:
        understood = passage.understood
        if understood is not None and understood.error:
            raise Unparseable(understood.error)
        if understood is not None and understood.mail is not None:
            return understood.mail
        budget = self.budget * (RETRY_BUDGET_FACTOR if passage.retry else 1)
        with cpu_budget(budget):
            if len(raw) <= self.max_message_bytes:
                return intake.parse(raw, own_addresses=self.own,
                                    max_attachment_bytes=self.max_attachment_bytes,
                                    content_hash=passage.digest)
            return _headers_only(raw, self.own, self.max_message_bytes)


def quarantine(session: Session, digest: str, reason: str, source: str, now: datetime, *,
               mail: Incoming | None = None, kind: QuarantineKind = QuarantineKind.UNPARSEABLE,
               ticket_id: int | None = None) -> Outcome:
    """Set a message aside with its reason; its raw bytes are already kept."""
    session.add(Quarantine(
        content_hash=digest, message_id=mail.message_id if mail else None,
        from_address=mail.from_address if mail else "", subject=mail.subject if mail else "",
        kind=kind, reason=reason, ticket_id=ticket_id, source=source, created_at=now))
    session.flush()
    return Outcome(Fate.QUARANTINED, mail.message_id if mail else None, ticket_id, reason)


def _headers_only(raw: bytes, own: frozenset[str], limit: int) -> Incoming:
    """The mail's headers with a note for a body, for a message too big to read whole."""
    header_end = raw.find(b"\r\n\r\n")
    header_end = raw.find(b"\n\n") if header_end < 0 else header_end
    head = raw[:header_end] if header_end >= 0 else raw[:65536]
    note = (f"The message is {len(raw) / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB limit: "
            f"it is kept as it came and was not read further.")
    stub = BytesParser(policy=compat32).parsebytes(head, headersonly=True)
    # The original Content-Type describes a body the stub does not carry.
    for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
        del stub[name]
    stub["Content-Type"] = "text/plain; charset=utf-8"
    stub.set_payload(note.encode())
    mail = intake.parse(stub.as_bytes(), own_addresses=own)
    return replace(mail, content_hash=hashlib.sha256(raw).hexdigest(), size=len(raw),
                   notes=(*mail.notes, note))
