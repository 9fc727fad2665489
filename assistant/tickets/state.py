"""The one writer of a ticket's state: its status with the history row, its deadlines, its owner.

Every change a person would ask about later ("who resolved this, and why?") leaves a
`TicketChange` row written here, so the audit trail cannot depend on each caller
remembering it. Deadlines follow one rule, whoever recomputes them: the SLA's targets
from now, never later than the time the client named themselves.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session, select

from assistant.config import Settings
from assistant.store.models import Client, Ticket, TicketChange
from assistant.store.states import Status
from assistant.policy.sla import SlaBook

log = logging.getLogger("assistant.tickets.state")

# The client writing again brings these back to work (see `reopen`).
DONE_OR_WAITING = (Status.RESOLVED, Status.CLOSED, Status.WAITING)
ASSISTANT = "assistant"


def move(session: Session, ticket: Ticket, to: Status, *, now: datetime, who: str = ASSISTANT,
         why: str = "") -> bool:
    """Put `ticket` in status `to` with a history row; False (and nothing written) if it is there.

    Resolving stamps `resolved_at`: the trends count resolution times from it.
    """
    old = Status(ticket.status)
    to = Status(to)
    if old is to:
        return False
    ticket.status, ticket.updated_at = to, now
    if to is Status.RESOLVED:
        ticket.resolved_at = now
    session.add(TicketChange(ticket_id=ticket.id, field="status", old=old.value, new=to.value,
                             who=who, why=why, at=now))
    log.info("ticketstate: %s %s -> %s by %s", ticket.tag, old.value, to.value, who)
    return True


def reopen(session: Session, ticket: Ticket, message_id: str, now: datetime) -> bool:
    """The client wrote `message_id` to a resolved, closed or waiting ticket: it is open again.

    `reopened_at` restarts the reporting rhythm from the client's mail. Returns True when
    the ticket was reopened; `undo_reopen` can take it back while the walk still holds it.
    """
    if Status(ticket.status) not in DONE_OR_WAITING:
        return False
    move(session, ticket, Status.OPEN, now=now, why=_reopened_by(message_id))
    ticket.reopened_at = now
    return True


def undo_reopen(session: Session, ticket: Ticket, message_id: str) -> Status | None:
    """Take back a reopening of a resolved or closed ticket by `message_id` («спасибо, всё
    работает»): the status it had comes back and the history forgets the reopening.

    Returns that status, or None when `message_id` reopened nothing resolved or closed.
    """
    reopened = session.exec(select(TicketChange).where(
        TicketChange.ticket_id == ticket.id, TicketChange.field == "status",
        TicketChange.why == _reopened_by(message_id))).first()
    if reopened is None or reopened.old not in (Status.RESOLVED, Status.CLOSED):
        return None
    session.delete(reopened)
    ticket.status, ticket.reopened_at = Status(reopened.old), None
    return ticket.status


def _reopened_by(message_id: str) -> str:
    return f"the client wrote again ({message_id})"


def assign(session: Session, ticket: Ticket, person: str | None, *, by: str, why: str,
           now: datetime) -> bool:
    """Give the ticket to `person` (None or "": nobody), with a history row saying who decided.

    Returns False, writing nothing, when `person` already has it.
    """
    person = person or None
    if ticket.assignee == person:
        return False
    session.add(TicketChange(ticket_id=ticket.id, field="assignee", old=ticket.assignee or "",
                             new=person or "", who=by, why=why, at=now))
    ticket.assignee = person
    return True


def pick_consultant(settings: Settings, ticket: Ticket) -> str | None:
    """Consultants who speak the ticket's language, taken in turn by ticket number."""
    people = [p for p in settings.consultants if ticket.language in p.languages]
    people = people or list(settings.consultants)
    return people[ticket.id % len(people)].email if people else None


def assign_if_unowned(ticket: Ticket, person: str | None) -> str | None:
    """A ticket nobody owns yet goes to `person`; returns whoever owns it now.

    No history row: this is the routine first owner (a consultant taken in turn, or the
    one who wrote to the client), not somebody's decision to hand the ticket over.
    """
    if not ticket.assignee:
        ticket.assignee = person
    return ticket.assignee


def set_deadlines(ticket: Ticket, client: Client, sla: SlaBook, now: datetime, *,
                  client_deadline: datetime | None = None, keep_earlier: bool = False) -> None:
    """The first-response and resolution deadlines for the ticket's priority, counted from `now`.

    The resolution is due no later than the earliest time the client named (this
    `client_deadline` or one kept on the ticket before); the first answer no later than
    the resolution. `keep_earlier` (a raise by the client's mail) never moves a deadline
    later. Once we have answered, the first-response deadline stays as it was.
    """
    if client_deadline is not None:
        ticket.client_deadline = _earliest(client_deadline, ticket.client_deadline)
    due = sla.deadlines(priority=ticket.priority, critical=ticket.critical,
                        client_email=client.email, internal=client.internal, start=now)
    resolution = _earliest(due.resolution_due, ticket.client_deadline,
                           ticket.resolution_due if keep_earlier else None)
    if ticket.first_response_at is None:
        first = _earliest(due.first_response_due, ticket.first_response_due if keep_earlier else None)
        ticket.first_response_due = min(first, resolution)
    ticket.resolution_due = resolution
    ticket.updated_at = now


def _earliest(*moments: datetime | None) -> datetime:
    return min(m for m in moments if m is not None)
