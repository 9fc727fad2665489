"""The acknowledgement of a new ticket: marked due in the walk, written after it commits.

The letter is written after the batch is committed, not inside the walk: a broken
template or a slow tone check then never holds up, or undoes, the tickets. It goes out
at once when the settings allow and the tone checker finds nothing, else it waits for
the ticket's consultant. Imported history (`assistant import`) is not acknowledged:
those clients wrote long ago.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from assistant.config import Settings
from assistant.replies.compose import Composer
from assistant.replies.context import last_client_message
from assistant.replies.dispatch import Dispatcher
from assistant.replies.review import Review
from assistant.store.database import Store, claim_due, in_savepoint
from assistant.errors import AssistantError, crash_reason
from assistant.store.models import Ticket, TicketChange
from assistant.store.states import Acknowledgement, DraftStatus, Fate
from assistant.tickets import state as ticketstate
from assistant.walk.passage import Outcome, Passage

log = logging.getLogger("assistant.replies.acknowledge")


class Acknowledge:
    """The walk's stage: a new ticket is owed an acknowledgement."""

    def __call__(self, passage: Passage) -> Outcome | None:
        if passage.fate is Fate.NEW_TICKET and passage.acknowledge:
            passage.ticket.acknowledgement = Acknowledgement.DUE
        return None


@dataclass(eq=False)
class Acknowledgements:
    """Writes the acknowledgements due; several daemons never write the same one."""

    settings: Settings
    store: Store
    clock: Callable[[], datetime]
    composer: Composer
    dispatcher: Dispatcher
    review: Review

    def write_due(self, limit: int = 500) -> int:
        """Acknowledge new tickets, oldest first; returns how many were written."""
        done = 0
        with self.store.session() as session:
            query = select(Ticket).where(Ticket.acknowledgement == Acknowledgement.DUE).order_by(Ticket.id)
            for ticket in claim_due(session, query, limit):
                failed = in_savepoint(session, lambda: self._acknowledge(session, ticket, self.clock()))
                if failed is None:
                    done += 1
                    continue
                log.error("acknowledge: no acknowledgement for %s", ticket.tag, exc_info=failed)
                # Shown by `outbox list` and `status`; `tickets acknowledge N` retries it.
                ticket.acknowledgement = Acknowledgement.FAILED
                session.add(TicketChange(ticket_id=ticket.id, field="acknowledgement",
                                         old=Acknowledgement.DUE, new=Acknowledgement.FAILED,
                                         why=_why_not_written(failed), at=self.clock()))
        return done

    def _acknowledge(self, session: Session, ticket: Ticket, now: datetime) -> None:
        ticketstate.assign_if_unowned(ticket, ticketstate.pick_consultant(self.settings, ticket))
        # The acknowledgement answers the mail that opened the ticket, even when the
        # client wrote again before it went out.
        first = last_client_message(session, ticket, first=True)
        auto = bool(self.settings.approval.auto_send_acknowledgement)
        draft = self.composer.draft(session, ticket, "acknowledgement", now,
                                    in_reply_to=first.message_id if first else None, automatic=auto)
        if auto and draft.findings == "[]":
            self.dispatcher.send_on_its_own(session, draft, now)
            ticket.acknowledgement = Acknowledgement.BLOCKED if draft.status == DraftStatus.BLOCKED \
                else Acknowledgement.SENT
            return
        self.review.ask(session, draft, None, now)
        ticket.acknowledgement = Acknowledgement.DRAFTED


def _why_not_written(exc: Exception) -> str:
    """One line for the operator: our own errors (a broken template) name their cause."""
    if isinstance(exc, AssistantError):
        return (str(exc).splitlines() or [type(exc).__name__])[0][:500]
    return crash_reason(exc, "writing the acknowledgement")
