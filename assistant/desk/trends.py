"""Week by week: tickets opened and resolved, first answers and resolutions in time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_
from sqlmodel import Session, select

from assistant.store.models import Client, Ticket


@dataclass
class Side:
    """One week's figures for one kind of client (external clients, or colleagues)."""

    opened: int = 0
    resolved: int = 0
    answered: int = 0               # first answers given this week
    answered_in_time: int = 0
    resolved_in_time: int = 0


@dataclass
class Week:
    start: date                     # the Monday, in the support time zone
    clients: Side = field(default_factory=Side)
    colleagues: Side = field(default_factory=Side)

    def both(self, name: str) -> int:
        return getattr(self.clients, name) + getattr(self.colleagues, name)

    def share(self, kept: str, of: str) -> float | None:
        """kept / of over both sides, or None when nothing happened."""
        total = self.both(of)
        return self.both(kept) / total if total else None


def weekly(session: Session, now: datetime, zone: str, weeks: int = 8,
           domains: tuple[str, ...] | None = None) -> list[Week]:
    """The last `weeks` weeks, oldest first, the current (unfinished) week last.

    Only tickets touched in that span are read (opened, answered or resolved in it);
    `domains` keeps the tickets of those client domains only.
    """
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    since = datetime.combine(first, datetime.min.time(), tz)
    table = {first + timedelta(days=7 * n): Week(first + timedelta(days=7 * n)) for n in range(weeks)}
    query = (select(Ticket.created_at, Ticket.first_response_at, Ticket.first_response_due,
                    Ticket.resolved_at, Ticket.resolution_due, Client.internal, Client.email)
             .join(Client, Client.id == Ticket.client_id)
             .where(or_(Ticket.created_at >= since, Ticket.first_response_at >= since,
                        Ticket.resolved_at >= since)))
    for row in session.exec(query).all():
        if domains is not None and not _in_domains(row.email, domains):
            continue

        def side(moment: datetime) -> Side | None:
            week = table.get(_monday(moment, tz))
            return None if week is None else (week.colleagues if row.internal else week.clients)

        if (s := side(row.created_at)) is not None:
            s.opened += 1
        if row.first_response_at and (s := side(row.first_response_at)) is not None:
            s.answered += 1
            s.answered_in_time += row.first_response_due is None or row.first_response_at <= row.first_response_due
        if row.resolved_at and (s := side(row.resolved_at)) is not None:
            s.resolved += 1
            s.resolved_in_time += row.resolution_due is None or row.resolved_at <= row.resolution_due
    return [table[key] for key in sorted(table)]


def _monday(moment: datetime, tz: ZoneInfo) -> date:
    day = moment.astimezone(tz).date()
    return day - timedelta(days=day.weekday())


def _in_domains(address: str, domains: tuple[str, ...]) -> bool:
    domain = address.rpartition("@")[2].lower()
    return any(domain == d or domain.endswith("." + d) for d in domains)
