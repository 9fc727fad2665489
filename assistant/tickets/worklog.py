"""The work log: what consultants did and plan on a ticket, by command line or by mail.

A consultant writes `assistant note 12 "Нашли ошибку в проводках"`, or mails the support
address about the ticket (consultantmail.py). One note is one entry of work done, however
many paragraphs it has, plus one entry per next step; each is for the client's eyes or
internal:

- text that begins with "internal:", "внутреннее:" or "для своих:" (or `--internal`)
  stays with our own people: it never reaches a client's letter or their manager;
- a line that begins with "next:", "дальше:" or "план:" (or `--next`) is the next step;
- everything else is the work done, quoted as written in the next progress report.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from assistant.config import Settings
from assistant.errors import NotFound, Rejected
from assistant.store.database import Store
from assistant.store.models import Ticket, WorkLogEntry

log = logging.getLogger("assistant.tickets.worklog")

INTERNAL = re.compile(r"^\s*(internal|внутреннее|внутр\.?|для своих)\s*:\s*", re.IGNORECASE)
NEXT = re.compile(r"^\s*(next|дальше|далее|план)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Note:
    kind: str               # done | next
    text: str
    client_visible: bool


def read_note(text: str, internal: bool = False, next_step: bool = False) -> list[Note]:
    """The entries one consultant's text makes.

    >>> [(n.kind, n.text) for n in read_note("Нашли ошибку.\\n\\nДальше: пересчитаем октябрь")]
    [('done', 'Нашли ошибку.'), ('next', 'пересчитаем октябрь')]

    Paragraphs of work done make one entry: a report lists a note once, not line by line.
    """
    marker = INTERNAL.match(text)
    if marker:
        internal, text = True, text[marker.end():]
    done, steps, paragraph = [], [], []
    for line in [*text.splitlines(), ""]:
        step = NEXT.match(line)
        if step and line[step.end():].strip():
            steps.append(" ".join(line[step.end():].split()))
        elif line.strip():
            paragraph.append(line.strip())
            continue
        if paragraph:
            done.append(" ".join(" ".join(paragraph).split()))
            paragraph = []
    kind = "next" if next_step else "done"
    work = [Note(kind, " ".join(done), not internal)] if done else []
    return work + [Note("next", s, not internal) for s in steps]


class WorkLog:
    """Adds entries from the command line; consultants' mail adds them through `record`."""

    def __init__(self, settings: Settings, store: Store, clock: Callable[[], datetime]):
        self.store = store
        self.clock = clock
        self.consultants = {p.email for p in settings.consultants}

    def add(self, ticket_id: int, text: str, author: str = "", *, internal: bool = False,
            next_step: bool = False) -> list[WorkLogEntry]:
        """Log a note from the command line; returns the entries made.

        Raises NotFound for an unknown ticket, Rejected for an empty note or for an author
        who is not a configured consultant (the log speaks for our people only).
        """
        author = author.strip().lower()
        if author and author not in self.consultants:
            raise Rejected(f"--by {author}: not a consultant of assistant.toml "
                           f"([[consultants]] email); one of: {', '.join(sorted(self.consultants)) or 'none'}")
        with self.store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket #{ticket_id}")
            entries = record(session, ticket, read_note(text, internal, next_step),
                             author or ticket.assignee or "consultant", None,
                             self.clock(), source="cli")
            if not entries:
                raise Rejected("the note is empty")
        return entries



def record(session: Session, ticket: Ticket, notes: list[Note], author: str,
           message_id: str | None, now: datetime, source: str = "mail") -> list[WorkLogEntry]:
    """Store the entries of one note; returns them."""
    entries = [WorkLogEntry(ticket_id=ticket.id, author=author, text=n.text, kind=n.kind,
                            client_visible=n.client_visible, at=now, source=source,
                            message_id=message_id) for n in notes]
    session.add_all(entries)
    session.flush()
    for entry in entries:
        log.info("worklog: %s %s by %s (%s)%s", ticket.tag, entry.kind, author,
                 "visible" if entry.client_visible else "internal",
                 f" from {message_id}" if message_id else "")
    return entries


def entries_since(session: Session, ticket_ids: list[int], since: datetime | None,
                  visible_only: bool) -> dict[int, list]:
    """Entries of the given tickets written after `since` (all when None), oldest first.

    Plain rows with the entry's attribute names, not ORM objects: a summary reads
    thousands of them, and building tracked objects would cost more than the query.
    """
    columns = (WorkLogEntry.ticket_id, WorkLogEntry.text, WorkLogEntry.kind,
               WorkLogEntry.client_visible, WorkLogEntry.author, WorkLogEntry.at,
               WorkLogEntry.source)
    query = select(*columns).where(WorkLogEntry.ticket_id.in_(ticket_ids))
    if since is not None:
        query = query.where(WorkLogEntry.at > since)
    if visible_only:
        query = query.where(WorkLogEntry.client_visible)
    found: dict[int, list[WorkLogEntry]] = {}
    for entry in session.exec(query.order_by(WorkLogEntry.at, WorkLogEntry.id)).all():
        found.setdefault(entry.ticket_id, []).append(entry)
    return found
