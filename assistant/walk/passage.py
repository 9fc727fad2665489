"""What travels through the walk: one message's passage in, its outcome out, and the run's tally."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Protocol

from sqlmodel import Session, select

from assistant.store.ids import Ids
from assistant.store.models import Client, Message, RawMessage, Ticket
from assistant.store.states import INCOMING_FATES, Fate
from assistant.tickets.conversation import Match

if TYPE_CHECKING:       # the workers bring the language pipelines; listing tickets does not
    from assistant.mail.intake import Incoming
    from assistant.policy.triage import Assessment
    from assistant.walk.workers import Understood

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
    """What a batch has already stored or made, so its stages need not flush to find it.

    A query would first write every pending row of the batch (autoflush) one flush at a
    time. Remembering this batch's own hashes, Message-IDs and clients lets the look-ups run
    without flushing, and new clients and tickets take their ids from `ids`, so the whole
    batch is written in one flush when its savepoint ends. One per savepoint (see Ids).

    `expect` looks up a group of messages' hashes, Message-IDs and senders before they are
    walked, a query each for the whole group rather than three a message: on PostgreSQL
    each is a round trip.
    """

    def __init__(self):
        self.hashes = _Stored(RawMessage.__tablename__, RawMessage.content_hash.key)
        self.message_ids = _Stored(Message.__tablename__, Message.message_id.key)
        # Clients read or made by this batch, by address and by id: a new one is not written
        # yet, and the session keeps only a weak hold on rows it has read.
        self.clients: dict[str, Client] = {}
        self.no_client: set[str] = set()      # addresses looked up and not found
        self._clients_by_id: dict[int, Client] = {}
        self._ids: Ids | None = None

    def ids(self, session: Session) -> Ids:
        if self._ids is None or self._ids.session is not session:
            self._ids = Ids(session)
        return self._ids

    def expect(self, session: Session, group: list[Understood]) -> None:
        """Look up, a query each, what the stages will ask of these messages."""
        self.hashes.expect(session, [item.digest for item in group])
        mails = [item.mail for item in group if item.mail is not None]
        self.message_ids.expect(session, [mail.message_id for mail in mails])
        self.expect_clients(session, [mail.from_address for mail in mails])

    def expect_clients(self, session: Session, addresses: Iterable[str]) -> None:
        """Read the clients behind `addresses` into `clients`, those not read or looked up
        before, in one query; the addresses of none are remembered, so nobody asks again."""
        wanted = set(addresses) - self.clients.keys() - self.no_client
        if not wanted:
            return
        with session.no_autoflush:          # every client not yet written is in self.clients
            for client in session.exec(select(Client).where(Client.email.in_(wanted))):
                self.clients[client.email] = client
        self.no_client |= wanted - self.clients.keys()

    def client(self, session: Session, client_id: int) -> Client | None:
        """The client with this id: made or read by this batch, or else read without a flush
        (every client not yet written is one of this batch's, so the flush could add nothing)."""
        client = self._clients_by_id.get(client_id)
        if client is None and len(self._clients_by_id) != len(self.clients):
            self._clients_by_id = {client.id: client for client in self.clients.values()}
            client = self._clients_by_id.get(client_id)
        if client is None:
            with session.no_autoflush:
                client = session.get(Client, client_id)
        return client

    def has_bytes(self, session: Session, digest: str) -> bool:
        return self.hashes.has(session, digest)

    def has_message_id(self, session: Session, message_id: str) -> bool:
        return self.message_ids.has(session, message_id)


class _Stored:
    """Which values of one unique column are stored already, or are this batch's own.

    Looked up on the driver's own cursor: through SQLAlchemy, even as plain SQL on the
    session's connection, a look-up cost four times what the database spends on it (0.33 ms
    against 0.08 ms in a daemon reading a mailbox; bench/intake.py --profile). The cursor
    writes nothing pending first, and needs not: the batch's own rows are in `values`.
    """

    def __init__(self, table: str, column: str):
        self.values: set[str] = set()       # stored, or written by this batch
        self.absent: set[str] = set()       # looked up and not stored
        self._query = f"SELECT {column} FROM {table} WHERE {column} IN ({{marks}})"

    def has(self, session: Session, value: str) -> bool:
        """True when `value` is stored or was met before in this batch; it counts as met now."""
        if value not in self.values:
            self.expect(session, [value])   # nothing to ask when its group was looked up
        found = value in self.values
        self.values.add(value)
        return found

    def expect(self, session: Session, values: Iterable[str]) -> None:
        wanted = set(values) - self.values - self.absent
        if not wanted:
            return
        found = {row[0] for row in _rows(session, self._query.format(marks=", ".join("?" * len(wanted))),
                                         sorted(wanted))}
        self.values |= found
        self.absent |= wanted - found


def _rows(session: Session, query: str, values: list[str]) -> list[tuple]:
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        query = query.replace("?", "%s")
    cursor = connection.connection.cursor()
    try:
        cursor.execute(query, values)
        return cursor.fetchall()
    finally:
        cursor.close()


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
    client: Client | None = None           # set by Join when it opens the ticket
    assessment: Assessment | None = None   # set by Assess: the triage it put on the ticket
    fate: Fate | None = None               # NEW_TICKET or REPLY, set by Join

    @property
    def verdict(self):
        """Triage made ahead by a worker, or None."""
        return self.understood.verdict if self.understood else None


class Stage(Protocol):
    """One step of the walk: settles the message's fate (an Outcome) or passes it on (None)."""

    def __call__(self, passage: Passage) -> Outcome | None: ...
