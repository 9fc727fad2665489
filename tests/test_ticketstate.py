"""A ticket's state has one writer: the time a client named survives a priority set by hand,
every status change leaves its history row, and no other module writes status, owner or
deadlines (a sixth writer fails the structural test)."""

from __future__ import annotations

import ast
import json
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import text
from sqlmodel import select

from assistant.cli import commands as cli
from assistant.tickets import state as ticketstate
from assistant.app import App
from assistant.store.models import Client, Ticket, TicketChange
from assistant.store.states import PRIORITIES, Status
from assistant.policy.sla import SlaBook
from assistant.store.database import Store
from support import MONDAY_10, SUPPORT, Clock, mail, settings_in

ROOT = Path(__file__).resolve().parent.parent
NOON_MOSCOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)     # MONDAY_10 is 10:00 Moscow
BY_NOON = "Добрый день! Пришлите, пожалуйста, акт сверки сегодня до 12:00, очень нужно."


def _config(folder: Path) -> Path:
    path = folder / "assistant.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{folder / "assistant.db"}"\n'
                    f'[support]\naddress = "{SUPPORT}"\n', encoding="utf-8")
    return path


def _shown(config: Path, clock: Clock, capsys, number: int) -> dict:
    assert cli.main(["--config", str(config), "tickets", "show", str(number), "--json"], clock=clock) == 0
    return json.loads(capsys.readouterr().out)


def _walked(folder: Path, clock: Clock, body: str) -> int:
    app = App(settings_in(folder), clock=clock)
    number = app.walk.process(mail(body=body)).ticket_id
    app.store.dispose()
    return number


# -- deadlines: one rule, whoever recomputes them ------------------------------------------------

def test_a_priority_set_by_hand_keeps_the_time_the_client_named(tmp_path, capsys):
    clock = Clock()
    number = _walked(tmp_path, clock, BY_NOON)
    config = _config(tmp_path)
    assert datetime.fromisoformat(_shown(config, clock, capsys, number)["resolution_due"]) == NOON_MOSCOW
    clock.advance(minutes=20)
    assert cli.main(["--config", str(config), "tickets", "set", str(number), "priority=normal",
                     "--by", "maria@example.com"], clock=clock) == 0
    assert "priority" in capsys.readouterr().out
    shown = _shown(config, clock, capsys, number)
    assert shown["priority"] == "normal"
    assert datetime.fromisoformat(shown["resolution_due"]) == NOON_MOSCOW
    assert datetime.fromisoformat(shown["first_response_due"]) <= NOON_MOSCOW


def test_a_priority_raised_by_hand_answers_sooner_and_still_by_the_clients_time(tmp_path, capsys):
    clock = Clock()
    number = _walked(tmp_path, clock, BY_NOON)
    config = _config(tmp_path)
    clock.advance(minutes=5)
    assert cli.main(["--config", str(config), "tickets", "set", str(number), "priority=critical"],
                    clock=clock) == 0
    capsys.readouterr()
    shown = _shown(config, clock, capsys, number)
    assert shown["critical"] is True
    # Critical: the first answer within 15 minutes; the fix by 12:00, before the SLA's 4 hours.
    assert datetime.fromisoformat(shown["first_response_due"]) == clock.now + timedelta(minutes=15)
    assert datetime.fromisoformat(shown["resolution_due"]) == NOON_MOSCOW


def test_a_ticket_with_no_time_of_the_clients_takes_the_sla_of_its_new_priority(tmp_path, capsys):
    clock = Clock()
    number = _walked(tmp_path, clock, "Подскажите, пожалуйста, как выгрузить отчёт.")
    config = _config(tmp_path)
    before = datetime.fromisoformat(_shown(config, clock, capsys, number)["resolution_due"])
    assert cli.main(["--config", str(config), "tickets", "set", str(number), "priority=low"],
                    clock=clock) == 0
    capsys.readouterr()
    assert datetime.fromisoformat(_shown(config, clock, capsys, number)["resolution_due"]) > before


@pytest.fixture(scope="module")
def book() -> SlaBook:
    return SlaBook.load(ROOT / "rules")


@settings(max_examples=150, deadline=None)
@given(priority=st.sampled_from(PRIORITIES), critical=st.booleans(), keep_earlier=st.booleans(),
       answered=st.booleans(),
       named=st.one_of(st.none(), st.integers(-48 * 60, 30 * 24 * 60)),
       before=st.one_of(st.none(), st.integers(-48 * 60, 30 * 24 * 60)),
       later=st.integers(0, 10 * 24 * 60))
