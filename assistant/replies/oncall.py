"""On-call alerts of critical tickets: the first at once, the rest gathered into one mail per interval.

A critical ticket is only marked as owing an alert while its mail is walked; the alert is
written after the batch is committed and the ticket has its consultant, so it names who
has it, in the reader's language, with times in the support time zone. Five hundred mails
that read as critical in ten minutes make one alert listing them, not five hundred.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import datetime

from sqlmodel import Session, select

from assistant.replies import grammar
from assistant.replies.pending import alert_not_written, alert_written
from assistant.tickets.conversation import Signer
from assistant.store.models import AlertSent, Client, Ticket
from assistant.store.states import MailKind
from assistant.policy.severity import grades_of
from assistant.config import Settings
from assistant.policy.sla import SlaBook
from assistant.policy.timetable import Timetable
from assistant.replies.context import name_in
from assistant.replies.staff import StaffMail
from assistant.tickets.conversation import Signatures

log = logging.getLogger("assistant.replies.oncall")

KIND = "oncall"
# Our alerts' Message-IDs name the tickets they are about, signed, so a consultant's reply
# ("Беру") is known to answer an alert about those tickets: a<id>-<id>.<hmac>.<random>@.
ALERT_KIND = "a"
MAX_NAMED = 40
_ALERT_ID = re.compile(r"^a([\d-]{1,500})\.([0-9a-f]{16})\.[0-9a-z]+@", re.IGNORECASE)


def alert_message_id(signer: Signer, ticket_ids: list[int], domain: str) -> str:
    """A Message-ID naming the alerted tickets (up to MAX_NAMED), signed with our key."""
    named = "-".join(str(i) for i in sorted(set(ticket_ids))[:MAX_NAMED]) or "0"
    return f"{ALERT_KIND}{named}.{signer.signature(named, ALERT_KIND)}.{secrets.token_hex(6)}@{domain}"


def alerted_tickets(signer: Signer, message_id: str) -> list[int]:
    """The tickets one of our alert Message-IDs names; [] when it is not ours or forged."""
    found = _ALERT_ID.match(message_id or "")
    if not found:
        return []
    named = found.group(1)
    if not secrets.compare_digest(found.group(2).lower(), signer.signature(named, ALERT_KIND)):
        return []
    return [int(n) for n in named.split("-") if n.isdigit() and n != "0"]


class OnCall:
    """Marks critical tickets during the walk; `send_due` writes the alerts afterwards."""

    def __init__(self, settings: Settings, staff: StaffMail, signatures: Signatures, sla: SlaBook,
                 timetable: Timetable):
        self.settings = settings
        self.staff = staff
        self.signatures = signatures
        self.sla = sla
        self.timetable = timetable
        self.domain = settings.support.domain

    def mark(self, session: Session, ticket: Ticket, now: datetime) -> None:
        """Note that the on-call people must hear of `ticket` (once per ticket)."""
        # The walk's rows not yet written are looked at in the session, not flushed for the
        # query: a flush in the middle of a batch costs the batch the one flush it writes in.
        with session.no_autoflush:
            known = session.exec(select(AlertSent.id).where(
                AlertSent.ticket_id == ticket.id, AlertSent.kind == KIND)).first()
        known = known or any(isinstance(row, AlertSent) and row.ticket_id == ticket.id
                             and row.kind == KIND for row in session.new)
        if not known:
            session.add(AlertSent(ticket_id=ticket.id, kind=KIND, key="critical", sent_to="", at=now))
        # A phrase is often a reason twice (it decides, and it grades impact or urgency).
        words = dict.fromkeys(r["text"] for r in json.loads(ticket.priority_reasons or "[]") if r["text"])
        log.warning("oncall: %s is critical: %s", ticket.tag, "; ".join(words) or "marked critical")

    def send_due(self, session: Session, now: datetime) -> int:
        """Alert the on-call list of every marked ticket, unless an alert went out less than
        the interval ago: then they wait and go together. Returns the tickets alerted."""
        pending = session.exec(select(AlertSent).where(
            AlertSent.kind == KIND, AlertSent.sent_to == "").order_by(AlertSent.id)).all()
        if not pending:
            return 0
        last = session.exec(select(AlertSent.at).where(
            AlertSent.kind == KIND, AlertSent.sent_to != "").order_by(AlertSent.at.desc())).first()
        interval = self.timetable.oncall_batch
        if last is not None and now - last < interval:
            return 0
        tickets = [t for t in (session.get(Ticket, row.ticket_id) for row in pending) if t]
        addresses = self.sla.oncall()
        savepoint = session.begin_nested()
        try:
            for address in addresses:
                self._mail(session, address, tickets, now)
            savepoint.commit()
        except Exception as exc:  # noqa: BLE001 - a broken template: tried again next round
            savepoint.rollback()
            alert_not_written(session, [t.id for t in tickets], addresses, exc, now)
            log.exception("oncall: the alert of %s could not be written; trying again next round",
                          ", ".join(t.tag for t in tickets))
            return 0
        alert_written(session)
        for row in pending:
            row.sent_to, row.at = ",".join(addresses) or "-", now
        session.flush()
        return len(tickets)

    def _mail(self, session: Session, address: str, tickets: list[Ticket], now: datetime) -> None:
        lang = self.staff.language(address)
        items = [self._item(session, ticket, lang, now) for ticket in tickets]
        signer = self.signatures(session)
        self.staff.send(session, (address,), "critical_alert", lang,
                        message_id=alert_message_id(signer, [t.id for t in tickets], self.domain),
                        kind=MailKind.ALERT, ticket_id=tickets[0].id if len(tickets) == 1 else None,
                        scheduled=True, items=items)

    def _item(self, session: Session, ticket: Ticket, lang: str, now: datetime) -> dict:
        client = session.get(Client, ticket.client_id)
        zone = self.settings.support.timezone
        owner = next((p for p in self.settings.consultants if p.email == ticket.assignee), None)
        reasons = json.loads(ticket.priority_reasons or "[]")
        return {
            "tag": ticket.tag, "id": ticket.id, "subject": ticket.subject,
            "client": client.name or client.email, "client_email": client.email,
            "internal": client.internal,
            "reasons": [r for r in reasons if r.get("text")],
            **grades_of(reasons),                   # impact and urgency, with their words
            "first_response_due": local_time(ticket.first_response_due, lang, zone, now),
            "resolution_due": local_time(ticket.resolution_due, lang, zone, now),
            "owner": name_in(owner, lang) if owner else (ticket.assignee or ""),
        }


def local_time(moment: datetime | None, lang: str, zone: str, now: datetime) -> str:
    """"сегодня до 03:00 (Europe/Moscow)": a time as our people read it, with its zone."""
    if moment is None:
        return ""
    return f"{grammar.when(moment, lang, zone, now)} ({zone})"
