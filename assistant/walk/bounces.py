"""A bounce of our own letter: the letter it returns is marked failed and its consultant is told.

A delivery status report (RFC 3464) names what bounced in two ways: the returned message
or its headers carry our Message-ID, and the report's Final-Recipient says which address
failed. Either ties the bounce to the outbox row that went out; without that tie a 550
for a client's address is just a system message and the ticket believes the client was
answered.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32

from sqlalchemy import func
from sqlmodel import Session, select

from assistant.mail.intake import Incoming
from assistant.store.models import Draft, OutboxMail, Promise, Ticket, TicketChange
from assistant.store.states import (Acknowledgement, DraftStatus, Fate, MailKind, OutboxStatus,
                                    PromiseState)
from assistant.config import Settings
from assistant.policy.sla import SlaBook
from assistant.replies.staff import StaffMail
from assistant.tickets.conversation import Signatures
from assistant.walk.passage import Outcome, Passage

log = logging.getLogger("assistant.walk.bounces")

CLIENT_KINDS = (MailKind.ACKNOWLEDGEMENT, MailKind.NEED_INFO, MailKind.OPTIONS, MailKind.PROGRESS,
                MailKind.RESOLVED, MailKind.FORWARDED, MailKind.REPLY)
RECENT = timedelta(days=14)     # a bounce for an address is matched to mail sent this recently
_MESSAGE_ID = re.compile(r"^message-id:\s*<([^<>\s]+)>", re.IGNORECASE | re.MULTILINE)
_FINAL = re.compile(r"^(?:final|original)-recipient:\s*rfc822;\s*<?([^\s<>]+@[^\s<>]+)>?",
                    re.IGNORECASE | re.MULTILINE)
_DIAGNOSTIC = re.compile(r"^diagnostic-code:\s*(?:smtp;)?\s*(.+)$", re.IGNORECASE | re.MULTILINE)
# Postfix's human part: "<anna@x>: host mx.x said: 550 5.1.1 User unknown (in reply to ...)".
_FAILED_IN_TEXT = re.compile(r"<([^\s<>]+@[^\s<>]+)>:((?=[^\n]*(?:\n[ \t]+[^\n]*)*\b[45]\d\d\b)"
                             r"[^\n]*(?:\n[ \t]+[^\n]*)*)")


class Bounces:
    """The walk's interceptor for bounces of mail we sent."""

    def __init__(self, settings: Settings, staff: StaffMail, signatures: Signatures, sla: SlaBook):
        self.settings = settings
        self.staff = staff
        self.signatures = signatures
        self.sla = sla
        self.domain = settings.support.domain

    def __call__(self, passage: Passage) -> Outcome | None:
        """Settle a bounce of our letter (fate: system); None for anything else."""
        session, mail, now = passage.session, passage.mail, passage.now
        if not mail.bounce:
            return None
        ids, recipients, diagnostic = read_report(mail)
        row = self._bounced_row(session, ids, recipients, now)
        if row is None:
            return None
        if row.status == OutboxStatus.FAILED:
            return Outcome(Fate.SYSTEM, mail.message_id, row.ticket_id,
                           f"another bounce of {row.message_id}, already marked failed")
        row.status = OutboxStatus.FAILED
        row.last_error = f"bounced: {diagnostic or 'the receiving server refused it'}"[:500]
        told = self._settle(session, row, diagnostic, now)
        log.warning("bounces: %s to %s bounced (%s); told %s", row.message_id, row.recipients,
                    diagnostic or "no reason given", told or "nobody")
        return Outcome(Fate.SYSTEM, mail.message_id, row.ticket_id,
                       f"bounce of {row.message_id}: marked failed, told {told or 'nobody'}")

    def _bounced_row(self, session: Session, ids: list[str], recipients: list[str],
                     now: datetime) -> OutboxMail | None:
        if ids:
            row = session.exec(select(OutboxMail).where(OutboxMail.message_id.in_(ids))).first()
            if row is not None:
                return row
        for address in recipients:
            row = session.exec(select(OutboxMail).where(
                OutboxMail.recipients == address.lower(), OutboxMail.status.in_((OutboxStatus.SENT, OutboxStatus.FAILED)),
                OutboxMail.sent_at >= now - RECENT).order_by(OutboxMail.sent_at.desc())).first()
            if row is not None:
                return row
        return None

    def _settle(self, session: Session, row: OutboxMail, diagnostic: str, now: datetime) -> str:
        """The draft and the ticket learn the letter never arrived; returns who was told."""
        ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
        draft = session.get(Draft, row.draft_id) if row.draft_id else None
        if draft is not None and row.kind != MailKind.APPROVAL_REQUEST:
            old, draft.status = draft.status, DraftStatus.FAILED
            for promise in session.exec(select(Promise).where(Promise.draft_id == draft.id,
                                                              Promise.state == PromiseState.OPEN)).all():
                promise.state = PromiseState.VOID      # a time the client never read binds nobody
            if ticket is not None:
                session.add(TicketChange(ticket_id=ticket.id, field=f"draft {draft.id}", old=old,
                                         new=DraftStatus.FAILED, at=now,
                                         why=f"the letter bounced: {diagnostic or 'refused'}"))
                ticket.client_last_heard_at = _last_delivered(session, ticket.id, row.id)
                if ticket.acknowledgement == Acknowledgement.SENT and draft.situation == "acknowledgement":
                    ticket.acknowledgement = Acknowledgement.FAILED
                    session.add(TicketChange(ticket_id=ticket.id, field="acknowledgement",
                                             old=Acknowledgement.SENT, new=Acknowledgement.FAILED,
                                             why=f"it bounced: {diagnostic or 'refused'}", at=now))
        person = (draft.decided_by if draft and draft.decided_by != "assistant" else None) \
            or (draft.consultant if draft else None) or (ticket.assignee if ticket else None)
        to = (person,) if person and "@" in person else tuple(self.sla.oncall())
        if to:
            self._tell(session, to, row, ticket, diagnostic)
        return ", ".join(to)

    def _tell(self, session: Session, to: tuple[str, ...], row: OutboxMail, ticket: Ticket | None,
              diagnostic: str) -> None:
        lang = self.staff.language(to[0])
        signer = self.signatures(session)
        message_id = signer.message_id(ticket.id, self.domain, "a") if ticket else \
            f"bounce.{row.id}.{signer.signature(row.id, 'b')}@{self.domain}"
        self.staff.send(session, to, "bounce", lang, message_id=message_id, kind=MailKind.ALERT,
                        ticket_id=ticket.id if ticket else None, scheduled=True,
                        row=row, ticket=ticket, diagnostic=diagnostic or "",
                        person=self.staff.greeting_name(to[0], lang))


