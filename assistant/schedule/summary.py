"""The manager summary: every open ticket at a glance, as an HTML table with a plain-text part."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date
from sqlmodel import Session

from assistant.config import Settings
from assistant.tickets import promises, worklog
from assistant.errors import TemplateError
from assistant.transport.outbox import AUTO_GENERATED, Letter
from assistant.schedule.rhythm import AT_RISK, ON_TRACK, OVERDUE, OpenTicket, Rhythm, deadline_status, open_tickets
from assistant.policy.timetable import Readers, Timetable
from assistant.mail.subjects import split_subject

log = logging.getLogger("assistant.schedule.summary")

SITUATION = "manager_summary"
STATUS_ORDER = {OVERDUE: 0, AT_RISK: 1, ON_TRACK: 2}


@dataclass
class Row:
    """One open ticket as the summary shows it, before it is cut to a reader's view."""

    ticket: OpenTicket
    status: str
    age: timedelta
    silent_for: timedelta | None        # since the client last heard from us; None: never
    checkpoint: datetime
    consultant: str
    entries: list = field(default_factory=list)     # WorkLogEntry rows since the last summary
    missed: list = field(default_factory=list)      # missed Promise rows not made good since


@dataclass(slots=True)
class Missed:
    due_text: str
    by: str                             # a consultant's name, or "assistant"


@dataclass(slots=True)
class Incident:
    """One row as the templates read it: every time already in words, in the reader's zone.

    A class with slots rather than a dict: Jinja looks up attributes first, and at
    thousands of rows a failed attribute lookup on every dict key costs real time.
    """

    id: int
    tag: str
    subject: str
    client: str
    client_email: str
    internal: bool
    priority: str
    critical: bool
    status: str
    due: datetime | None
    due_text: str
    age_text: str
    heard_text: str
    checkpoint: datetime
    checkpoint_text: str
    checkpoint_late: bool
    done: list
    next: list
    missed: list
    consultant: str


class Summary:
    """Builds the rows from open tickets only, and renders them per reader and language."""

    def __init__(self, settings: Settings, timetable: Timetable, rhythm: Rhythm,
                 templates: jinja2.Environment):
        self.settings = settings
        self.templates = templates
        self.timetable = timetable
        self.rhythm = rhythm
        self.names = {p.email: p.name for p in settings.consultants}

    def collect(self, session: Session, now: datetime, since: datetime | None) -> list[Row]:
        """Every open ticket with its work since `since` and its missed promises, worst first."""
        since = since or now - timedelta(days=1)
        rows: list[Row] = []
        for page in open_tickets(session):
            ids = [t.id for t in page]
            entries = worklog.entries_since(session, ids, since, visible_only=False)
            missed = promises.missed_since(session, ids)
            upcoming = promises.owed_by_ticket(session, now - timedelta(days=14), ids)
            for ticket in page:
                rows.append(Row(
                    ticket=ticket,
                    status=deadline_status(ticket, now, self.timetable.at_risk_share),
                    age=now - ticket.created_at,
                    silent_for=now - ticket.client_last_heard_at if ticket.client_last_heard_at else None,
                    checkpoint=self.rhythm.checkpoint(ticket, upcoming.get(ticket.id)),
                    consultant=self.names.get(ticket.assignee or "", ticket.assignee or ""),
                    entries=entries.get(ticket.id, []),
                    # A missed promise stays on the summary until the client has heard from us.
                    missed=[p for p in missed.get(ticket.id, [])
                            if (p.missed_at or p.due) > since or ticket.last_contact < p.due]))
        far = datetime.max.replace(tzinfo=timezone.utc)
        rows.sort(key=lambda r: (STATUS_ORDER[r.status], not r.ticket.critical,
                                 r.ticket.resolution_due or far, r.ticket.id))
        return rows

    def readers(self) -> list[Readers]:
        """Who gets a summary: our managers (per language), team leads, clients' managers."""
        by_language: dict[str, list[str]] = {}
        for person in self.settings.managers:
            by_language.setdefault(person.languages[0], []).append(person.email)
        ours = [Readers("", tuple(emails), lang) for lang, emails in sorted(by_language.items())]
        return ours + list(self.timetable.team_readers) + list(self.timetable.client_readers)

    def render(self, rows: list[Row], readers: Readers, now: datetime,
               next_at: datetime) -> tuple[str, str, str]:
        """(subject, text, html) of the summary `readers` see, in their language."""
        lang, zone = readers.language, self.settings.support.timezone
        words = TimeWords(lang, zone, now)
        incidents = [self._incident(row, readers, words) for row in rows if _sees(readers, row)]
        values = dict(incidents=incidents, language=lang, client_tz=zone, now=now,
                      next_contact_at=next_at, support_name=self.settings.support_name(lang),
                      client_name=readers.name if readers.domain is None else "", tag="",
                      subject="", reader_is_client=readers.domain is not None)
        subject, text = _split(self._render(f"{lang}/{SITUATION}/1.txt.j2", values))
        html = _split(self._render(f"{lang}/{SITUATION}/1.html.j2", values))[1]
        return subject, text, html

    def _incident(self, row: Row, readers: Readers, words: "TimeWords") -> "Incident":
        ticket = row.ticket
        entries = [e for e in row.entries if e.client_visible or readers.internal_notes]
        return Incident(
            id=ticket.id, tag=ticket.tag, subject=ticket.subject,
            client=ticket.client_name or ticket.client_email, client_email=ticket.client_email,
            internal=ticket.internal, priority=ticket.priority, critical=ticket.critical,
            status=row.status, due=ticket.resolution_due, due_text=words.at(ticket.resolution_due),
            age_text=words.span(row.age),
            heard_text=words.span(row.silent_for) if row.silent_for is not None else "",
            checkpoint=row.checkpoint, checkpoint_text=words.at(row.checkpoint),
            checkpoint_late=row.checkpoint < words.now,
            done=[(e.text, e.client_visible) for e in entries if e.kind == "done"],
            next=[(e.text, e.client_visible) for e in entries if e.kind == "next"],
            missed=[Missed(words.at(p.due), self.names.get(p.promised_by, p.promised_by))
                    for p in row.missed],
            consultant=row.consultant)

    def _render(self, name: str, values: dict) -> str:
        try:
            return self.templates.get_template(name).render(values)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"templates/replies/{name}: {exc}") from exc

    def letters(self, session: Session, now: datetime, since: datetime | None,
                next_at: datetime) -> list[Letter]:
        """The summary of every group of readers that has something to read."""
        rows = self.collect(session, now, since)
        domain = self.settings.support.domain
        letters = []
        for readers in self.readers():
            if readers.domain is not None and not any(_sees(readers, r) for r in rows):
                continue        # a client with nothing open needs no empty table
            subject, text, html = self.render(rows, readers, now, next_at)
            letters.append(Letter(to=readers.emails, subject=subject, text=text, html=html,
                                  message_id=f"summary.{secrets.token_hex(8)}@{domain}",
                                  from_name=self.settings.support.name,
                                  extra_headers=AUTO_GENERATED))
        return letters


