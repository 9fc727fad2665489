"""Alerts to consultants: a silent ticket, a deadline or a promise about to pass, a critical one unowned."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from assistant.replies import grammar
from assistant.tickets import promises
from assistant.store.models import AlertSent, Draft, Promise
from assistant.store.states import DraftStatus, MailKind
from assistant.config import Settings
from assistant.policy.sla import SlaBook
from assistant.policy.timetable import Timetable
from assistant.replies.oncall import alert_message_id
from assistant.replies.staff import StaffMail
from assistant.schedule.rhythm import OpenTicket, Rhythm
from assistant.tickets.conversation import Signatures

log = logging.getLogger("assistant.schedule.alerts")


@dataclass(frozen=True)
class Alert:
    ticket: OpenTicket
    kind: str                   # silence | deadline | unowned | promise
    key: str                    # with ticket and kind, what makes it new (see AlertSent)
    to: tuple[str, ...]
    due: datetime | None = None         # the deadline or promised time
    which: str = ""                     # deadline: first_response | resolution
    promised_by: str = ""
    promise_id: int | None = None


@dataclass(eq=False)
class Alerts:
    """Finds what needs a consultant now and tells each person once, in one mail."""

    settings: Settings
    timetable: Timetable
    rhythm: Rhythm
    sla: SlaBook
    staff: StaffMail
    signatures: Signatures

    def __post_init__(self):
        self.people = {p.email: p for p in self.settings.consultants}
        self.domain = self.settings.support.domain

    def _owner(self, ticket: OpenTicket, someone: str | None = None) -> tuple[str, ...]:
        """The person an alert is for: whoever promised, else the ticket's consultant,
        else the on-call list, so an alert never goes nowhere."""
        for address in (someone, ticket.assignee):
            if address and "@" in address:
                return (address,)
        return tuple(self.sla.oncall())

    def about_ticket(self, ticket: OpenTicket, now: datetime) -> list[Alert]:
        """Silence, deadlines and ownership of one open ticket."""
        found = []
        if ticket.untouched_history:
            return []           # imported old mail: nobody is alerted unless someone picks it up
        if ticket.status not in self.timetable.quiet_statuses:
            since = ticket.last_contact
            if self.rhythm.after_cadence(ticket, since) < now:
                found.append(Alert(ticket, "silence", since.isoformat(), self._owner(ticket), due=since))
        deadlines = [("resolution", ticket.resolution_due)]
        if ticket.first_response_at is None:
            deadlines.insert(0, ("first_response", ticket.first_response_due))
        for which, due in deadlines:
            if due is not None and now < due <= now + self.timetable.deadline_lead:
                found.append(Alert(ticket, "deadline", f"{which}:{due.isoformat()}",
                                   self._owner(ticket), due=due, which=which))
        if ticket.critical and not ticket.assignee and self.timetable.unowned_critical:
            everyone = tuple(dict.fromkeys([*self.people, *self.sla.oncall()]))
            found.append(Alert(ticket, "unowned", "unowned", everyone))
        return found

    def about_promises(self, session: Session, now: datetime,
                       tickets: dict[int, OpenTicket]) -> list[Alert]:
        """Promises nobody has kept yet, due within the lead time."""
        found = []
        for promise in promises.about_to_be_missed(session, now, self.timetable.promise_lead):
            ticket = tickets.get(promise.ticket_id)
            if ticket is not None:
                found.append(Alert(ticket, "promise", str(promise.id),
                                   self._owner(ticket, promise.promised_by), due=promise.due,
                                   promised_by=promise.promised_by, promise_id=promise.id))
        return found

    def send(self, session: Session, alerts: list[Alert], now: datetime) -> int:
        """Queue one mail per person with every alert not given before; returns how many alerts."""
        fresh = [a for a in alerts if session.exec(select(AlertSent.id).where(
            AlertSent.ticket_id == a.ticket.id, AlertSent.kind == a.kind,
            AlertSent.key == a.key)).first() is None]
        by_person: dict[str, list[Alert]] = {}
        for alert in fresh:
            for address in alert.to:
                by_person.setdefault(address, []).append(alert)
            session.add(AlertSent(ticket_id=alert.ticket.id, kind=alert.kind, key=alert.key,
                                  sent_to=",".join(alert.to), at=now))
            if alert.promise_id is not None:
                session.get(Promise, alert.promise_id).alerted_at = now
            log.warning("alerts: %s %s -> %s", alert.ticket.tag, alert.kind, ", ".join(alert.to))
        for address, items in by_person.items():
            self._mail(session, address, items, now)
        session.flush()
        return len(fresh)

    def _mail(self, session: Session, address: str, alerts: list[Alert], now: datetime) -> None:
        lang = self.staff.language(address)
        items = [self._item(session, alert, lang, now) for alert in alerts]
        # A signed Message-ID naming the tickets: a reply to this alert is known for what it is.
        message_id = alert_message_id(self.signatures(session), [a.ticket.id for a in alerts],
                                      self.domain)
        self.staff.send(session, (address,), "alerts", lang, message_id=message_id, kind=MailKind.ALERT,
                        ticket_id=alerts[0].ticket.id if len(alerts) == 1 else None,
                        scheduled=True, items=items,
                        person=self.staff.greeting_name(address, lang))

    def _item(self, session: Session, alert: Alert, lang: str, now: datetime) -> dict:
        ticket, zone = alert.ticket, self.settings.support.timezone
        waiting = session.exec(select(Draft.id).where(
            Draft.ticket_id == ticket.id, Draft.status == DraftStatus.PENDING)
            .order_by(Draft.id.desc())).first()
        by = alert.promised_by
        return {
            "kind": alert.kind, "id": ticket.id, "tag": ticket.tag, "subject": ticket.subject,
            "client": ticket.client_email, "internal": ticket.internal,
            "priority": "critical" if ticket.critical else ticket.priority,
            "due": grammar.when(alert.due, lang, zone, now) if alert.due else "",
            "which": alert.which,
            "silent_for": spoken(now - alert.due, lang) if alert.kind == "silence" else "",
            "cadence": spoken(self.rhythm.cadence(ticket), lang),
            "promised_by": self.people[by].name if by in self.people else by,
            "draft": waiting,
        }


def spoken(span: timedelta, lang: str) -> str:
    """ "2 часа 30 минут", "3 days": a span as a person says it, to the minute under a day."""
    minutes = max(0, int(span.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    units = (("день", "day"), ("час", "hour"), ("минута", "minute"))
    parts = [(n, unit) for n, unit in zip((days, hours, minutes), units) if n]
    if days:
        parts = parts[:2]
    index = 0 if lang == "ru" else 1
    # Russian says a span in the accusative: "не писали 1 минуту", "раз в 2 часа".
    words = [grammar.plural(n, unit[index], case="accs") for n, unit in parts] \
        or [grammar.plural(0, units[2][index], case="accs")]
    return " ".join(words) if lang == "ru" else " and ".join(words)
