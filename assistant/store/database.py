"""The database: engine, sessions, and the schema migrations that keep data across upgrades."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

from sqlalchemy import event, func, inspect, literal, make_url, text, type_coerce
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, SQLModel, create_engine, select

from assistant.store import glance, models  # noqa: F401  (models registers the tables)
from assistant.errors import ConfigError
from assistant.store.wal import Checkpointer
from assistant.store.columns import UTCDateTime
from assistant.store.models import Setting

log = logging.getLogger("assistant.store.database")

# Each step moves the schema one version up. A fresh database is created at the newest
# version directly; an older one runs the steps it has not run yet, in order, so an
# upgrade keeps the data. Append here; never edit a released step.
Migration = Callable[[Connection], None]
def _add_ticket_reopened_at(conn: Connection) -> None:
    kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    if "reopened_at" not in {c["name"] for c in inspect(conn).get_columns("ticket")}:
        conn.execute(text(f"ALTER TABLE ticket ADD COLUMN reopened_at {kind}"))


def _add_time_column(conn: Connection, table: str, name: str) -> None:
    """A nullable aware-time column; skipped when create_all already made it."""
    kind = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "DATETIME"
    if name not in {c["name"] for c in inspect(conn).get_columns(table)}:
        conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {kind}"))


MIGRATIONS: list[tuple[int, str, Migration]] = [
    (1, "initial schema", lambda conn: None),
    (2, "outbox claims and Sent copies", lambda conn: _add_columns(
        conn, "outboxmail", ("claimed_by", "sent_copy"))),
    # create_all above adds the new table; the step only records the version.
    (3, "letters to our people are written after the walk commits (pendingnotice)",
     lambda conn: None),
    (4, "ticket.reopened_at: the reporting rhythm restarts when a client reopens", _add_ticket_reopened_at),
    (5, "ticket.client_deadline: a priority set by hand keeps the time the client named",
     lambda conn: _add_time_column(conn, "ticket", "client_deadline")),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]
# The list commands read without this module and refuse a schema they do not know.
assert SCHEMA_VERSION == glance.SCHEMA_VERSION, "raise store/glance.py's SCHEMA_VERSION too"


class Store:
    """The engine plus sessions. Pass it around; there is no global one."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.engine = _engine(url, echo)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits when the block ends cleanly and rolls back otherwise."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION; returns the version it started from (0: new)."""
        with self.engine.begin() as conn:
            if _up_to_date(conn):
                return SCHEMA_VERSION
            fresh = not inspect(conn).has_table("setting")
            SQLModel.metadata.create_all(conn)
            _ensure_signing_key(conn)
            if fresh:
                _set_version(conn, SCHEMA_VERSION)
                return 0
            current = _version(conn)
            if current > SCHEMA_VERSION:
                raise ConfigError(
                    f"the database is at schema {current}, newer than this assistant "
                    f"({SCHEMA_VERSION}): upgrade the assistant")
            for version, what, step in MIGRATIONS:
                if version > current:
                    log.info("migrating the database to schema %d: %s", version, what)
                    step(conn)
                    _set_version(conn, version)
            return current

    def now(self, later: timedelta = timedelta(0)) -> ColumnElement:
        """The database's own time, `later` ahead, as an expression for a statement.

        For what must agree between processes on several machines (whether a lease has
        lapsed): their clocks may disagree, the database's is one. PostgreSQL's
        clock_timestamp() is the moment the statement runs (now() would be when its
        transaction began); SQLite's is written in the text form its UTC times are kept in.
        """
        if self.engine.dialect.name == "sqlite":
            moment = func.strftime("%Y-%m-%d %H:%M:%f000", "now", f"{later.total_seconds():+f} seconds")
        else:
            moment = func.clock_timestamp() + literal(later)
        return type_coerce(moment, UTCDateTime())

    def checkpoint_in_background(self) -> Checkpointer | None:
        """For a daemon: SQLite's log checkpointed by a thread, not inside each commit
        (store/wal.py); stop() what is returned. None where there is no such log."""
        if self.engine.dialect.name != "sqlite" or self.engine.url.database in (None, "", ":memory:"):
            return None
        return Checkpointer(self.engine).start()

    def dispose(self) -> None:
        self.engine.dispose()


def claim_due(session: Session, query, limit: int) -> list:
    """The first `limit` rows of `query`, locked until the session commits.

    Rows another daemon has locked are skipped (PostgreSQL's FOR UPDATE SKIP LOCKED), so
    each row due is handled by exactly one of several daemons; SQLite runs one daemon.
    """
    return list(session.exec(query.limit(limit).with_for_update(skip_locked=True)).all())


def in_savepoint(session: Session, work: Callable[[], object]) -> Exception | None:
    """Run `work` in a savepoint; a failure is rolled back and returned, never raised, so
    one row's trouble never stops the others. None when it went through."""
    savepoint = session.begin_nested()
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - handed back for the caller to record
        savepoint.rollback()
        return exc
    savepoint.commit()
    return None


def open_store(url: str) -> Store:
    """The store at `url`, migrated; a ConfigError with one line when it cannot be opened."""
    try:
        store = Store(url)
        store.migrate()
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"database.url {_shown(url)} is not a database address this "
                          f"assistant can open ({_first_line(exc)}); write it like "
                          f"postgresql+psycopg://user@host/db or sqlite:///assistant.db") from None
    except DBAPIError as exc:
        raise ConfigError(f"cannot open the database {_shown(url)}: "
                          f"{_first_line(exc.orig or exc)}") from None
    return store