def test_property_deadlines_never_pass_the_clients_time_and_a_raise_never_moves_them_later(
        book, priority, critical, keep_earlier, answered, named, before, later):
    now = MONDAY_10 + timedelta(minutes=later)
    client = Client(email="anna@romashka.example")
    previous = MONDAY_10 + timedelta(minutes=before) if before is not None else None
    ticket = Ticket(client_id=1, priority=priority, critical=critical, resolution_due=previous,
                    first_response_due=previous, first_response_at=MONDAY_10 if answered else None)
    client_time = MONDAY_10 + timedelta(minutes=named) if named is not None else None
    ticketstate.set_deadlines(ticket, client, book, now, client_deadline=client_time,
                              keep_earlier=keep_earlier)
    fresh = book.deadlines(priority=priority, critical=critical, client_email=client.email,
                           internal=False, start=now)
    assert ticket.resolution_due <= fresh.resolution_due
    if client_time is not None:
        assert ticket.client_deadline == client_time and ticket.resolution_due <= client_time
    if keep_earlier and previous is not None:
        assert ticket.resolution_due <= previous
    if answered:
        assert ticket.first_response_due == previous
    else:
        assert ticket.first_response_due <= ticket.resolution_due


# -- status: one writer, one history row per change -----------------------------------------------

@pytest.fixture
def app(tmp_path):
    app = App(settings_in(tmp_path), clock=Clock())
    yield app
    app.store.dispose()


def _history(app: App, number: int, field: str) -> list[TicketChange]:
    with app.store.session() as session:
        return list(session.exec(select(TicketChange).where(
            TicketChange.ticket_id == number, TicketChange.field == field)
            .order_by(TicketChange.id)).all())


def test_resolving_by_hand_stamps_the_time_and_says_who_once(app):
    number = app.walk.process(mail()).ticket_id
    app.clock.advance(hours=2)
    assert app.change_ticket(number, {"status": "resolved"}, who="maria@example.com", why="fixed")
    assert app.change_ticket(number, {"status": "resolved"}, who="maria@example.com", why="again") \
        == [f"[#{number}]: nothing to change"]
    with app.store.session() as session:
        ticket = session.get(Ticket, number)
        assert ticket.status is Status.RESOLVED and ticket.resolved_at == app.clock()
    [row] = _history(app, number, "status")
    assert (row.old, row.new, row.who, row.why) == ("new", "resolved", "maria@example.com", "fixed")


def test_the_client_writing_again_reopens_and_thanks_take_it_back(app):
    number = app.walk.process(mail()).ticket_id
    app.change_ticket(number, {"status": "resolved"}, who="maria@example.com", why="fixed")
    app.clock.advance(hours=1)
    app.walk.process(mail(msgid="q2@romashka.example", In_Reply_To="<q1@romashka.example>",
                          body="Снова не выгружается, та же ошибка."))
    with app.store.session() as session:
        ticket = session.get(Ticket, number)
        assert ticket.status is Status.OPEN and ticket.reopened_at == app.clock()
        assert ticketstate.undo_reopen(session, ticket, "q2@romashka.example") is Status.RESOLVED
        assert ticket.status is Status.RESOLVED and ticket.reopened_at is None
    assert [r.new for r in _history(app, number, "status")] == ["resolved"]


def test_a_move_to_the_same_status_writes_nothing(app):
    number = app.walk.process(mail()).ticket_id
    with app.store.session() as session:
        ticket = session.get(Ticket, number)
        changed = ticket.updated_at
        assert not ticketstate.move(session, ticket, Status.NEW, now=app.clock() + timedelta(hours=1))
        assert ticket.updated_at == changed
    assert _history(app, number, "status") == []


def test_handing_a_ticket_over_is_recorded_and_a_routine_first_owner_is_not(app):
    number = app.walk.process(mail()).ticket_id
    with app.store.session() as session:
        ticket = session.get(Ticket, number)
        assert ticketstate.assign_if_unowned(ticket, "maria@example.com") == "maria@example.com"
        assert ticketstate.assign_if_unowned(ticket, "oleg@example.com") == "maria@example.com"
    assert _history(app, number, "assignee") == []
    app.change_ticket(number, {"assignee": "oleg@example.com"}, who="maria@example.com", why="отпуск")
    app.change_ticket(number, {"assignee": ""}, who="oleg@example.com", why="")
    assert [(r.old, r.new, r.who) for r in _history(app, number, "assignee")] == [
        ("maria@example.com", "oleg@example.com", "maria@example.com"),
        ("oleg@example.com", "", "oleg@example.com")]
    assert app.desk.queue(unassigned=True)[0] == 1      # nobody's again, so the queue finds it


# -- the column: values stored as before, members read back, schema 5 ------------------------------

