"""The walk: every message ends in exactly one fate, nothing is lost, nothing doubles."""

from __future__ import annotations

import hashlib
import json

import pytest
from sqlalchemy import event
from sqlmodel import select

from assistant.store.models import Client, Message, Quarantine, RawMessage, Ticket
from assistant.store.raw import raw_bytes
from assistant.store.states import Fate
from assistant.walk.pipeline import LOOKAHEAD
from support import SUPPORT, make_app, mail


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def walk(app, raw, source="test"):
    return app.walk.process(raw, source)


def ticket(app, number):
    with app.store.session() as session:
        return session.get(Ticket, number)


def test_a_first_mail_opens_a_ticket_and_a_client_record_without_registration(app):
    outcome = walk(app, mail())
    assert outcome.fate is Fate.NEW_TICKET
    with app.store.session() as session:
        client = session.exec(select(Client)).one()
        opened = session.get(Ticket, outcome.ticket_id)
    assert client.email == "anna@romashka.example"
    assert client.name == "Анна Соколова"
    assert not client.internal
    assert opened.subject == "Вопрос"
    assert opened.first_response_due is not None


def test_a_colleague_from_a_company_domain_is_a_client_flagged_internal(app):
    walk(app, mail(sender="Иван <ivan@example.com>", msgid="i1@example.com"))
    with app.store.session() as session:
        assert session.exec(select(Client)).one().internal


def test_the_same_mail_twice_is_a_duplicate_and_changes_nothing(app):
    first = walk(app, mail())
    second = walk(app, mail())
    assert (first.fate, second.fate) == (Fate.NEW_TICKET, Fate.DUPLICATE)
    with app.store.session() as session:
        assert len(session.exec(select(Ticket)).all()) == 1


def test_the_same_message_id_through_another_folder_is_one_ticket(app):
    walk(app, mail(), "imap:INBOX:1:1")
    # Another copy with an extra Received line: other bytes, same Message-ID.
    copy = b"Received: from relay.example by mx.example\r\n" + mail()
    assert walk(app, copy, "imap:Sales:1:7").fate is Fate.DUPLICATE


def test_a_reply_by_in_reply_to_joins_the_ticket(app):
    opened = walk(app, mail())
    reply = walk(app, mail(subject="Re: Вопрос", body="Вот ещё скриншот.", msgid="q2@romashka.example",
                           In_Reply_To="<q1@romashka.example>"))
    assert reply.fate is Fate.REPLY
    assert reply.ticket_id == opened.ticket_id


@pytest.mark.parametrize("prefix", ["Re:", "Fwd:", "AW:", "WG:", "Ответ:", "На:", "Fw:", "RE: RE:"])
def test_a_reply_with_only_the_ticket_tag_in_the_subject_joins_the_ticket(app, prefix):
    opened = walk(app, mail())
    reply = walk(app, mail(subject=f"{prefix} [#{opened.ticket_id}] Вопрос", msgid="q3@romashka.example"))
    assert reply.fate is Fate.REPLY
    assert reply.ticket_id == opened.ticket_id


def test_a_mail_with_support_only_in_cc_still_threads(app):
    opened = walk(app, mail())
    reply = walk(app, mail(to="boss@romashka.example", Cc=SUPPORT, subject=f"Re: [#{opened.ticket_id}] Вопрос",
                           msgid="q4@romashka.example"))
    assert reply.ticket_id == opened.ticket_id


def test_a_stranger_writing_into_someone_elses_ticket_is_held_not_joined(app):
    opened = walk(app, mail())
    stranger = walk(app, mail(sender="x@elsewhere.example", subject=f"Re: [#{opened.ticket_id}] Вопрос",
                              msgid="x1@elsewhere.example"))
    assert stranger.fate is Fate.QUARANTINED
    assert "not a participant" in stranger.reason
    with app.store.session() as session:
        held = session.exec(select(Quarantine)).one()
        assert held.kind == "held" and held.ticket_id == opened.ticket_id
        joined = session.exec(select(Message.message_id).where(
            Message.ticket_id == opened.ticket_id, Message.direction == "in")).all()
        assert joined == ["q1@romashka.example"]


