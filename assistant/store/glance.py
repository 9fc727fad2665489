"""What people look at most, read through the database's own driver.

`assistant tickets`, `tickets show`, `drafts`, `outbox`, `status` and `quarantine list`
must answer at once, and importing SQLAlchemy, SQLModel and pydantic and declaring the
tables takes longer than the whole answer may. So these are read here with plain SQL over
a DB-API connection (sqlite3 or psycopg, loaded in a few milliseconds), and this is the
only place they are read: the web pages show the same through the same functions, over a
connection borrowed from the open store. The shaping of a ticket row (`ticket_row`) is
shared with the desk's queue.

A database whose schema is not current is not read here (`open` says None): the caller
opens the store, which migrates it, and reads over that.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

from assistant.clock import as_utc
from assistant.errors import NotFound
from assistant.policy.severity import grades_of
from assistant.store.states import OPEN_STATUSES, Acknowledgement, DraftStatus, MailKind, NoticeState, OutboxStatus

# Must equal store.database.SCHEMA_VERSION, the last migration (database.py asserts it).
SCHEMA_VERSION = 5
UNWRITTEN_ALERT = "oncall:unwritten"    # the Setting the on-call alert's failure is kept in
PROCESS_PREFIX = "process:"             # a lease saying a daemon is alive
CONTACT = "contact:"                    # a Setting: when the daemon last reached the mailbox

# Mail not sent (yet): what `outbox` lists, and the queues `status` counts, in this order.
UNSENT = (OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED, OutboxStatus.UNCERTAIN,
          OutboxStatus.BLOCKED)

_TIMES = {"created_at", "first_response_due", "first_response_at", "resolution_due",
          "next_attempt_at", "expires_at", "received_at", "at"}
_FLAGS = {"critical", "internal"}
# What a ticket row shows, with its client's columns beside (a client has no column of the
# same name as a ticket's among these).
_TICKET_COLUMNS = ("t.id, t.subject, t.status, t.priority, t.critical, t.category, t.language, "
                   "t.assignee, t.first_response_due, t.first_response_at, t.resolution_due, "
                   "t.created_at, c.email, c.name, c.internal, c.timezone")


def mailbox_lease(settings, folder: str | None = None) -> str:
    """The lease of reading one folder, e.g. "mailbox:support@example.com@imap.example.com/INBOX".

    Each folder of `imap.folders` has its own, so several daemons can share the reading.
    Without a folder: the mailbox's own name, under which its last contact is kept.
    """
    account = f"mailbox:{settings.imap.username}@{settings.imap.host}"
    return account if folder is None else f"{account}/{folder}"


def next_due(ticket) -> datetime | None:
    """The deadline that matters now: first response until we answered, then resolution."""
    if ticket.first_response_at is None and ticket.first_response_due is not None:
        return ticket.first_response_due
    return ticket.resolution_due


def ticket_row(ticket, client, now: datetime, tz: str) -> dict:
    """One ticket as lists show it; `ticket` and `client` are models, or rows with their
    columns (a joined row may be both)."""
    due = next_due(ticket)
    return {
        "id": ticket.id, "ref": f"#{ticket.id}", "subject": ticket.subject,
        "client": client.email, "client_name": client.name, "internal": bool(client.internal),
        "status": ticket.status, "priority": ticket.priority, "critical": bool(ticket.critical),
        "category": ticket.category, "language": ticket.language, "assignee": ticket.assignee,
        "due": due.isoformat() if due else None,
        "due_kind": "first response" if due is not None and due == ticket.first_response_due
        and ticket.first_response_at is None else "resolution",
        "seconds_left": int((due - now).total_seconds()) if due else None,
        "created": ticket.created_at.isoformat(),
        "timezone": tz,
        "client_timezone": client.timezone,
    }


def quarantine_row(q) -> dict:
    return {"id": q.id, "kind": q.kind, "reason": q.reason, "from": q.from_address,
            "subject": q.subject, "message_id": q.message_id, "ticket": q.ticket_id,
            "source": q.source, "created": _iso(q.created_at)}


def _one_connection(method):
    """The method's reads share one connection."""
    @functools.wraps(method)
    def reading(self, *args, **kwargs):
        with self._reading():
            return method(self, *args, **kwargs)
    return reading