def read_report(mail: Incoming) -> tuple[list[str], list[str], str]:
    """(Message-IDs of the returned mail, failed recipients, the server's diagnostic)."""
    ids: list[str] = []
    recipients: list[str] = []
    diagnostic = ""
    for part in mail.attachments:
        data = part.data or b""
        if part.content_type in ("message/rfc822", "text/rfc822-headers"):
            headers = BytesHeaderParser(policy=compat32).parsebytes(data)
            found = (headers.get("Message-ID") or "").strip().strip("<>")
            if found:
                ids.append(found)
        elif part.content_type in ("message/delivery-status", "message/global-delivery-status"):
            report = data.decode("utf-8", "replace")
            recipients += _FINAL.findall(report)
            said = _DIAGNOSTIC.search(report)
            diagnostic = diagnostic or (said.group(1).strip() if said else "")
    ids += _MESSAGE_ID.findall(mail.text)
    if not recipients:
        recipients = [address for address, _code in _FAILED_IN_TEXT.findall(mail.text)]
    if not diagnostic:
        # The report's parts may not be at hand (a worker process keeps attachments by hash
        # only): the notification text says the same for people.
        said = _FAILED_IN_TEXT.search(mail.text)
        diagnostic = " ".join(said.group(2).split())[:200] if said else ""
    return list(dict.fromkeys(ids)), list(dict.fromkeys(r.lower() for r in recipients)), diagnostic


def _last_delivered(session: Session, ticket_id: int, except_id: int) -> datetime | None:
    """When the client last got a letter of ours that did not bounce."""
    return session.exec(select(func.max(OutboxMail.sent_at)).where(
        OutboxMail.ticket_id == ticket_id, OutboxMail.status == OutboxStatus.SENT,
        OutboxMail.kind.in_(CLIENT_KINDS), OutboxMail.id != except_id)).first()