def _sees(readers: Readers, row: Row) -> bool:
    ticket = row.ticket
    if readers.domain is not None:
        domain = ticket.client_email.rpartition("@")[2]
        return domain == readers.domain or domain.endswith("." + readers.domain)
    if readers.consultants is not None:
        return ticket.assignee in readers.consultants
    return True


def _split(rendered: str) -> tuple[str, str]:
    subject, rest = split_subject(rendered, f"templates/replies/*/{SITUATION}")
    return subject, rest.strip("\n") + "\n"


class TimeWords:
    """Times and spans in a table's short form, fast enough for thousands of rows.

    "сегодня 15:00", "завтра 10:00", "25.11 10:00"; "today 3:00 PM", "25 Nov 10:00 AM";
    "2 д 3 ч", "45 мин"; "2 d 3 h", "45 min". Letters to clients use grammar.when instead.
    """

    UNITS = {"ru": ("д", "ч", "мин"), "en": ("d", "h", "min")}

    def __init__(self, lang: str, zone: str, now: datetime):
        self.lang = lang if lang in self.UNITS else "en"
        self.zone = ZoneInfo(zone)
        self.now = now
        self.today = now.astimezone(self.zone).date()

    def at(self, moment: datetime | None) -> str:
        if moment is None:
            return "—"
        local = moment.astimezone(self.zone)
        return f"{_day_words(self.lang, local.date(), self.today)} {_clock(self.lang, local.time())}"

    def span(self, span: timedelta) -> str:
        minutes = max(0, int(span.total_seconds()) // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        day, hour, minute = self.UNITS[self.lang]
        if days:
            return f"{days} {day} {hours} {hour}" if hours else f"{days} {day}"
        if hours:
            return f"{hours} {hour} {minutes} {minute}" if minutes else f"{hours} {hour}"
        return f"{minutes} {minute}"


@lru_cache(maxsize=4096)
def _day_words(lang: str, day: date, today: date) -> str:
    offset = (day - today).days
    named = {"ru": {0: "сегодня", 1: "завтра", -1: "вчера"},
             "en": {0: "today", 1: "tomorrow", -1: "yesterday"}}[lang].get(offset)
    if named:
        return named
    if lang == "ru":
        return day.strftime("%d.%m" if day.year == today.year else "%d.%m.%Y")
    return format_date(day, "d MMM" if day.year == today.year else "d MMM y", locale="en")


def _clock(lang: str, moment: time) -> str:
    if lang == "ru":
        return f"{moment.hour:02d}:{moment.minute:02d}"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def row_json(row: Row) -> dict:
    """One row as `assistant report --json` prints it: times in ISO 8601 UTC, spans in seconds."""
    ticket = row.ticket
    return {
        "id": ticket.id, "ref": f"#{ticket.id}", "subject": ticket.subject,
        "client": ticket.client_email, "client_name": ticket.client_name,
        "internal": ticket.internal, "status": ticket.status, "priority": ticket.priority,
        "critical": ticket.critical, "deadline_status": row.status,
        "due": _iso(ticket.resolution_due),
        "first_response_due": _iso(ticket.first_response_due) if ticket.first_response_at is None else None,
        "age_seconds": int(row.age.total_seconds()),
        "client_last_heard": _iso(ticket.client_last_heard_at),
        "silent_seconds": int(row.silent_for.total_seconds()) if row.silent_for is not None else None,
        "done": [{"text": e.text, "kind": e.kind, "client_visible": e.client_visible,
                  "author": e.author, "at": _iso(e.at)} for e in row.entries],
        "next_checkpoint": _iso(row.checkpoint),
        "missed_promises": [{"due": _iso(p.due), "promised_by": p.promised_by} for p in row.missed],
        "consultant": ticket.assignee,
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