def test_a_held_reply_released_by_a_consultant_joins_and_its_sender_becomes_a_participant(app):
    opened = walk(app, mail())
    walk(app, mail(sender="boss@romashka.example", subject=f"Re: [#{opened.ticket_id}] Вопрос",
                   msgid="b1@romashka.example"))
    outcome = app.retry_quarantined(1, release=True)
    assert outcome.fate is Fate.REPLY and outcome.ticket_id == opened.ticket_id
    later = walk(app, mail(sender="boss@romashka.example", subject=f"Re: [#{opened.ticket_id}] Вопрос",
                           msgid="b2@romashka.example"))
    assert later.fate is Fate.REPLY
    assert app.quarantine_rows() == []


def test_a_forged_reference_to_our_message_id_does_not_attach_mail(app):
    opened = walk(app, mail())
    forged = f"t{opened.ticket_id}.0123456789abcdef.zz@example.com"
    outcome = walk(app, mail(sender="x@elsewhere.example", subject="Hello", msgid="f1@elsewhere.example",
                             In_Reply_To=f"<{forged}>"))
    assert outcome.fate is Fate.NEW_TICKET
    assert outcome.ticket_id != opened.ticket_id


def test_a_mail_that_failed_dmarc_for_its_domain_is_held(tmp_path):
    app = make_app(tmp_path, imap__authserv_ids=["mx.example.com"])
    outcome = walk(app, mail(Authentication_Results="mx.example.com; spf=fail smtp.mailfrom=romashka.example; "
                                                    "dmarc=fail header.from=romashka.example"))
    assert outcome.fate is Fate.QUARANTINED
    assert "DMARC" in outcome.reason


@pytest.mark.parametrize("headers", [
    {"Auto_Submitted": "auto-replied", "Subject": "Автоматический ответ: Вопрос"},
    {"Precedence": "bulk"},
    {"List_Id": "<news.vendor.example>"},
])
def test_auto_replies_and_list_mail_are_kept_as_system_mail_and_never_ticketed(app, headers):
    subject = headers.pop("Subject", "News")
    outcome = walk(app, mail(subject=subject, **headers))
    assert outcome.fate is Fate.SYSTEM
    with app.store.session() as session:
        assert session.exec(select(Ticket)).all() == []
        assert session.exec(select(Message)).one().fate == "system"


def test_a_bounce_is_system_mail(app):
    raw = mail(sender="MAILER-DAEMON@mx.example.net", subject="Undelivered Mail Returned to Sender",
               msgid="bounce1@mx.example.net")
    assert walk(app, raw).fate is Fate.SYSTEM


def test_garbage_is_quarantined_with_its_reason_and_its_bytes_kept(app):
    outcome = walk(app, b"\x00\x01\x02 not a mail at all")
    assert outcome.fate is Fate.QUARANTINED
    rows = app.quarantine_rows()
    assert len(rows) == 1 and rows[0]["reason"]
    assert app.quarantine_detail(rows[0]["id"])["size"] == len(b"\x00\x01\x02 not a mail at all")


def test_a_crash_inside_a_stage_quarantines_the_message_and_the_batch_goes_on(app, monkeypatch):
    import assistant.tickets.conversation as conversation

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(conversation, "find", broken)
    first = walk(app, mail())
    monkeypatch.undo()
    second = walk(app, mail(msgid="q9@romashka.example"))
    assert first.fate is Fate.QUARANTINED and "disk on fire" in first.reason
    assert second.fate is Fate.NEW_TICKET
    # After the fix, retry walks it again and it becomes a ticket.
    assert app.retry_quarantined(1).fate in (Fate.NEW_TICKET, Fate.REPLY)


