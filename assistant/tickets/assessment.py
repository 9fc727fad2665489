"""Puts triage's verdict on a ticket: priority, category, deadlines, with the reasons kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import logging
from datetime import datetime

from sqlmodel import Session, select

from assistant.tickets import state as ticketstate
from assistant.config import Settings
from assistant.store.models import Client, Message, Ticket, TicketChange
from assistant.store.states import PRIORITIES, Direction, Fate, Status
from assistant.policy.sla import SlaBook

if TYPE_CHECKING:       # triage brings spaCy; it is handed in, built where it is needed
    from assistant.mail.intake import Incoming
    from assistant.policy.triage import Assessment, Triage

log = logging.getLogger("assistant.tickets.assessment")


def rank(priority: str) -> int:
    """0 for critical … 3 for low: smaller is more urgent."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else len(PRIORITIES)


class Assessor:
    """Runs triage on a ticket's new mail and records what changed and why."""

    def __init__(self, settings: Settings, triage: Triage, sla: SlaBook, on_critical=None,
                 on_access=None):
        self.settings = settings
        self.triage = triage
        self.sla = sla
        # Both only note inside the walk that a letter is due; it is written after the commit.
        self.on_critical = on_critical      # (session, ticket, now) -> None: tell on-call
        self.on_access = on_access          # (session, ticket, owner, now) -> None: ask the owner

    def __call__(self, session: Session, ticket: Ticket, mail: Incoming, fate: Fate,
                 now: datetime, verdict: Assessment | None = None, alert: bool = True,
                 client: Client | None = None) -> Assessment:
        """Assess `mail` for `ticket`. A `verdict` made ahead (in a worker, with the settings'
        language and time zone and no chasing) is used when this client's would change nothing.
        With `alert` False (imported history) a critical ticket pages nobody. `client`, the
        ticket's client, is read by its id unless given."""
        client = client or session.get(Client, ticket.client_id)
        # Chasing: writing again after the first answer was due and still has not come.
        chasing = fate is Fate.REPLY and ticket.first_response_at is None and _earlier_mail(
            session, ticket, mail) and not (ticket.first_response_due and now < ticket.first_response_due)
        default_language = client.language or self.settings.support.language
        tz = client.timezone or self.settings.support.timezone
        if verdict is None or chasing or not self._holds(verdict, mail, now, default_language, tz):
            verdict = self.triage.assess(
                mail.subject, mail.visible_text or mail.text, importance=mail.importance,
                chasing=chasing, now=now, default_language=default_language, tz=tz)
        client.language = verdict.language
        if fate is Fate.NEW_TICKET:
            self._first(session, ticket, client, verdict, now, alert)
        elif rank(verdict.priority) < rank(ticket.priority) or (verdict.critical and not ticket.critical):
            self._raise(session, ticket, client, verdict, now, mail.message_id, alert)
        return verdict

    def _holds(self, verdict: Assessment, mail: Incoming, now: datetime, language: str,
               tz: str) -> bool:
        """True when triage with this client's language and time zone would give `verdict`.

        The default language decides only a text with no letters to tell it by; the time
        zone only where the client names a deadline ("до пятницы").
        """
        if language != self.settings.support.language and not verdict.language_from_text:
            return False
        if tz == self.settings.support.timezone:
            return True
        return verdict.client_deadline is None and self.triage.client_deadline(
            mail.subject, mail.visible_text or mail.text, now, tz) is None

    def _first(self, session, ticket: Ticket, client: Client, verdict: Assessment, now,
               alert: bool) -> None:
        ticket.language = verdict.language
        ticket.priority, ticket.critical = verdict.priority, verdict.critical
        ticket.category = verdict.category
        ticket.priority_reasons = reasons_json(verdict)
        ticketstate.set_deadlines(ticket, client, self.sla, now, client_deadline=verdict.client_deadline)
        if verdict.owner:
            ticket.approver = verdict.owner
            ticketstate.move(session, ticket, Status.HELD, now=now,
                             why=f"access is granted only when {verdict.owner} approves")
            if self.on_access:
                self.on_access(session, ticket, verdict.owner, now)
        # The reasons for the first priority are on the ticket itself (priority_reasons);
        # the history records changes after that.
        if ticket.critical and self.on_critical and alert:
            self.on_critical(session, ticket, now)

    def _raise(self, session, ticket: Ticket, client: Client, verdict: Assessment, now,
               message_id: str, alert: bool) -> None:
        old = ticket.priority + (" (critical)" if ticket.critical else "")
        was_critical = ticket.critical
        ticket.priority = verdict.priority if rank(verdict.priority) < rank(ticket.priority) \
            else ticket.priority
        ticket.critical = ticket.critical or verdict.critical
        ticket.priority_reasons = reasons_json(verdict)
        ticketstate.set_deadlines(ticket, client, self.sla, now, client_deadline=verdict.client_deadline,
                                  keep_earlier=True)
        session.add(TicketChange(
            ticket_id=ticket.id, field="priority", old=old,
            new=ticket.priority + (" (critical)" if ticket.critical else ""), at=now,
            why=f"the client wrote {message_id}: {_why(verdict)}"))
        log.info("assessment: %s priority %s -> %s", ticket.tag, old, ticket.priority)
        if ticket.critical and not was_critical and self.on_critical and alert:
            self.on_critical(session, ticket, now)


def _earlier_mail(session: Session, ticket: Ticket, mail: Incoming) -> bool:
    return session.exec(select(Message.id).where(
        Message.ticket_id == ticket.id, Message.message_id != mail.message_id,
        Message.direction == Direction.IN)).first() is not None


def reasons_json(verdict: Assessment) -> str:
    return json.dumps([{"rule": r.rule, "text": r.text, "effect": r.effect}
                       for r in verdict.reasons], ensure_ascii=False)


def _why(verdict: Assessment) -> str:
    if not verdict.reasons:
        return "no urgency signals"
    return "; ".join(f"{r.effect}: «{r.text}» ({r.rule})" for r in verdict.reasons)
