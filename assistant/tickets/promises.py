"""Times we gave clients: recorded when the letter is sent, kept when they hear from us in time."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, select

from assistant.store.models import Draft, Promise, Ticket, TicketChange, WorkLogEntry
from assistant.store.states import OPEN_STATUSES, PromiseState

log = logging.getLogger("assistant.tickets.promises")

ASSISTANT = "assistant"


def knows(session: Session, ticket_id: int, person: str | None) -> bool:
    """True when `person` has acted on the ticket: taken it, decided a draft, logged work.

    A letter that goes out on its own carries a consultant's name, and makes a promise in
    it, only when that consultant knows the ticket; until then it is the team's letter.
    """
    if not person:
        return False
    acted = session.exec(select(TicketChange.id).where(
        TicketChange.ticket_id == ticket_id, TicketChange.who == person)).first()
    if acted is not None:
        return True
    return session.exec(select(WorkLogEntry.id).where(
        WorkLogEntry.ticket_id == ticket_id, WorkLogEntry.author == person)).first() is not None


def promiser(session: Session, draft: Draft) -> str:
    """Who answers for the time a letter promised: whoever approved it; for a letter that
    went out on its own, the consultant it was signed by when they knew the ticket, else
    the team ("assistant")."""
    if draft.decided_by and draft.decided_by != ASSISTANT:
        return draft.decided_by
    if draft.consultant and knows(session, draft.ticket_id, draft.consultant):
        return draft.consultant
    return ASSISTANT


def record(session: Session, draft: Draft, now: datetime) -> Promise | None:
    """The client has just heard from us: earlier promises are settled, the new one starts.

    A promise whose time has not come is kept; one whose time passed before this letter
    went out was missed, and stays missed. Returns the new promise, or None when the
    letter named no time (a resolution) or a time already past.
    """
    kept(session, draft.ticket_id, now)
    if draft.next_contact_at is None or draft.next_contact_at <= now or draft.situation == "resolved":
        return None
    promise = Promise(ticket_id=draft.ticket_id, due=draft.next_contact_at, draft_id=draft.id,
                      promised_by=promiser(session, draft), made_at=now)
    session.add(promise)
    session.flush()
    return promise


def kept(session: Session, ticket_id: int, now: datetime) -> None:
    """The client heard from us at `now`: open promises due later are kept, earlier ones missed."""
    for promise in session.exec(select(Promise).where(Promise.ticket_id == ticket_id,
                                                      Promise.state == PromiseState.OPEN)).all():
        if promise.due >= now:
            promise.state, promise.kept_at = PromiseState.KEPT, now
        else:
            _miss(promise)


def settle(session: Session, now: datetime) -> list[Promise]:
    """Mark every open promise whose time passed as missed; returns those just missed.

    Promises on tickets that closed before their time are void: nobody waits for them.
    """
    missed = []
    rows = session.exec(select(Promise, Ticket.status).join(Ticket, Ticket.id == Promise.ticket_id)
                        .where(Promise.state == PromiseState.OPEN, Promise.due <= now)).all()
    for promise, status in rows:
        if status in OPEN_STATUSES:
            _miss(promise)
            missed.append(promise)
            log.warning("promises: #%d: the update promised for %s by %s was missed",
                        promise.ticket_id, promise.due.isoformat(), promise.promised_by)
        else:
            promise.state = PromiseState.VOID
    return missed


def _miss(promise: Promise) -> None:
    promise.state, promise.missed_at = PromiseState.MISSED, promise.due


def owed_by_ticket(session: Session, missed_since: datetime,
                   ticket_ids: list[int] | None = None) -> dict[int, list[datetime]]:
    """The times still owed on each ticket (of the given ones, or all): open promises, and
    promises missed after `missed_since` — a missed time still calls for the letter.

    Rhythm.checkpoint drops a missed one once the client has heard from us after it.
    """
    query = select(Promise.ticket_id, Promise.due).where(or_(
        Promise.state == PromiseState.OPEN,
        and_(Promise.state == PromiseState.MISSED, Promise.due >= missed_since)))
    if ticket_ids is not None:
        query = query.where(Promise.ticket_id.in_(ticket_ids))
    owed: dict[int, list[datetime]] = {}
    for ticket_id, due in session.exec(query).all():
        owed.setdefault(ticket_id, []).append(due)
    return owed


def about_to_be_missed(session: Session, now: datetime, lead) -> list[Promise]:
    """Open promises due within `lead` that nobody has been reminded of yet."""
    return list(session.exec(select(Promise).where(
        Promise.state == PromiseState.OPEN, Promise.due <= now + lead, Promise.due > now,
        Promise.alerted_at.is_(None))).all())


def missed_since(session: Session, ticket_ids: list[int]) -> dict[int, list]:
    """Missed promises of the given tickets, oldest first (plain rows: due, promised_by, ...)."""
    found: dict[int, list] = {}
    columns = (Promise.ticket_id, Promise.due, Promise.promised_by, Promise.missed_at)
    rows = session.exec(select(*columns).where(Promise.ticket_id.in_(ticket_ids),
                                               Promise.state == PromiseState.MISSED)
                        .order_by(Promise.due)).all()
    for promise in rows:
        found.setdefault(promise.ticket_id, []).append(promise)
    return found


def of_ticket(session: Session, ticket_id: int) -> list[Promise]:
    """Every promise made on a ticket, in the order of their times."""
    return list(session.exec(select(Promise).where(Promise.ticket_id == ticket_id)
                             .order_by(Promise.due, Promise.id)).all())