class Glance:
    """Reads over connections from `connect`: one a look-up, closed when it is done."""

    def __init__(self, connect: Callable[[], Any], dialect: str):
        self._connect = connect
        self.dialect = dialect
        self._local = threading.local()

    @classmethod
    def open(cls, url: str) -> Glance | None:
        """Straight over the driver, when the URL names SQLite or PostgreSQL (psycopg) and
        the schema is current; None otherwise, and whenever anything goes wrong: the
        store's own opening then migrates, or says in one line what is the matter."""
        connect, dialect = _driver(url)
        if connect is None:
            return None
        glance = cls(connect, dialect)
        try:
            found = dict(glance._rows("SELECT key, value FROM setting WHERE key IN "
                                      "('schema_version', 'signing_key')", (), plain=True))
        except Exception:  # noqa: BLE001 - no table yet, no server, no driver: the store says
            return None
        if "signing_key" not in found or found.get("schema_version") != str(SCHEMA_VERSION):
            return None
        return glance

    @classmethod
    def over(cls, store) -> Glance:
        """Over the open store's pool: the same database, in-memory ones included."""
        return cls(store.engine.raw_connection, store.engine.dialect.name)

    # -- the lists ----------------------------------------------------------------------
    def tickets(self, now: datetime, tz: str, include_closed: bool = False) -> list[dict]:
        """Tickets with what is due first on top; critical ones above everything."""
        where, args = ("", ()) if include_closed else (
            f"WHERE t.status IN ({_marks(OPEN_STATUSES)})", OPEN_STATUSES)
        rows = self._rows(f"SELECT {_TICKET_COLUMNS} FROM ticket t JOIN client c ON c.id = t.client_id "
                          f"{where}", args)
        far = datetime.max.replace(tzinfo=timezone.utc)
        rows.sort(key=lambda row: (not row.critical, next_due(row) or far, row.id))
        return [ticket_row(row, row, now, tz) for row in rows]

    @_one_connection
    def ticket(self, number: int, now: datetime, tz: str) -> dict:
        """One ticket whole: its row, why it has its priority, every message with its
        attachments, and the history of what was changed by whom."""
        found = self._rows(f"SELECT {_TICKET_COLUMNS}, t.priority_reasons FROM ticket t "
                           "JOIN client c ON c.id = t.client_id WHERE t.id = ?", (number,))
        if not found:
            raise NotFound(f"no ticket #{number}")
        ticket = found[0]
        detail = ticket_row(ticket, ticket, now, tz)
        reasons = json.loads(ticket.priority_reasons or "[]")
        detail["reasons"] = [r for r in reasons if r.get("text")]
        detail.update(grades_of(reasons))
        detail["first_response_due"] = _iso(ticket.first_response_due)
        detail["resolution_due"] = _iso(ticket.resolution_due)
        messages = self._rows(
            "SELECT id, message_id, direction, fate, from_address, from_name, subject, received_at, "
            "visible_text, text, flags, notes, content_hash FROM message WHERE ticket_id = ? "
            "ORDER BY received_at, id", (number,))
        attachments = self._rows(
            "SELECT a.id, a.message_id, a.filename, a.content_type, a.size FROM attachment a "
            "JOIN message m ON m.id = a.message_id WHERE m.ticket_id = ? ORDER BY a.id", (number,))
        detail["messages"] = [{
            "id": m.id, "message_id": m.message_id, "direction": m.direction, "fate": m.fate,
            "from": m.from_address, "subject": m.subject, "received": _iso(m.received_at),
            "visible_text": m.visible_text, "flags": m.flags, "notes": m.notes,
            "text": m.text, "from_name": m.from_name, "has_raw": bool(m.content_hash),
            "attachments": [{"id": a.id, "name": a.filename, "type": a.content_type, "size": a.size}
                            for a in attachments if a.message_id == m.id],
        } for m in messages]
        detail["history"] = [{"at": _iso(c.at), "field": c.field, "old": c.old, "new": c.new,
                              "who": c.who, "why": c.why} for c in self._rows(
            'SELECT at, field, "old", "new", who, why FROM ticketchange WHERE ticket_id = ? '
            "ORDER BY at, id", (number,))]
        return detail

    def drafts(self, include_done: bool = False) -> list[dict]:
        """Drafts waiting for a consultant's decision, oldest first; with include_done, all."""
        where, args = ("", ()) if include_done else ("WHERE d.status = ?", (DraftStatus.PENDING,))
        return [{"id": d.id, "ticket": d.ticket_id, "ref": f"#{d.ticket_id}",
                 "situation": d.situation, "language": d.language, "status": d.status,
                 "client": d.email, "subject": d.subject, "findings": len(json.loads(d.findings)),
                 "consultant": d.consultant} for d in self._rows(
            "SELECT d.id, d.ticket_id, d.situation, d.language, d.status, d.subject, d.findings, "
            "d.consultant, c.email FROM draft d JOIN ticket t ON t.id = d.ticket_id "
            f"JOIN client c ON c.id = t.client_id {where} ORDER BY d.id", args)]

    def quarantine(self) -> list[dict]:
        return [quarantine_row(q) for q in self._rows(
            "SELECT id, kind, reason, from_address, subject, message_id, ticket_id, source, "
            "created_at FROM quarantine WHERE resolved_at IS NULL ORDER BY id", ())]

    @_one_connection
    def outbox(self, include_sent: bool = False) -> list[dict]:
        """Mail not (yet) sent, oldest first, then letters that could not be written or
        sent at all, each with why; with include_sent, every mail."""
        where, args = ("", ()) if include_sent else (
            f"WHERE status IN ({_marks(UNSENT)})", UNSENT)
        mails = [{"id": r.id, "status": r.status, "kind": r.kind, "ticket": r.ticket_id,
                  "to": r.recipients, "subject": r.subject, "attempts": r.attempts,
                  "error": r.last_error, "message_id": r.message_id,
                  "created": r.created_at.isoformat(),
                  "next_attempt": r.next_attempt_at.isoformat() if r.next_attempt_at else None}
                 for r in self._rows(
                     "SELECT id, status, kind, ticket_id, recipients, subject, attempts, last_error, "
                     f"message_id, created_at, next_attempt_at FROM outboxmail {where} ORDER BY id",
                     args)]
        return mails + self._notices_unwritten() + self._alert_row() + self._unacknowledged()

    def _notices_unwritten(self) -> list[dict]:
        """Letters to our people the walk decided on but that could not be written."""
        return [{"id": "-", "status": "not written", "kind": n.kind, "ticket": n.ticket_id,
                 "to": n.detail or "on-call", "subject": "", "attempts": n.attempts,
                 "error": n.last_error, "message_id": None, "created": n.created_at.isoformat(),
                 "next_attempt": None}
                for n in self._rows("SELECT kind, ticket_id, detail, attempts, last_error, created_at "
                                    "FROM pendingnotice WHERE state = ? ORDER BY id", (NoticeState.FAILED,))]

    def _alert_row(self) -> list[dict]:
        """The on-call alert that keeps failing to be written (retried every round)."""
        alert = self.unwritten_alert()
        if alert is None:
            return []
        tickets = alert["tickets"]
        return [{"id": "-", "status": "not written", "kind": MailKind.ALERT,
                 "ticket": tickets[0] if len(tickets) == 1 else None,
                 "to": alert["to"] or "on-call", "subject": ", ".join(f"#{t}" for t in tickets),
                 "attempts": alert["attempts"],
                 "error": alert["error"] + " (tried again every round until the critical_alert "
                                           "template renders)",
                 "message_id": None, "created": alert["since"], "next_attempt": None}]

    def _unacknowledged(self) -> list[dict]:
        """New tickets whose acknowledgement failed, with why; `tickets acknowledge N` retries."""
        failed = self._rows("SELECT t.id, t.subject, t.created_at, c.email FROM ticket t "
                            "JOIN client c ON c.id = t.client_id WHERE t.acknowledgement = ? "
                            "ORDER BY t.id", (Acknowledgement.FAILED,))
        whys: dict[int, list[str]] = {ticket.id: [] for ticket in failed}
        if failed:
            for change in self._rows(
                    "SELECT ticket_id, why FROM ticketchange WHERE field = 'acknowledgement' "
                    f"AND new = ? AND ticket_id IN ({_marks(whys)}) ORDER BY id",
                    (Acknowledgement.FAILED, *whys)):
                whys[change.ticket_id].append(change.why)
        return [{"id": "-", "status": "not sent", "kind": MailKind.ACKNOWLEDGEMENT,
                 "ticket": ticket.id, "to": ticket.email, "subject": ticket.subject,
                 "attempts": len(whys[ticket.id]),
                 "error": (whys[ticket.id][-1] if whys[ticket.id] else "it did not reach the client")
                 + f" (`assistant tickets acknowledge {ticket.id}` writes it again)",
                 "message_id": None, "created": ticket.created_at.isoformat(), "next_attempt": None}
                for ticket in failed]

    # -- what `assistant status` reads --------------------------------------------------
    def unwritten_alert(self) -> dict | None:
        """The on-call alert that could not be written, e.g. {"error": "UndefinedError: ...",
        "attempts": 3, "since": "...", "tickets": [4], "to": "duty@example.com"}; None when none."""
        value = self.setting(UNWRITTEN_ALERT)
        return json.loads(value) if value else None

    def setting(self, key: str) -> str | None:
        rows = self._rows("SELECT value FROM setting WHERE key = ?", (key,))
        return rows[0].value if rows else None

    @_one_connection
    def facts(self) -> Facts:
        """What the health is judged from, read in one go."""
        counts = {r.status: r.n for r in self._rows(
            "SELECT status, COUNT(*) AS n FROM outboxmail GROUP BY status", ())}
        one = self._rows(
            "SELECT (SELECT COUNT(*) FROM draft WHERE status = ?) AS drafts, "
            "(SELECT COUNT(*) FROM quarantine WHERE resolved_at IS NULL) AS quarantine, "
            "(SELECT COUNT(*) FROM ticket WHERE acknowledgement = ?) AS due, "
            "(SELECT COUNT(*) FROM ticket WHERE acknowledgement = ?) AS failed",
            (DraftStatus.PENDING, Acknowledgement.DUE, Acknowledgement.FAILED))[0]
        queues = {**{f"outbox_{status}": counts.get(status, 0) for status in UNSENT},
                  "drafts_pending": one.drafts, "quarantine": one.quarantine,
                  "acknowledgements_due": one.due, "acknowledgements_failed": one.failed}
        oldest = self._rows(
            "SELECT id, kind, recipients, created_at, attempts, last_error FROM outboxmail "
            "WHERE status IN (?, ?) ORDER BY created_at, id LIMIT 1",
            (OutboxStatus.QUEUED, OutboxStatus.SENDING))
        leases = self._rows(f"SELECT name, holder, expires_at, expires_at >= {self._now()} AS live "
                            "FROM lease ORDER BY name", ())
        unacknowledged = [r.id for r in self._rows(
            "SELECT id FROM ticket WHERE acknowledgement = ? ORDER BY id", (Acknowledgement.FAILED,))]
        return Facts(queues=queues, oldest=oldest[0] if oldest else None, leases=leases,
                     unacknowledged=unacknowledged, alert=self.unwritten_alert(),
                     settings={r.key: r.value for r in self._rows(
                         "SELECT key, value FROM setting WHERE key LIKE ?", (CONTACT + "%",))})

    # -- plumbing -----------------------------------------------------------------------
    def _now(self) -> str:
        """The database's clock, as leases are timed (see store.database.Store.now)."""
        if self.dialect == "sqlite":
            return "strftime('%Y-%m-%d %H:%M:%f000', 'now')"
        return "clock_timestamp()"

    def _rows(self, sql: str, args: Sequence, plain: bool = False) -> list:
        with self._cursor() as cursor:
            if self.dialect != "sqlite":
                sql = sql.replace("%", "%%").replace("?", "%s")
            cursor.execute(sql, tuple(str(a) if isinstance(a, str) else a for a in args))
            names = [column[0] for column in cursor.description]
            found = cursor.fetchall()
        if plain:
            return [tuple(row) for row in found]
        return [SimpleNamespace(**{name: _typed(name, value) for name, value in zip(names, row)})
                for row in found]

    @contextlib.contextmanager
    def _cursor(self) -> Iterator[Any]:
        with self._reading():
            cursor = self._local.connection.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """One connection for every read inside the block (a new one costs a round trip or
        more on PostgreSQL), this thread's own: the web reads from several threads."""
        if getattr(self._local, "connection", None) is not None:
            yield
            return
        connection = self._local.connection = self._connect()
        try:
            yield
        finally:
            self._local.connection = None
            with contextlib.suppress(Exception):
                connection.rollback()       # a read leaves no transaction open behind it
            connection.close()