def test_a_message_over_the_size_limit_is_ticketed_from_its_headers_and_kept_whole(tmp_path):
    app = make_app(tmp_path, storage__max_message_mb=1)
    huge = mail(body="x" * (2 * 2**20))
    outcome = walk(app, huge)
    assert outcome.fate is Fate.NEW_TICKET
    detail = app.ticket_detail(outcome.ticket_id)
    assert "over the 1 MB limit" in detail["messages"][0]["notes"]
    with app.store.session() as session:
        kept = session.exec(select(RawMessage)).one()
    assert kept.size == len(huge) and (tmp_path / "data" / kept.path).read_bytes() == huge


def _walk_through(app, entry, raw):
    if entry == "process":
        return app.walk.process(raw, "test")
    with app.store.session() as session:
        if entry == "process_in":
            return app.walk.process_in(session, raw, "test")
        [outcome] = app.walk.process_batch(session, [(raw, "test")])
        return outcome


@pytest.mark.parametrize("entry", ["process", "process_in", "process_batch"])
@pytest.mark.parametrize("raw", [mail(), b"\x00\x01\x02 not a mail at all"], ids=["mail", "garbage"])
def test_every_walked_message_keeps_its_exact_bytes_whichever_way_it_was_walked(app, entry, raw):
    outcome = _walk_through(app, entry, raw)
    assert outcome.fate in (Fate.NEW_TICKET, Fate.QUARANTINED)
    with app.store.session() as session:
        assert raw_bytes(session, app.settings, hashlib.sha256(raw).hexdigest()) == raw
    # ... and a second walk of the same bytes knows them, whichever way it came.
    assert _walk_through(app, entry, raw).fate is Fate.DUPLICATE


def test_a_mail_without_message_id_gets_a_stable_one(app):
    first = walk(app, mail(msgid=None))
    assert first.fate is Fate.NEW_TICKET and first.message_id
    assert walk(app, mail(msgid=None)).fate is Fate.DUPLICATE


def test_a_client_writing_to_a_resolved_ticket_reopens_it(app):
    opened = walk(app, mail())
    app.change_ticket(opened.ticket_id, {"status": "resolved"}, who="maria@example.com", why="fixed")
    walk(app, mail(subject=f"Re: [#{opened.ticket_id}] Вопрос", body="Снова не работает.",
                   msgid="q5@romashka.example"))
    assert ticket(app, opened.ticket_id).status == "open"
    history = app.ticket_detail(opened.ticket_id)["history"]
    assert any(h["field"] == "status" and h["new"] == "open" for h in history)


def test_import_counts_every_fate_and_they_add_up(app):
    from assistant.transport.files import RawMail
    raws = [mail(), mail(), mail(msgid="q2@romashka.example", In_Reply_To="<q1@romashka.example>"),
            mail(msgid="a1@x.example", Auto_Submitted="auto-replied"), b"\x00garbage"]
    tally = app.import_mail(RawMail(str(i), raw) for i, raw in enumerate(raws)).as_dict()
    assert tally == {"read": 5, "new_tickets": 1, "replies": 1, "duplicates": 1, "system": 1,
                     "quarantined": 1}


def test_priority_reasons_are_kept_on_the_ticket(app):
    outcome = walk(app, mail(subject="Срочно: отгрузка остановилась",
                             body="С утра остановилась отгрузка, склад стоит."))
    detail = app.ticket_detail(outcome.ticket_id)
    assert detail["critical"] and detail["priority"] == "critical"
    assert detail["reasons"] and all(r["text"] for r in detail["reasons"])
    assert json.loads(ticket(app, outcome.ticket_id).priority_reasons)


def test_a_client_in_another_time_zone_reads_times_in_their_own(app):
    # Written at 12:00 in Yekaterinburg (UTC+5), which is 10:00 in Moscow.
    raw = mail(sender="Олег <oleg@ural.example>", msgid="z1@ural.example").replace(
        b"Date: Mon, 23 Nov 2026 07:00:00 +0000", b"Date: Mon, 23 Nov 2026 12:00:00 +0500")
    outcome = walk(app, raw)
    detail = app.ticket_detail(outcome.ticket_id)
    assert detail["client_timezone"] == "Etc/GMT-5"
    app.write_letters_due()
    with app.store.session() as session:
        from assistant.store.models import Draft
        ack = session.exec(select(Draft)).one()
    due = ticket(app, outcome.ticket_id).first_response_due
    from zoneinfo import ZoneInfo
    assert due.astimezone(ZoneInfo("Etc/GMT-5")).strftime("%H:%M") in ack.text