def _status_stored_and_read(app: App) -> None:
    number = app.walk.process(mail()).ticket_id
    app.change_ticket(number, {"status": "waiting"}, who="maria@example.com", why="")
    with app.store.engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM ticket")).scalar() == "waiting"
    with app.store.session() as session:
        assert session.get(Ticket, number).status is Status.WAITING
        assert session.exec(select(Ticket.id).where(Ticket.status == "waiting")).all() == [number]


def test_status_is_stored_as_its_value_and_read_back_as_a_member(app):
    _status_stored_and_read(app)


@pytest.mark.postgres
def test_status_is_stored_as_its_value_and_read_back_as_a_member_on_postgresql(tmp_path, postgres):
    url = postgres.create_database(f"t_{secrets.token_hex(4)}")
    app = App(settings_in(tmp_path, database__url=url), clock=Clock())
    try:
        _status_stored_and_read(app)
    finally:
        app.store.dispose()


def _schema_4_gains_client_deadline(url: str, tmp_path: Path) -> None:
    app = App(settings_in(tmp_path, database__url=url), clock=Clock())
    number = app.walk.process(mail(body=BY_NOON)).ticket_id
    with app.store.engine.begin() as conn:        # the schema as version 4 left it
        conn.execute(text("ALTER TABLE ticket DROP COLUMN client_deadline"))
        conn.execute(text("UPDATE setting SET value = '4' WHERE key = 'schema_version'"))
    app.store.dispose()
    upgraded = Store(url)
    assert upgraded.migrate() == 4 and Store(url).migrate() == 5
    with upgraded.session() as session:
        ticket = session.get(Ticket, number)
        assert ticket.client_deadline is None and ticket.resolution_due == NOON_MOSCOW
    upgraded.dispose()


def test_a_database_at_schema_4_gains_the_clients_deadline_and_keeps_its_tickets(tmp_path):
    _schema_4_gains_client_deadline(f"sqlite:///{tmp_path / 'assistant.db'}", tmp_path)


@pytest.mark.postgres
def test_a_postgresql_database_at_schema_4_gains_the_clients_deadline(tmp_path, postgres):
    _schema_4_gains_client_deadline(postgres.create_database(f"t_{secrets.token_hex(4)}"), tmp_path)


# -- no sixth writer -----------------------------------------------------------------------------

WRITTEN_ONLY_HERE = {"status", "assignee", "first_response_due", "resolution_due"}


def _writes(tree: ast.AST):
    """(line, what) for each assignment to a guarded attribute and each status history row."""
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            for leaf in ast.walk(target):
                if isinstance(leaf, ast.Attribute) and leaf.attr in WRITTEN_ONLY_HERE \
                        and isinstance(leaf.ctx, ast.Store) and _about_a_ticket(leaf):
                    yield node.lineno, f".{leaf.attr} ="
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "TicketChange":
            for keyword in node.keywords:
                if keyword.arg == "field" and isinstance(keyword.value, ast.Constant) \
                        and keyword.value.value in ("status", "assignee"):
                    yield node.lineno, f"TicketChange(field={keyword.value.value!r})"
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "setattr" and len(node.args) > 1 \
                and isinstance(node.args[1], ast.Constant) and node.args[1].value in WRITTEN_ONLY_HERE:
            yield node.lineno, f"setattr(…, {node.args[1].value!r})"


def _about_a_ticket(target: ast.Attribute) -> bool:
    """Only tickets have an owner and deadlines; drafts and mails have a status too, so a
    status counts on `ticket`, `t`, `self.ticket`, `new_ticket`..."""
    if target.attr != "status":
        return True
    value = target.value
    name = value.attr if isinstance(value, ast.Attribute) else getattr(value, "id", "")
    return "ticket" in name.lower() or name == "t"


def test_only_ticketstate_writes_a_tickets_status_owner_or_deadlines():
    found = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        if path.relative_to(path.parents[1]).as_posix() == "tickets/state.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found += [f"{path.relative_to(ROOT)}:{line}: {what}" for line, what in _writes(tree)]
    assert found == [], "write these through assistant/tickets/state.py:\n" + "\n".join(found)


def test_the_structural_check_sees_each_kind_of_hand_written_state():
    source = ("ticket.status = 'open'\nself.ticket.assignee = who\nt.resolution_due, x = a, b\n"
              "session.add(TicketChange(ticket_id=1, field='status', new='open'))\n"
              "setattr(ticket, 'first_response_due', due)\ndraft.status = 'sent'\nrow.status = 'queued'\n"
              "row.first_response_due = due\n")
    assert [what for _, what in sorted(_writes(ast.parse(source)))] == [
        ".status =", ".assignee =", ".resolution_due =", "TicketChange(field='status')",
        "setattr(…, 'first_response_due')", ".first_response_due ="]