@dataclass
class Facts:
    queues: dict[str, int]
    oldest: SimpleNamespace | None
    leases: list[SimpleNamespace]
    unacknowledged: list[int]
    alert: dict | None
    settings: dict[str, str] = field(default_factory=dict)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _marks(values) -> str:
    return ", ".join("?" for _ in values)


def _typed(name: str, value):
    """SQLite keeps times as text in UTC and flags as 0/1; both drivers give the same here."""
    if value is None:
        return None
    if name in _TIMES:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return as_utc(value)
    if name in _FLAGS or name == "live":
        return bool(value)
    return value


def _driver(url: str) -> tuple[Callable[[], Any] | None, str]:
    """A function opening a new connection for `url`, and the dialect's name."""
    scheme, _, rest = url.partition("://")
    if scheme == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:" or not os.path.exists(path):
            return None, ""     # a new database is created (and migrated) by the store

        def connect_sqlite():
            return sqlite3.connect(path, timeout=30, isolation_level=None)
        return connect_sqlite, "sqlite"
    if scheme in ("postgresql+psycopg", "postgresql"):
        try:
            import psycopg      # lazy: only for PostgreSQL, and an extra there
        except ImportError:
            return None, ""
        conninfo = "postgresql://" + rest

        def connect_postgres():
            return psycopg.connect(conninfo, connect_timeout=10)
        return connect_postgres, "postgresql"
    return None, ""

