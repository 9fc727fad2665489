"""A ticket's reporting rhythm: its next checkpoint, and whether its deadline is on track."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from assistant.store.models import Client, Ticket
from assistant.store.states import OPEN_STATUSES, Acknowledgement
from assistant.policy.sla import SlaBook

ON_TRACK, AT_RISK, OVERDUE = "on_track", "at_risk", "overdue"
PAGE = 500     # tickets loaded per query: bounded memory whatever the number of open tickets


@dataclass(frozen=True)
class OpenTicket:
    """The columns of an open ticket and its client that reports and summaries read."""

    id: int
    subject: str
    status: str
    priority: str
    critical: bool
    language: str
    assignee: str | None
    created_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_response_at: datetime | None
    client_last_heard_at: datetime | None
    reopened_at: datetime | None
    acknowledgement: Acknowledgement
    client_email: str
    client_name: str
    internal: bool

    @property
    def tag(self) -> str:
        return f"[#{self.id}]"

    @property
    def last_contact(self) -> datetime:
        """Where the reporting rhythm starts: when the client last heard from us (a ticket
        nobody answered counts from its opening), or when they reopened it, if later."""
        heard = self.client_last_heard_at or self.created_at
        return max(heard, self.reopened_at) if self.reopened_at else heard

    @property
    def untouched_history(self) -> bool:
        """Imported old mail nobody has written to since: no report or alert is due on it."""
        return self.acknowledgement == Acknowledgement.NONE and self.client_last_heard_at is None


_COLUMNS = (Ticket.id, Ticket.subject, Ticket.status, Ticket.priority, Ticket.critical,
            Ticket.language, Ticket.assignee, Ticket.created_at, Ticket.first_response_due,
            Ticket.resolution_due, Ticket.first_response_at, Ticket.client_last_heard_at,
            Ticket.reopened_at, Ticket.acknowledgement, Client.email, Client.name, Client.internal)


def open_tickets(session: Session, page: int = PAGE) -> Iterator[list[OpenTicket]]:
    """Every open ticket, a page at a time, soonest deadline first.

    The ids come from the (status, resolution_due) index alone: closed tickets, however
    many, are never read. An index on the deadline alone would walk the long tail of
    old, closed tickets whose deadlines passed long ago (MEASURED.md: 480 ms against
    0.7 ms at a million tickets).
    """
    ids = session.exec(select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES))
                       .order_by(Ticket.resolution_due, Ticket.id)).all()
    for start in range(0, len(ids), page):
        chunk = ids[start:start + page]
        rows = session.exec(select(*_COLUMNS).join(Client, Client.id == Ticket.client_id)
                            .where(Ticket.id.in_(chunk))).all()
        by_id = {row[0]: OpenTicket(*row) for row in rows}
        yield [by_id[i] for i in chunk if i in by_id]


class Rhythm:
    """How often a client hears from us, from the cadence of rules/sla.toml."""

    def __init__(self, sla: SlaBook):
        self.sla = sla
        self._terms: dict[tuple[str, bool, str], tuple[str, timedelta, bool]] = {}

    def _rhythm_of(self, ticket: OpenTicket) -> tuple[str, timedelta, bool]:
        # Terms depend only on the address and priority; a summary of thousands of tickets
        # from a few hundred clients asks for each combination once.
        priority = "critical" if ticket.critical else ticket.priority
        key = (ticket.client_email, ticket.internal, priority)
        if key not in self._terms:
            calendar, targets = self.sla.terms(ticket.client_email, ticket.internal)
            span = self.sla.cadence(priority, ticket.client_email, ticket.internal)
            plain = targets[priority].around_the_clock or calendar.around_the_clock
            self._terms[key] = (calendar.name, span, plain)
        return self._terms[key]

    def cadence(self, ticket: OpenTicket) -> timedelta:
        return self._rhythm_of(ticket)[1]

    def after_cadence(self, ticket: OpenTicket, start: datetime) -> datetime:
        """`start` plus one reporting interval: working time, or plain hours for a critical one.

        A high ticket reported on Friday at 17:00 in a 09:00–18:00 calendar with a cadence
        of one working day is next reported on Monday at 17:00 (or later, past holidays).
        """
        calendar, span, plain = self._rhythm_of(ticket)
        if plain:
            return start + span
        return self.sla.add_business_time(calendar, start, span)

    def checkpoint(self, ticket: OpenTicket, promised: list[datetime] | None = None) -> datetime:
        """When the client must hear from us next: the earliest time we promised and still
        owe, or one cadence after they last heard from us, whichever comes first.

        A promise older than the client's last letter from us was made good by that letter.
        """
        by_cadence = self.after_cadence(ticket, ticket.last_contact)
        owed = [due for due in promised or () if due > ticket.last_contact]
        return min([by_cadence, *owed])


def deadline_status(ticket: OpenTicket, now: datetime, at_risk_share: float) -> str:
    """"overdue" when a deadline passed, "at_risk" when less than `at_risk_share` of its
    window is left, else "on_track". An answered ticket only has its resolution deadline."""
    windows = [ticket.resolution_due]
    if ticket.first_response_at is None:
        windows.append(ticket.first_response_due)
    status = ON_TRACK
    for due in filter(None, windows):
        if due <= now:
            return OVERDUE
        if due - now < (due - ticket.created_at) * at_risk_share:
            status = AT_RISK
    return status
