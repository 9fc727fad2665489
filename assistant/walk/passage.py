"""What travels through the walk: one message's passage in, its outcome out, and the run's tally."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import TextClause, insert, text
from sqlmodel import Session

from assistant.store.models import Message, RawMessage, Ticket
from assistant.store.states import INCOMING_FATES, Fate
from assistant.tickets.conversation import Match

if TYPE_CHECKING:       # the workers bring the language pipelines; listing tickets does not
    from assistant.mail.intake import Incoming
    from assistant.walk.workers import Understood

Clock = Callable[[], datetime]


@dataclass
class Outcome:
    """What became of one message."""

    fate: Fate
    message_id: str | None = None
    ticket_id: int | None = None
    reason: str = ""


@dataclass
class Tally:
    """The fates of a run, in the shape `import --json` prints."""

    fates: Counter = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.fates[outcome.fate] += 1

    @property
    def read(self) -> int:
        return sum(self.fates.values())

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, **{fate.value: self.fates[fate] for fate in INCOMING_FATES}}


class Known:
    """What a batch has already stored, so the duplicate checks need not flush.

    A query would first write every pending row of the batch (autoflush) one statement
    at a time; remembering this batch's own hashes and Message-IDs lets the queries run
    without flushing and the rows go out together.
    """

    def __init__(self):
        self.hashes: set[str] = set()
        self.message_ids: set[str] = set()
        # The session keeps only a weak hold on rows it has written, so a client the walk
        # has let go of would be read again by the next stage that asks for it (and that
        # read would first flush the batch's pending rows one message at a time).
        self.rows: list[object] = []
        self.kept: list[dict] = []             # raw bytes to store, written by write_kept

    def keep_bytes(self, digest: str, raw: bytes) -> None:
        """Note `raw` to be stored in a row of its own when the batch is written."""
        self.kept.append({"content_hash": digest, "size": len(raw), "path": "", "data": raw})

    def write_kept(self, session: Session) -> None:
        """The noted raw bytes, stored in one statement: nothing in the walk reads them
        back, and one insert per message cost each of its flushes a statement."""
        if self.kept:
            session.execute(insert(RawMessage), self.kept)
            self.kept = []

    def has_bytes(self, session: Session, digest: str) -> bool:
        return _stored_or_seen(session, self.hashes, _STORED_BYTES, digest)

    def has_message_id(self, session: Session, message_id: str) -> bool:
        return _stored_or_seen(session, self.message_ids, _STORED_ID, message_id)


# Written as SQL once: an ORM select is built, compiled from cache and read into rows for
# every message, three times the cost of the look-up itself (0.11 against 0.03 ms).
_STORED_BYTES = text(f"SELECT 1 FROM {RawMessage.__tablename__} "
                     f"WHERE {RawMessage.content_hash.key} = :value LIMIT 1")
_STORED_ID = text(f"SELECT 1 FROM {Message.__tablename__} "
                  f"WHERE {Message.message_id.key} = :value LIMIT 1")


def _stored_or_seen(session: Session, seen: set[str], query: TextClause, value: str) -> bool:
    if value in seen:
        return True
    seen.add(value)
    with session.no_autoflush:
        return session.execute(query, {"value": value}).first() is not None


@dataclass
class Passage:
    """One message on its way through the stages; each stage reads it and fills in its part.

    `acknowledge` is False for imported history: nobody is written to about old mail.
    """

    session: Session
    raw: bytes
    digest: str
    source: str
    now: datetime
    retry: bool = False
    understood: Understood | None = None
    known: Known = field(default_factory=Known)
    acknowledge: bool = True
    mail: Incoming | None = None           # set by Understand
    match: Match | None = None             # set by Thread
    ticket: Ticket | None = None           # set by Join
    fate: Fate | None = None               # NEW_TICKET or REPLY, set by Join

    @property
    def verdict(self):
        """Triage made ahead by a worker, or None."""
        return self.understood.verdict if self.understood else None


class Stage(Protocol):
    """One step of the walk: settles the message's fate (an Outcome) or passes it on (None)."""

    def __call__(self, passage: Passage) -> Outcome | None: ...