def test_a_batch_finds_its_known_senders_and_makes_each_new_one_once_in_a_few_queries(app):
    """A large batch from clients old and new: every sender is one client, the old ones
    keep their records (a missing name filled in), and they are looked up a group at a time."""
    walk(app, mail(sender="old0@romashka.example", msgid="old0@romashka.example"))
    for n in range(1, 10):
        walk(app, mail(sender=f"Клиент {n} <old{n}@romashka.example>", msgid=f"old{n}@romashka.example"))
    with app.store.session() as session:
        before = {c.email: c.id for c in session.exec(select(Client))}
    raws = [mail(sender=f"Анна {n % 30} <{'old' if n % 30 < 10 else 'new'}{n % 30}@romashka.example>",
                 msgid=f"b{n}@romashka.example") for n in range(120)]
    lookups = _counting_selects(app, "client")
    with app.store.session() as session:
        outcomes = app.walk.process_batch(session, [(raw, "test") for raw in raws],
                                          app.understanding.understand(raws, app.clock()))
    assert [o.fate for o in outcomes] == [Fate.NEW_TICKET] * 120
    with app.store.session() as session:
        clients = {c.email: c for c in session.exec(select(Client))}
        tickets = session.exec(select(Ticket)).all()
    assert len(clients) == 30
    assert {email: clients[email].id for email in before} == before
    assert clients["old0@romashka.example"].name == "Анна 0"
    assert clients["new29@romashka.example"].name == "Анна 29"
    assert sum(t.client_id == clients["new12@romashka.example"].id for t in tickets) == 4
    assert len(lookups) <= 120 / LOOKAHEAD, lookups


def _counting_selects(app, table: str) -> list[str]:
    """The SELECTs from `table` the database runs from now on, on whatever cursor."""
    seen: list[str] = []

    def trace(statement: str) -> None:
        if statement.lstrip().upper().startswith("SELECT") and f" {table} " in f"{statement} ".lower():
            seen.append(statement)
    app.store.engine.dispose()
    event.listen(app.store.engine, "connect", lambda dbapi, _record: dbapi.set_trace_callback(trace))
    return seen


def test_a_batch_knows_the_mail_it_already_has_by_bytes_or_message_id_a_group_at_a_time(app):
    old = [mail(msgid=f"old{n}@romashka.example", body=f"Старое письмо {n}") for n in range(40)]
    with app.store.session() as session:
        app.walk.process_batch(session, [(raw, "test") for raw in old])
    resent = [b"Received: from relay.example by mx.example\r\n" + raw for raw in old[:20]]
    new = [mail(msgid=f"new{n}@romashka.example", body=f"Новое письмо {n}") for n in range(40)]
    raws = old[20:] + resent + new + new[:10]          # bytes again, IDs again, new, new twice
    stored_bytes, stored_ids = _counting_selects(app, "rawmessage"), _counting_selects(app, "message")
    with app.store.session() as session:
        outcomes = app.walk.process_batch(session, [(raw, "test") for raw in raws],
                                          app.understanding.understand(raws, app.clock()))
    assert [o.fate for o in outcomes] == [Fate.DUPLICATE] * 40 + [Fate.NEW_TICKET] * 40 + [Fate.DUPLICATE] * 10
    assert [o.reason for o in outcomes[:20]] == ["the same bytes were read before"] * 20
    assert [o.reason for o in outcomes[20:40]] == ["Message-ID already stored"] * 20
    groups = len(raws) / LOOKAHEAD
    assert len(stored_bytes) <= groups and len(stored_ids) <= groups, (stored_bytes, stored_ids)
