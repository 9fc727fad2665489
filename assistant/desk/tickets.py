"""What consultants and operators do with tickets and quarantine from the command line."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from assistant.config import Settings
from assistant.tickets import state as ticketstate
from assistant.errors import NotFound, Rejected
from assistant.policy.sla import SlaBook
from assistant.store.database import Store
from assistant.tickets import conversation
from assistant.store.glance import quarantine_row, ticket_row
from assistant.store.raw import raw_bytes
from assistant.store.models import Client, Draft, Quarantine, Ticket, TicketChange
from assistant.store.states import (OPEN_STATUSES, PRIORITIES, Acknowledgement, DraftStatus, Fate,
                                    QuarantineKind, Status)

if TYPE_CHECKING:       # the walk loads the language pipelines, which listing never needs
    from assistant.walk.pipeline import Walk
    from assistant.walk.passage import Outcome

SETTABLE = {"priority": PRIORITIES, "status": tuple(s.value for s in Status),
            "category": None, "assignee": None}


class Desk:
    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime],
                 sla: SlaBook, walk: Callable[[], Walk]):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.sla = sla
        self._walk = walk       # the walk loads the language pipelines: built when first retried

    def queue(self, *, assignee: str | None = None, unassigned: bool = False,
              domains: tuple[str, ...] | None = None, limit: int = 50,
              offset: int = 0) -> tuple[int, list[dict]]:
        """(how many, one page) of open tickets in the order `store.glance` lists them,
        sorted by the database.

        Each row also carries its priority reasons, when the client last heard from us and
        the drafts waiting on it. `domains` keeps the tickets of those client domains only.
        """
        due = case((and_(Ticket.first_response_at.is_(None), Ticket.first_response_due.is_not(None)),
                    Ticket.first_response_due), else_=Ticket.resolution_due)
        # Open ids come from the (status, resolution_due) index alone. Asked directly,
        # SQLite's statistics see six statuses, guess two thirds of the table is open and
        # scan it all (MEASURED: 650 ms at 100k tickets against 15 ms this way).
        inner = aliased(Ticket)
        where = [Ticket.id.in_(select(inner.id).where(inner.status.in_(OPEN_STATUSES)))]
        if assignee:
            where.append(Ticket.assignee == assignee)
        if unassigned:
            where.append(Ticket.assignee.is_(None))
        if domains is not None:
            where.append(or_(False, *(Client.email.like(f"%@{d}") for d in domains),
                             *(Client.email.like(f"%.{d}") for d in domains)))

        def scoped(query):
            query = query.where(*where)
            return query.join(Client, Client.id == Ticket.client_id) if domains is not None else query

        with self.store.session() as session:
            # Unfiltered, the count is read from the index alone, without touching a row.
            count = session.exec(scoped(select(func.count()).select_from(Ticket)) if len(where) > 1
                                 else select(func.count()).select_from(Ticket).where(
                                     Ticket.status.in_(OPEN_STATUSES))).one()
            ids = session.exec(scoped(select(Ticket.id)).order_by(
                Ticket.critical.desc(), due.is_(None), due, Ticket.id).offset(offset).limit(limit)).all()
            found = {ticket.id: (ticket, client) for ticket, client in session.exec(
                select(Ticket, Client).join(Client, Client.id == Ticket.client_id)
                .where(Ticket.id.in_(ids))).all()}
            rows = [found[i] for i in ids if i in found]
            drafts = session.exec(select(Draft.id, Draft.ticket_id, Draft.situation,
                                         Draft.consultant, Draft.findings).where(
                Draft.ticket_id.in_(ids), Draft.status == DraftStatus.PENDING).order_by(Draft.id)).all()
        now = self.clock()
        page = []
        for ticket, client in rows:
            row = self._row(ticket, client, now)
            row.update(reasons=json.loads(ticket.priority_reasons or "[]"),
                       client_last_heard=_iso(ticket.client_last_heard_at),
                       silent_seconds=int((now - (ticket.client_last_heard_at or ticket.created_at))
                                          .total_seconds()),
                       drafts=[{"id": d.id, "situation": d.situation, "consultant": d.consultant,
                                "findings": len(json.loads(d.findings))}
                               for d in drafts if d.ticket_id == ticket.id])
            page.append(row)
        return count, page

    def _row(self, ticket: Ticket, client: Client, now: datetime) -> dict:
        return ticket_row(ticket, client, now, self.settings.support.timezone)

    def change_ticket(self, number: int, changes: dict[str, str], who: str, why: str) -> list[str]:
        """Apply consultant overrides; each is recorded with who and why."""
        for field, value in changes.items():
            if field not in SETTABLE:
                raise Rejected(f"cannot set {field!r}; settable: {', '.join(SETTABLE)}")
            allowed = SETTABLE[field]
            if allowed and value not in allowed:
                raise Rejected(f"{field} must be one of {', '.join(allowed)}, not {value!r}")
        now = self.clock()
        said = []
        with self.store.session() as session:
            ticket = _ticket(session, number)
            client = session.get(Client, ticket.client_id)
            for field, value in changes.items():
                old = getattr(ticket, field) or ""
                if old == value:
                    continue
                self._set(session, ticket, client, field, value, who, why or "set by hand", now)
                said.append(f"{ticket.tag} {field}: {old or '-'} → {value}")
            ticket.updated_at = now
        return said or [f"{ticket.tag}: nothing to change"]

    def acknowledge_again(self, number: int, who: str, why: str) -> str:
        """Make a failed acknowledgement due again: the daemon writes it on its next round.

        Only a failed one: a sent, drafted or blocked one has its letter already (a blocked
        letter goes again with `assistant outbox retry`).
        """
        with self.store.session() as session:
            ticket = _ticket(session, number)
            old = ticket.acknowledgement
            if old != Acknowledgement.FAILED:
                raise Rejected(f"{ticket.ref}: the acknowledgement is {old}, not failed; "
                               f"nothing was changed")
            ticket.acknowledgement = Acknowledgement.DUE
            session.add(TicketChange(ticket_id=number, field="acknowledgement", old=old,
                                     new=Acknowledgement.DUE, who=who,
                                     why=why or "to be written again", at=self.clock()))
        return f"{ticket.ref}: the acknowledgement is due again; the daemon writes it on its next round"

    def _set(self, session: Session, ticket: Ticket, client: Client, field: str, value: str,
             who: str, why: str, now: datetime) -> None:
        """One override with its history row: status and owner go through ticketstate."""
        if field == "status":
            ticketstate.move(session, ticket, Status(value), who=who, why=why, now=now)
        elif field == "assignee":
            ticketstate.assign(session, ticket, value, by=who, why=why, now=now)
        else:
            session.add(TicketChange(ticket_id=ticket.id, field=field, old=getattr(ticket, field) or "",
                                     new=value, who=who, why=why, at=now))
            setattr(ticket, field, value)
        if field == "priority":
            # The SLA counts from now, yet never past the time the client named.
            ticket.critical = ticket.priority == "critical"
            ticketstate.set_deadlines(ticket, client, self.sla, now)

    def quarantine_detail(self, number: int) -> dict:
        with self.store.session() as session:
            row = session.get(Quarantine, number)
            if row is None:
                raise NotFound(f"nothing in quarantine under number {number}")
            raw = raw_bytes(session, self.settings, row.content_hash)
        detail = quarantine_row(row)
        detail["size"] = len(raw)
        detail["head"] = raw[:2000].decode("utf-8", "replace")
        return detail

    def retry_quarantined(self, number: int, release: bool = False) -> Outcome:
        """Walk a quarantined message again (after a fix), or release a held one onto its ticket."""
        with self.store.session() as session:
            row = session.get(Quarantine, number)
            if row is None:
                raise NotFound(f"nothing in quarantine under number {number}")
            if row.resolved_at is not None:
                raise Rejected(f"quarantine {number} was already settled: {row.resolution}")
            if release and row.kind != QuarantineKind.HELD or release and row.ticket_id is None:
                raise Rejected(f"quarantine {number} is not a held reply; use retry")
            raw = raw_bytes(session, self.settings, row.content_hash)
            if release:
                ticket = session.get(Ticket, row.ticket_id)
                conversation.add_participants(session, ticket, (row.from_address,), self.settings)
            row.resolved_at = self.clock()
            outcome = self._walk().process_in(session, raw, row.source, retry=True)
            row.resolution = (f"{outcome.fate.value}" + (f" #{outcome.ticket_id}"
                                                          if outcome.ticket_id else ""))
            if outcome.fate is Fate.QUARANTINED:
                # A new quarantine row replaced this one; the old row is closed with a pointer.
                row.resolution = f"quarantined again: {outcome.reason}"
        return outcome


def _ticket(session: Session, number: int) -> Ticket:
    ticket = session.get(Ticket, number)
    if ticket is None:
        raise NotFound(f"no ticket #{number}")
    return ticket


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