def _shown(url: str) -> str:
    """The address without its password, fit for a log line."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _engine(url: str, echo: bool) -> Engine:
    if url.startswith("sqlite"):
        path = url.partition(":///")[2]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30})

        # WAL lets the review page read while the daemon writes; synchronous=NORMAL is
        # durable across a process crash (not an OS crash), which with the raw mail kept
        # on the server until its fate is committed is the guarantee we need.
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None     # transactions begin where _begin says
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        # Every transaction takes the write lock when it begins. A transaction that first
        # reads and later writes would otherwise fail at once with "database is locked" when
        # another connection (the lease heartbeat, the web desk, a command) committed in
        # between: SQLite cannot move its snapshot forward, so no busy timeout helps. Taken
        # up front, the lock is simply waited for. Our sessions are short and hold no network
        # call, so readers wait milliseconds.
        @event.listens_for(engine, "begin")
        def _begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def _up_to_date(conn: Connection) -> bool:
    """Every table there, the signing key made and the schema at SCHEMA_VERSION.

    Every command opens the store and nearly always finds it so: two queries tell, where
    create_all asks after each table in turn (a round trip each on PostgreSQL).
    """
    if not set(SQLModel.metadata.tables) <= set(inspect(conn).get_table_names()):
        return False
    found = dict(conn.execute(text("SELECT key, value FROM setting "
                                   "WHERE key IN ('schema_version', 'signing_key')")).all())
    return "signing_key" in found and found.get("schema_version") == str(SCHEMA_VERSION)


def _ensure_signing_key(conn: Connection) -> None:
    # Made here, in its own committed transaction, rather than on first use inside a
    # message's savepoint: a rollback there would lose a key already used to sign mail.
    with Session(bind=conn) as session:
        if session.get(Setting, "signing_key") is None:
            session.add(Setting(key="signing_key", value=secrets.token_hex(32)))
            session.flush()


def _add_columns(conn: Connection, table: str, names: tuple[str, ...]) -> None:
    """Text columns that default to empty; skipped when create_all already made them."""
    present = {column["name"] for column in inspect(conn).get_columns(table)}
    for name in names:
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} VARCHAR NOT NULL DEFAULT ''"))


def _version(conn: Connection) -> int:
    row = conn.execute(text("SELECT value FROM setting WHERE key = 'schema_version'")).first()
    return int(row[0]) if row else 1


def _set_version(conn: Connection, version: int) -> None:
    with Session(bind=conn) as session:
        row = session.exec(select(Setting).where(Setting.key == "schema_version")).first()
        if row is None:
            row = Setting(key="schema_version", value=str(version))
        row.value = str(version)
        session.add(row)
        session.flush()
