"""The lists read without the ORM (store/glance.py) are the lists the ORM reads, on SQLite
and PostgreSQL; a database that must migrate first is migrated, then listed."""

from __future__ import annotations

import secrets
import sqlite3
from datetime import timedelta

import pytest
from sqlalchemy import insert
from sqlmodel import select

from assistant import cli
from assistant.app import App
from assistant.daemon import health
from assistant.store.glance import Glance, ticket_row
from assistant.errors import NotFound
from assistant.store.models import Client, Draft, Lease, Message, OutboxMail, Setting, Ticket, TicketChange
from assistant.store.states import Acknowledgement, OutboxStatus, Status
from assistant.replies.pending import alert_not_written
from support import Clock, mail, settings_in


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'a.db'}"
    return request.getfixturevalue("postgres").create_database(f"glance_{secrets.token_hex(4)}")


def filled(tmp_path, url: str, clock: Clock) -> App:
    """A database with what the lists show: open, critical and closed tickets, a letter
    that failed, one not acknowledged, an alert not written, a quarantined mail, leases."""
    app = App(settings_in(tmp_path, database__url=url), clock=clock)
    app.walk.process(mail())
    app.walk.process(mail(sender="ops@logistics.example", msgid="c@x.example",
                          subject="Склад стоит, отгрузка остановилась",
                          body="Отгрузка остановилась полностью, склад стоит. Срочно!"))
    app.walk.process(mail(sender="old@x.example", msgid="old@x.example", subject="Old question"))
    app.walk.process(b"\xff\xfe not a mail at all \x00" * 3)
    app.write_letters_due()
    clock.advance(hours=3)
    with app.store.session() as session:
        session.get(Ticket, 3).status = Status.CLOSED
        letter = session.exec(select(OutboxMail).order_by(OutboxMail.id)).first()
        letter.status, letter.last_error, letter.attempts = OutboxStatus.FAILED, "550 mailbox unavailable", 2
        unacknowledged = session.get(Ticket, 2)
        unacknowledged.acknowledgement = Acknowledgement.FAILED
        session.add(TicketChange(ticket_id=2, field="acknowledgement", old="due", new="failed",
                                 why="the template broke", at=clock()))
        alert_not_written(session, [2], ["duty@example.com"], KeyError("phone"), clock())
        session.execute(insert(Lease).values(name="process:alive", holder="alive",
                                             acquired_at=app.store.now(),
                                             expires_at=app.store.now(timedelta(minutes=1))))
        session.execute(insert(Lease).values(name="process:gone", holder="gone",
                                             acquired_at=app.store.now(timedelta(minutes=-5)),
                                             expires_at=app.store.now(timedelta(minutes=-1))))
    return app


def test_the_lists_read_without_the_orm_are_the_lists_the_orm_reads(tmp_path, database_url):
    clock = Clock()
    app = filled(tmp_path, database_url, clock)
    bare = Glance.open(database_url)
    assert bare is not None and bare.dialect == app.store.engine.dialect.name
    now, tz = clock(), app.settings.support.timezone
    with app.store.session() as session:
        pairs = session.exec(select(Ticket, Client).join(Client, Client.id == Ticket.client_id)
                             .order_by(Ticket.id)).all()
        mails = session.exec(select(OutboxMail).order_by(OutboxMail.id)).all()

    # Every ticket, with its deadlines, flags and client, as the ORM's rows give it.
    listed = bare.tickets(now, tz, include_closed=True)
    assert sorted(listed, key=lambda row: row["id"]) == [ticket_row(t, c, now, tz) for t, c in pairs]
    assert listed[0]["critical"] and listed[0]["ref"] == "#2"
    assert [row["id"] for row in bare.tickets(now, tz)] == [2, 1]         # the closed one is not open

    # The outbox: the failed letter with its error, then what could not be written or sent.
    rows = bare.outbox(include_sent=True)
    assert [(r["id"], r["status"], r["error"], r["created"]) for r in rows[:len(mails)]] == \
        [(m.id, m.status, m.last_error, m.created_at.isoformat()) for m in mails]
    extra = {r["kind"]: r for r in rows[len(mails):]}
    assert "KeyError" in extra["alert"]["error"] and extra["alert"]["ticket"] == 2
    assert extra["acknowledgement"]["error"].startswith("the template broke")
    assert extra["acknowledgement"]["to"] == "ops@logistics.example"

    # One ticket whole, and the drafts waiting for a decision.
    shown = bare.ticket(2, now, tz)
    assert {key: shown[key] for key in listed[0]} == listed[0]
    with app.store.session() as session:
        messages = session.exec(select(Message).where(Message.ticket_id == 2).order_by(Message.id)).all()
        drafts = session.exec(select(Draft).order_by(Draft.id)).all()
    assert [(m["id"], m["from"], m["received"]) for m in shown["messages"]] == \
        [(m.id, m.from_address, m.received_at.isoformat()) for m in messages]
    assert shown["history"][-1]["why"] == "the template broke" and shown["impact"]
    with pytest.raises(NotFound, match="no ticket #99"):
        bare.ticket(99, now, tz)
    assert [(d["id"], d["status"], d["client"]) for d in bare.drafts(include_done=True)] == \
        [(d.id, d.status, next(c.email for t, c in pairs if t.id == d.ticket_id)) for d in drafts]

    [held] = bare.quarantine()
    assert held["kind"] == "unparseable" and held["created"] is not None

    # `assistant status` judges the same, read straight or over the open store.
    assert health.check(App(app.settings, clock=clock)).as_dict() == health.check(app).as_dict()
    leases = {lease["holder"]: lease["live"] for lease in health.check(app).leases}
    assert leases == {"alive": True, "gone": False}


def test_each_look_up_opens_one_connection_whatever_it_reads(tmp_path):
    """`status` makes eight reads: on a PostgreSQL across the network, eight connections
    would cost more than the whole answer may."""
    path = tmp_path / "a.db"
    clock = Clock()
    filled(tmp_path, f"sqlite:///{path}", clock).store.dispose()
    opened = []
    glance = Glance(lambda: opened.append(path) or sqlite3.connect(path), "sqlite")
    glance.facts()
    glance.outbox(include_sent=True)
    glance.ticket(1, clock(), "Europe/Moscow")
    assert len(opened) == 3


def test_a_database_left_by_an_older_version_is_migrated_then_listed(tmp_path, capsys):
    clock = Clock()
    app = filled(tmp_path, f"sqlite:///{tmp_path / 'a.db'}", clock)
    with app.store.session() as session:
        session.get(Setting, "schema_version").value = "4"
    app.store.dispose()
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "{app.settings.database_url}"\n'
                      f'[storage]\ndata_dir = "{tmp_path / "data"}"\n', encoding="utf-8")
    assert Glance.open(app.settings.database_url) is None        # it would not read schema 4
    assert cli.main(["--config", str(config), "tickets"], clock=clock) == 0
    assert "Склад стоит" in capsys.readouterr().out
    assert Glance.open(app.settings.database_url) is not None    # migrated by the store
