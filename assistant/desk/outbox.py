"""What the operator sees of the outbox: mail that failed, waits, or may have gone out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlmodel import select

from assistant.replies.pending import PendingNotices, unwritten_alert
from assistant.store.database import Store

from assistant.errors import NotFound, Rejected
from assistant.store.models import Client, OutboxMail, Ticket, TicketChange
from assistant.store.states import Acknowledgement, MailKind, OutboxStatus

ATTENTION = (OutboxStatus.QUEUED, OutboxStatus.FAILED, OutboxStatus.UNCERTAIN, OutboxStatus.BLOCKED,
             OutboxStatus.SENDING)
RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN, OutboxStatus.BLOCKED)


class OutboxDesk:
    def __init__(self, store: Store, clock: Callable[[], datetime], pending: PendingNotices):
        self.store = store
        self.clock = clock
        self.pending = pending

    def rows(self, include_sent: bool = False) -> list[dict]:
        """Mail not (yet) sent, oldest first; with include_sent, everything."""
        with self.store.session() as session:
            query = select(OutboxMail).order_by(OutboxMail.id)
            if not include_sent:
                query = query.where(OutboxMail.status.in_(ATTENTION))
            rows = session.exec(query).all()
        return [{"id": r.id, "status": r.status, "kind": r.kind, "ticket": r.ticket_id,
                 "to": r.recipients, "subject": r.subject, "attempts": r.attempts,
                 "error": r.last_error, "message_id": r.message_id,
                 "created": r.created_at.isoformat(),
                 "next_attempt": r.next_attempt_at.isoformat() if r.next_attempt_at else None}
                for r in rows] + self._unwritten() + self._alerts_unwritten() + self._unacknowledged()

    def _unwritten(self) -> list[dict]:
        """Letters to our people the walk decided on but that could not be written."""
        return [{"id": "-", "status": "not written", "kind": n.kind, "ticket": n.ticket_id,
                 "to": n.detail or "on-call", "subject": "", "attempts": n.attempts,
                 "error": n.last_error, "message_id": None, "created": n.created_at.isoformat(),
                 "next_attempt": None}
                for n in self.pending.failed()]

    def _alerts_unwritten(self) -> list[dict]:
        """The on-call alert that keeps failing to be written (retried every round)."""
        with self.store.session() as session:
            alert = unwritten_alert(session)
        if alert is None:
            return []
        tickets = alert["tickets"]
        return [{"id": "-", "status": "not written", "kind": MailKind.ALERT,
                 "ticket": tickets[0] if len(tickets) == 1 else None,
                 "to": alert["to"] or "on-call", "subject": ", ".join(f"#{t}" for t in tickets),
                 "attempts": alert["attempts"],
                 "error": alert["error"] + " (tried again every round until the critical_alert "
                                           "template renders)",
                 "message_id": None, "created": alert["since"], "next_attempt": None}]

    def _unacknowledged(self) -> list[dict]:
        """New tickets whose acknowledgement failed, with why; `tickets acknowledge N` retries."""
        with self.store.session() as session:
            failed = session.exec(select(Ticket, Client).join(Client, Client.id == Ticket.client_id)
                                  .where(Ticket.acknowledgement == Acknowledgement.FAILED)
                                  .order_by(Ticket.id)).all()
            whys = {ticket.id: session.exec(select(TicketChange.why).where(
                TicketChange.ticket_id == ticket.id, TicketChange.field == "acknowledgement",
                TicketChange.new == Acknowledgement.FAILED).order_by(TicketChange.id)).all()
                for ticket, _ in failed}
        return [{"id": "-", "status": "not sent", "kind": MailKind.ACKNOWLEDGEMENT,
                 "ticket": ticket.id, "to": client.email, "subject": ticket.subject,
                 "attempts": len(whys[ticket.id]),
                 "error": (whys[ticket.id][-1] if whys[ticket.id] else "it did not reach the client")
                 + f" (`assistant tickets acknowledge {ticket.id}` writes it again)",
                 "message_id": None, "created": ticket.created_at.isoformat(), "next_attempt": None}
                for ticket, client in failed]

    def retry(self, number: int) -> str:
        """Queue a failed, uncertain or blocked mail again, to go out on the next send."""
        with self.store.session() as session:
            row = session.get(OutboxMail, number)
            if row is None:
                raise NotFound(f"no outgoing mail {number}")
            if row.status not in RETRYABLE:
                raise Rejected(f"mail {number} is {row.status}; only failed, uncertain or "
                               f"blocked mail can be sent again")
            old, row.status = row.status, OutboxStatus.QUEUED
            row.next_attempt_at, row.attempts = self.clock(), 0
            row.last_error = f"queued again by the operator (was {old})"
        return f"mail {number} ({old}) is queued again"
