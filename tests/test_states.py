"""States are enum members: no bare "pending" or "failed" creeps back into the code, and the
database keeps the very strings it kept before."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from assistant.store.models import (Client, Draft, Message, OutboxMail, PendingNotice, Promise,
                                    Quarantine, Ticket)
from assistant.store.states import (INCOMING_FATES, Acknowledgement, Direction, DraftStatus, Fate,
                                    MailKind, NoticeState, OutboxStatus, PromiseState,
                                    QuarantineKind)
from assistant.walk.passage import Outcome, Tally
from support import MONDAY_10, make_app

SOURCE = Path(__file__).resolve().parent.parent / "assistant"

# The attributes (and keyword arguments, and dict keys) that hold a state, and the values
# that must be written as members there.
STATES = {
    "status": {*DraftStatus, *OutboxStatus},
    "state": {*PromiseState, *NoticeState},
    "kind": {*MailKind, *QuarantineKind},
    "acknowledgement": set(Acknowledgement),
    "direction": set(Direction),
    "fate": set(Fate),
}


def _holder(node: ast.AST) -> str | None:
    """"status" for `row.status`, `Draft.status` or `draft["status"]`; else None."""
    if isinstance(node, ast.Attribute):
        return node.attr if node.attr in STATES else None
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and node.slice.value in STATES:
        return node.slice.value
    return None


def _literals(node: ast.AST, holder: str) -> list[str]:
    """The bare strings in `node` (a constant, or a tuple/list/set of them) that name a state."""
    items = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [item.value for item in items if isinstance(item, ast.Constant)
            and isinstance(item.value, str) and item.value in STATES[holder]]


def literal_states(source: str) -> list[tuple[int, str]]:
    """(line, what) for every state written as a bare string in `source`."""
    found = []

    def check(line: int, holder: str | None, value: ast.AST) -> None:
        if holder:
            found.extend((line, f"{holder} {text!r}") for text in _literals(value, holder))

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for side in sides:
                holder = _holder(side)
                for other in sides:
                    if other is not side:
                        check(node.lineno, holder, other)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                    for one, value in zip(target.elts, node.value.elts):
                        check(node.lineno, _holder(one), value)
                elif node.value is not None:
                    check(node.lineno, _holder(target), node.value)
        elif isinstance(node, ast.Call):
            for keyword in node.keywords:
                check(node.lineno, keyword.arg if keyword.arg in STATES else None, keyword.value)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "in_":
                for arg in node.args:
                    check(node.lineno, _holder(node.func.value), arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args.args + node.args.kwonlyargs
            defaults = [None] * (len(node.args.args) - len(node.args.defaults)) \
                + node.args.defaults + node.args.kw_defaults
            for argument, default in zip(arguments, defaults):
                if default is not None:
                    check(node.lineno, argument.arg if argument.arg in STATES else None, default)
    return found


@pytest.mark.parametrize("snippet", [
    'if row.status == "failed": pass',
    'if "pending" != draft.status: pass',
    'x = draft["status"] == "pending"',
    'ok = row.status not in ("failed", "uncertain")',
    'row.status = "queued"',
    'notice.state, notice.done_at = "written", now',
    'outbox.queue(session, letter, kind="alert")',
    'select(OutboxMail).where(OutboxMail.status.in_(("sent", "failed")))',
    'def quarantine(kind: str = "held"): pass',
    'Message(direction="out", fate="sent")',
    'ticket.acknowledgement = "due"',
])
def test_the_scan_finds_a_state_written_as_a_bare_string(snippet):
    assert literal_states(snippet)


@pytest.mark.parametrize("snippet", [
    'if row.status == OutboxStatus.FAILED: pass',
    'entry.kind == "done"',                 # a work-log kind, not a stored state of ours
    'render(request, "x.html", status=200)',
    'if ticket.status == "open": pass',     # Ticket.status has its own enum, Status
    'finding = {"kind": "blame"}',
])
def test_the_scan_leaves_other_strings_alone(snippet):
    assert literal_states(snippet) == []


def test_no_state_is_written_as_a_bare_string_in_the_code():
    found = [f"{path.relative_to(SOURCE.parent)}:{line}: {what}"
             for path in sorted(SOURCE.rglob("*.py"))
             for line, what in literal_states(path.read_text(encoding="utf-8"))]
    assert found == [], "write these as enum members:\n" + "\n".join(found)


# -- the database ------------------------------------------------------------------------------

def test_states_come_back_as_members_and_are_stored_as_the_same_strings(tmp_path):
    app = make_app(tmp_path)
    with app.store.session() as session:
        client = Client(email="anna@romashka.example", created_at=MONDAY_10)
        session.add(client)
        session.flush()
        ticket = Ticket(client_id=client.id, created_at=MONDAY_10, updated_at=MONDAY_10,
                        acknowledgement="due")                  # a plain string still goes in
        session.add(ticket)
        session.flush()
        session.add(Draft(ticket_id=ticket.id, situation="need_info", created_at=MONDAY_10))
        session.add(OutboxMail(message_id="m1@x", raw=b"", kind="need_info", created_at=MONDAY_10))
        session.add(Promise(ticket_id=ticket.id, due=MONDAY_10, made_at=MONDAY_10))
        session.add(PendingNotice(ticket_id=ticket.id, kind=MailKind.ACCESS_REQUEST,
                                  created_at=MONDAY_10))
        session.add(Quarantine(content_hash="h", created_at=MONDAY_10))
        session.add(Message(message_id="out@x", content_hash="", ticket_id=ticket.id,
                            direction=Direction.OUT, fate=Fate.SENT, received_at=MONDAY_10))
    with app.store.session() as session:
        assert session.exec(select(Ticket)).one().acknowledgement is Acknowledgement.DUE
        assert session.exec(select(Draft)).one().status is DraftStatus.PENDING
        mail = session.exec(select(OutboxMail)).one()
        assert mail.status is OutboxStatus.QUEUED and mail.kind is MailKind.NEED_INFO
        assert session.exec(select(Promise)).one().state is PromiseState.OPEN
        assert session.exec(select(PendingNotice)).one().state is NoticeState.DUE
        assert session.exec(select(Quarantine)).one().kind is QuarantineKind.UNPARSEABLE
        message = session.exec(select(Message)).one()
        assert message.direction is Direction.OUT and message.fate is Fate.SENT
    with sqlite3.connect(tmp_path / "assistant.db") as db:
        assert db.execute("SELECT status, kind FROM outboxmail").fetchall() == [("queued", "need_info")]
        assert db.execute("SELECT acknowledgement FROM ticket").fetchall() == [("due",)]
        assert db.execute("SELECT direction, fate FROM message").fetchall() == [("out", "sent")]


def test_a_state_the_code_does_not_know_is_refused_before_it_is_stored(tmp_path):
    app = make_app(tmp_path)
    with pytest.raises(Exception, match="sendng"):
        with app.store.session() as session:
            session.add(OutboxMail(message_id="m1@x", raw=b"", status="sendng", created_at=MONDAY_10))
    with app.store.session() as session:
        assert session.exec(select(OutboxMail)).all() == []


def test_a_situation_added_as_templates_only_goes_out_as_a_reply():
    assert MailKind.of_situation("need_info") is MailKind.NEED_INFO
    assert MailKind.of_situation("thanks_for_patience") is MailKind.REPLY


def test_our_own_letters_are_not_counted_as_mail_read():
    tally = Tally()
    tally.add(Outcome(Fate.NEW_TICKET, "a@x"))
    assert Fate.SENT not in INCOMING_FATES
    assert tally.as_dict() == {"read": 1, "new_tickets": 1, "replies": 0, "duplicates": 0,
                               "system": 0, "quarantined": 0}
