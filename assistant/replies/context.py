"""Gathers what a reply template needs about a ticket: names, the client's words, times."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlmodel import Session, select

from assistant.config import Settings
from assistant.mail.quoting import own_words
from assistant.policy.sla import SlaBook
from assistant.replies.render import ReplyContext
from assistant.store.models import Client, Message, Ticket
from assistant.store.states import Direction, Fate


def context_for(session: Session, settings: Settings, sla: SlaBook, ticket: Ticket, now: datetime,
                extra: dict, quote_first: bool = False, sign_as: str | None = None) -> ReplyContext:
    """The ReplyContext for `ticket`; `extra` carries situation-specific values.

    `sign_as` is the consultant whose name the letter carries; None signs it as the team.
    """
    client = session.get(Client, ticket.client_id)
    last = last_client_message(session, ticket, first=quote_first)
    consultant = next((p for p in settings.consultants if p.email == sign_as), None) \
        if sign_as else None
    language = ticket.language or settings.support.language
    next_contact = extra.pop("next_contact_at", None) or _next_contact(sla, ticket, client, now)
    return ReplyContext(
        ticket_id=ticket.id, tag=ticket.tag, subject=ticket.subject,
        language=language,
        client_name=greeting_name(client.name), client_email=client.email,
        client_tz=client.timezone or settings.support.timezone,
        client_words=client_words(own_words(last.visible_text or last.text)) if last else "",
        now=now, next_contact_at=next_contact, priority=ticket.priority,
        critical=ticket.critical, consultant_name=name_in(consultant, language) if consultant else "",
        support_name=settings.support_name(ticket.language), extra=extra)


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


def _next_contact(sla: SlaBook, ticket: Ticket, client: Client, now: datetime) -> datetime:
    """When the client hears from us next: the nearest deadline still ahead, else one
    reporting rhythm from now, so no letter that leaves the problem open lacks a time."""
    for due in (ticket.first_response_due, ticket.resolution_due):
        if due is not None and due > now:
            return due
    rhythm = sla.cadence(ticket.priority, client.email, client.internal)
    calendar = sla.terms(client.email, client.internal)[0].name
    return sla.add_business_time(calendar, now, rhythm)


def greeting_name(name: str) -> str:
    """"Maria Ivanova" → "Maria"; "" when the display name is not a person's name.

    A display name is whatever the sender typed, so it is used to greet the client only
    when it reads as a name: "Hello <img src=x>", "Pay at evil.example", an address or
    control characters would otherwise be quoted into our letter as if we had said them.
    """
    name = name.strip().strip('"').strip()
    if not looks_like_a_name(name):
        return ""
    return name.split()[0] if len(name.split()) <= 3 else name


# A word of a name: letters, joined by a hyphen or an apostrophe, perhaps an initial's
# period at its end (Anne-Marie, O'Brien, J.). No digits, no markup, nothing between dots.
_NAME_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*\.?")
_NAME_MARKS = "'’-."
MAX_NAME_WORDS = 4
MAX_NAME_LENGTH = 60


def looks_like_a_name(name: str) -> bool:
    """True when `name` could be a person's name to greet them by.

    >>> looks_like_a_name("Анна-Мария Соколова"), looks_like_a_name("Hello <img src=x>")
    (True, False)
    """
    words = name.split()
    if not words or len(words) > MAX_NAME_WORDS or len(name) > MAX_NAME_LENGTH:
        return False
    if not all(unicodedata.category(char)[0] in "LM" or char in _NAME_MARKS for char in "".join(words)):
        return False          # digits, symbols, markup, controls, invisible format characters
    return all(_NAME_WORD.fullmatch(word) for word in words)


_FIRST_SENTENCES = re.compile(r"^(.{20,300}?[.!?…])(\s|$)", re.DOTALL)
# A greeting says nothing about the problem; quoting it back reads like a form letter.
_GREETING = re.compile(
    r"^(добр(ый|ое|ого) (день|вечер|утро|дня)|здравствуйте|привет|коллеги|"
    r"hi|hello|hey|dear [^,!.\n]{1,40}|good (morning|afternoon|evening))\b[^.!?,\n]{0,40}[,.!]?\s*",
    re.IGNORECASE)


def client_words(text: str, limit: int = 300) -> str:
    """The client's own words about the problem: their first sentence or two, trimmed.

    >>> client_words("Добрый день! Отгрузка остановилась с утра. Помогите.")
    'Отгрузка остановилась с утра.'
    """
    flat = _GREETING.sub("", " ".join(text.split()), count=1)
    flat = flat[:1].upper() + flat[1:]
    found = _FIRST_SENTENCES.match(flat)
    words = found.group(1) if found else flat[:limit]
    return words if len(words) <= limit else words[: limit - 1].rsplit(" ", 1)[0] + "…"


def last_client_message(session: Session, ticket: Ticket, first: bool = False) -> Message | None:
    """The client's newest mail on the ticket (with first, the one that opened it)."""
    # Only the client's own mail: a consultant's approval reply is kept on the ticket too.
    query = select(Message).where(Message.ticket_id == ticket.id, Message.direction == Direction.IN,
                                  Message.fate.in_((Fate.NEW_TICKET, Fate.REPLY)))
    if first:
        return session.exec(query.order_by(Message.received_at, Message.id)).first()
    return session.exec(query.order_by(Message.received_at.desc(), Message.id.desc())).first()
