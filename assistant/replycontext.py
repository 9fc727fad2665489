"""Gathers what a reply template needs about a ticket: names, the client's words, times."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from assistant.drafting import ReplyContext
from assistant.models import Client, Ticket
from assistant.quoting import own_words


def context_for(session: Session, app, ticket: Ticket, now: datetime, extra: dict,
                quote_first: bool = False, sign_as: str | None = None) -> ReplyContext:
    """The ReplyContext for `ticket`; `extra` carries situation-specific values.

    `sign_as` is the consultant whose name the letter carries; None signs it as the team.
    """
    from assistant.followup import client_words, last_client_message
    client = session.get(Client, ticket.client_id)
    last = last_client_message(session, ticket, first=quote_first)
    consultant = next((p for p in app.settings.consultants if p.email == sign_as), None) \
        if sign_as else None
    language = ticket.language or app.settings.support.language
    next_contact = extra.pop("next_contact_at", None) or _next_contact(app, ticket, client, now)
    return ReplyContext(
        ticket_id=ticket.id, tag=ticket.tag, subject=ticket.subject,
        language=language,
        client_name=_first_name(client.name), client_email=client.email,
        client_tz=client.timezone or app.settings.support.timezone,
        client_words=client_words(own_words(last.visible_text or last.text)) if last else "",
        now=now, next_contact_at=next_contact, priority=ticket.priority,
        critical=ticket.critical, consultant_name=name_in(consultant, language) if consultant else "",
        support_name=app.settings.support_name(ticket.language), extra=extra)


def name_in(person, lang: str) -> str:
    """A consultant's name as a letter in `lang` gives it: `name_en` in English when set,
    else the name in Latin letters (Мария Иванова → Mariia Ivanova); as written in Russian."""
    if person is None:
        return ""
    if lang == "ru" or person.name.isascii():
        return person.name
    return person.name_en or latin(person.name)


# Russian letters in Latin, as passports since 2014 write them (ICAO Doc 9303).
_LATIN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                  ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o",
                   "p", "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "",
                   "e", "iu", "ia"]))


def latin(name: str) -> str:
    """"Мария Иванова" → "Mariia Ivanova"; other letters are kept as they are."""
    out = []
    for char in name:
        low = char.lower()
        if low in _LATIN:
            text = _LATIN[low]
            out.append(text.capitalize() if char.isupper() else text)
        else:
            out.append(char)
    return "".join(out)


def _next_contact(app, ticket: Ticket, client: Client, now: datetime) -> datetime:
    """When the client hears from us next: the nearest deadline still ahead, else one
    reporting rhythm from now, so no letter that leaves the problem open lacks a time."""
    for due in (ticket.first_response_due, ticket.resolution_due):
        if due is not None and due > now:
            return due
    rhythm = app.sla.cadence(ticket.priority, client.email, client.internal)
    calendar = app.sla.terms(client.email, client.internal)[0].name
    return app.sla.add_business_time(calendar, now, rhythm)


def _first_name(name: str) -> str:
    """"Иванова Мария" stays as written; "Maria Ivanova" → "Maria"; a bare address → ""."""
    name = name.strip().strip('"')
    if not name or "@" in name:
        return ""
    return name.split()[0] if len(name.split()) <= 3 else name
