"""The work log: what consultants did and plan on a ticket, by command line or by mail.

A consultant writes `assistant note 12 "Нашли ошибку в проводках"`, or mails the support
address from their own address with the ticket tag ("[#12]") in the subject. Each entry
is either work done or the next step, and either for the client's eyes or internal:

- text that begins with "internal:", "внутреннее:" or "для своих:" (or `--internal`)
  stays with our own people: it never reaches a client's letter or their manager;
- a line that begins with "next:", "дальше:" or "план:" (or `--next`) is the next step;
- every other paragraph is work done, quoted as written in the next progress report.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from assistant.conversation import TAG
from assistant.errors import NotFound, Rejected
from assistant.intake import Incoming
from assistant.models import Client, Fate, Ticket, WorkLogEntry
from assistant.walk import Outcome

log = logging.getLogger("assistant.worklog")

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
    return ([Note(kind, d, not internal) for d in done]
            + [Note("next", s, not internal) for s in steps])


class WorkLog:
    """Adds entries; also the walk's interceptor for consultants' work-log mail."""

    def __init__(self, app):
        self.app = app
        self.consultants = {p.email for p in app.settings.consultants}

    def add(self, ticket_id: int, text: str, author: str = "", *, internal: bool = False,
            next_step: bool = False) -> list[WorkLogEntry]:
        """Log a note from the command line; returns the entries made.

        Raises NotFound for an unknown ticket and Rejected for an empty note.
        """
        with self.app.store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket #{ticket_id}")
            entries = self._add(session, ticket, read_note(text, internal, next_step),
                                author or ticket.assignee or "consultant", "cli", None,
                                self.app.clock())
            if not entries:
                raise Rejected("the note is empty")
        return entries

    def _add(self, session: Session, ticket: Ticket, notes: list[Note], author: str,
             source: str, message_id: str | None, now: datetime) -> list[WorkLogEntry]:
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

    def from_mail(self, session: Session, mail: Incoming, now: datetime) -> Outcome | None:
        """A consultant's mail about a tagged ticket becomes work-log entries (fate: system).

        Not taken: mail from anyone else, auto-replies (an out-of-office notice must never
        reach a client as work done), and a consultant writing about their own request,
        which is a client's reply like any other. The mail is kept without a ticket, so it
        never joins the client's thread or is quoted back as the client's words.
        """
        if mail.from_address not in self.consultants or mail.is_system:
            return None
        ticket = next(filter(None, (session.get(Ticket, int(n)) for n in TAG.findall(mail.subject))),
                      None)
        if ticket is None:
            return None
        client = session.get(Client, ticket.client_id)
        if client is not None and client.email == mail.from_address:
            return None
        if mail.authentication_failed:
            # A forged consultant address could otherwise put words into a client's report.
            log.warning("worklog: %s: %s fails authentication; not logged", mail.message_id,
                        mail.from_address)
            return Outcome(Fate.SYSTEM, mail.message_id, None,
                           f"work log for {ticket.tag} refused: sender authentication failed")
        entries = self._add(session, ticket, read_note(mail.visible_text or mail.text),
                            mail.from_address, "mail", mail.message_id, now)
        said = ", ".join(f"{e.kind}{'' if e.client_visible else ' (internal)'}" for e in entries)
        return Outcome(Fate.SYSTEM, mail.message_id, None,
                       f"work log for {ticket.tag} by {mail.from_address}: {said or 'nothing to log'}")


def entries_since(session: Session, ticket_ids: list[int], since: datetime | None,
                  visible_only: bool) -> dict[int, list]:
    """Entries of the given tickets written after `since` (all when None), oldest first.

    Plain rows with the entry's attribute names, not ORM objects: a summary reads
    thousands of them, and building tracked objects would cost more than the query.
    """
    columns = (WorkLogEntry.ticket_id, WorkLogEntry.text, WorkLogEntry.kind,
               WorkLogEntry.client_visible, WorkLogEntry.author, WorkLogEntry.at)
    query = select(*columns).where(WorkLogEntry.ticket_id.in_(ticket_ids))
    if since is not None:
        query = query.where(WorkLogEntry.at > since)
    if visible_only:
        query = query.where(WorkLogEntry.client_visible)
    found: dict[int, list[WorkLogEntry]] = {}
    for entry in session.exec(query.order_by(WorkLogEntry.at, WorkLogEntry.id)).all():
        found.setdefault(entry.ticket_id, []).append(entry)
    return found
