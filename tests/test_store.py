"""The database: WAL on SQLite, upgrades keep the data, and the same walk on PostgreSQL."""

from __future__ import annotations

import secrets
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import select

from assistant.store import database as store_module
from assistant.app import App
from assistant.store.wal import Checkpointer
from assistant.store.models import RawMessage, Setting, Ticket
from assistant.store.states import Fate
from assistant.store.database import Store, in_savepoint, open_store
from support import Clock, mail, settings_in


def test_sqlite_runs_in_wal_mode(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_write_after_a_read_waits_for_another_writer_instead_of_failing(tmp_path):
    """The daemon reads, the lease heartbeat (another connection) commits, the daemon
    writes: that write must wait its turn, not fail with "database is locked"."""
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    other = Store(store.url)
    outcome: list[object] = []
    read_done = threading.Event()

    def heartbeat():
        read_done.wait(10)
        try:
            with other.session() as session:
                session.add(Setting(key="heartbeat", value="1"))
            outcome.append("written")
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)

    beside = threading.Thread(target=heartbeat)
    beside.start()
    def one_message():
        session.exec(select(Setting)).all()                  # the daemon reads first
        read_done.set()
        beside.join(1)                                       # the heartbeat had its chance to commit
        session.add(Setting(key="walk", value="1"))          # then writes
        session.flush()

    with store.session() as session:
        failed = in_savepoint(session, one_message)          # as the walk keeps each message
    beside.join(30)
    assert failed is None and outcome == ["written"]
    with store.session() as session:
        assert {row.key for row in session.exec(select(Setting))} >= {"heartbeat", "walk"}


def test_an_upgrade_runs_the_new_steps_once_and_keeps_the_data(tmp_path, monkeypatch):
    app = App(settings_in(tmp_path), clock=Clock())
    url = app.settings.database_url
    assert app.walk.process(mail()).fate is Fate.NEW_TICKET
    ran = []

    def add_column(conn):
        ran.append(True)
        conn.execute(text("ALTER TABLE ticket ADD COLUMN example_flag INTEGER DEFAULT 0"))

    current = store_module.SCHEMA_VERSION
    step = (current + 1, "a flag", add_column)
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, step])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", current + 1)
    upgraded = Store(url)
    assert upgraded.migrate() == current
    assert Store(url).migrate() == current + 1 and ran == [True]
    with upgraded.session() as session:
        assert session.get(Ticket, 1).subject == "Вопрос"
        assert session.get(Setting, "schema_version").value == str(current + 1)


def test_a_database_newer_than_the_code_is_refused(tmp_path):
    from assistant.errors import ConfigError
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.session() as session:
        session.get(Setting, "schema_version").value = "99"
    with pytest.raises(ConfigError, match="newer"):
        Store(store.url).migrate()


def test_a_database_at_the_current_version_that_lost_a_table_gets_it_back(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    with store.engine.begin() as conn:
        conn.execute(text("DROP TABLE lease"))
    Store(store.url).migrate()
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lease")).scalar() == 0


@pytest.mark.postgres
def test_the_walk_works_on_postgresql(tmp_path, postgres):
    url = postgres.create_database(f"t_{secrets.token_hex(4)}")
    app = App(settings_in(tmp_path, database__url=url), clock=Clock())
    first = app.walk.process(mail())
    reply = app.walk.process(mail(msgid="q2@romashka.example", In_Reply_To="<q1@romashka.example>"))
    again = app.walk.process(mail())
    assert (first.fate, reply.fate, again.fate) == (Fate.NEW_TICKET, Fate.REPLY, Fate.DUPLICATE)
    with app.store.session() as session:
        stored = session.exec(select(Ticket)).one()
    assert stored.created_at.tzinfo is not None
    assert app.ticket_rows()[0]["ref"] == "#1"


def test_a_database_from_before_reopening_was_kept_gains_the_column_and_keeps_its_tickets(tmp_path):
    app = App(settings_in(tmp_path), clock=Clock())
    assert app.walk.process(mail()).fate is Fate.NEW_TICKET
    with app.store.engine.begin() as conn:        # the schema as version 1 left it
        conn.execute(text("ALTER TABLE ticket DROP COLUMN reopened_at"))
        conn.execute(text("UPDATE setting SET value = '1' WHERE key = 'schema_version'"))
    upgraded = Store(app.settings.database_url)
    assert upgraded.migrate() == 1
    with upgraded.session() as session:
        ticket = session.get(Ticket, 1)
        assert ticket.subject == "Вопрос" and ticket.reopened_at is None


def _write_megabytes(store: Store, count: int) -> None:
    for n in range(count):
        with store.session() as session:
            session.add(RawMessage(content_hash=f"{n:064x}", size=2**20, data=secrets.token_bytes(2**20)))


def _held_checkpoints(monkeypatch) -> threading.Event:
    """The checkpointer's thread waits at each checkpoint until the event is set."""
    held = threading.Event()
    real = Checkpointer.checkpoint
    monkeypatch.setattr(Checkpointer, "checkpoint",
                        staticmethod(lambda connection: held.wait(30) and real(connection)))
    return held


def test_a_daemons_commits_leave_the_log_to_a_thread_that_folds_it_into_the_file(tmp_path, monkeypatch):
    """A commit that checkpoints copies and syncs the log before it returns (~50 ms for a
    batch of large mail); the daemon's commits leave that to a thread of its own."""
    path = tmp_path / "a.db"
    store = open_store(f"sqlite:///{path}")
    held = _held_checkpoints(monkeypatch)
    checkpoints = store.checkpoint_in_background()
    _write_megabytes(store, 8)
    assert Path(f"{path}-wal").stat().st_size > 8 * 2**20     # no commit checkpointed
    assert path.stat().st_size < 2**20
    held.set()                      # the thread, woken by the commits, folds the log in
    deadline = time.monotonic() + 20
    while path.stat().st_size < 8 * 2**20 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size > 8 * 2**20
    checkpoints.stop()
    with store.session() as session:
        assert len(session.exec(select(RawMessage)).all()) == 8


def test_a_log_the_checkpointer_cannot_keep_up_with_is_still_folded_in_by_the_commits(tmp_path, monkeypatch):
    path = tmp_path / "a.db"
    store = open_store(f"sqlite:///{path}")
    held = _held_checkpoints(monkeypatch)       # the thread is stuck for the whole test
    checkpoints = Checkpointer(store.engine, backstop_pages=256).start()
    _write_megabytes(store, 8)
    assert path.stat().st_size > 6 * 2**20      # the commits past 1 MB of log checkpointed
    assert Path(f"{path}-wal").stat().st_size < 3 * 2**20
    held.set()
    checkpoints.stop()


@pytest.mark.postgres
def test_only_a_sqlite_file_has_a_log_to_checkpoint(postgres):
    url = postgres.create_database(f"t_{secrets.token_hex(4)}")
    assert open_store(url).checkpoint_in_background() is None
    assert Store("sqlite://").checkpoint_in_background() is None
