"""Sending: threaded, once and only once, retried, never a storm, never an injected header."""

from __future__ import annotations

import email
from email.policy import default as default_policy

import pytest

from assistant.store.models import OutboxMail
from assistant.transport.outbox import Letter, Outbox, build
from support import SUPPORT, Clock, settings_in
from assistant.store.database import open_store


@pytest.fixture
def outbox(tmp_path, smtp_sink):
    settings = settings_in(tmp_path, smtp__host=smtp_sink.host, smtp__port=smtp_sink.port,
                           smtp__security="none")
    clock = Clock()
    box = Outbox(settings, open_store(settings.database_url), clock)
    box.clock_ = clock
    return box


def letter(to="anna@romashka.example", **changes):
    values = dict(to=(to,), subject="[#7] Отгрузка", text="Смотрим, напишу до 15:00.",
                  message_id="t7.abc.1@example.com", in_reply_to="CAK1@romashka.example",
                  references=("CAK0@romashka.example",), from_name="Мария Иванова")
    values.update(changes)
    return Letter(**values)


def queue(outbox, the_letter, kind="reply"):
    with outbox.store.session() as session:
        return outbox.queue(session, the_letter, kind=kind, ticket_id=7)


def parsed(raw):
    return email.message_from_bytes(raw, policy=default_policy)


def test_a_sent_reply_lands_in_the_clients_mailbox_threaded(outbox, smtp_sink, dovecot):
    queue(outbox, letter())
    assert outbox.send_due() == (1, 0)
    received = parsed(dovecot.messages("anna@romashka.example")[-1])
    assert received["Message-ID"] == "<t7.abc.1@example.com>"
    assert received["In-Reply-To"] == "<CAK1@romashka.example>"
    assert received["References"] == "<CAK0@romashka.example> <CAK1@romashka.example>"
    assert received["Subject"] == "[#7] Отгрузка"
    assert "Мария Иванова" in received["From"] and SUPPORT in received["From"]
    assert received.get_content().strip() == "Смотрим, напишу до 15:00."


def test_every_outgoing_kind_carries_message_id_in_reply_to_and_references(outbox, smtp_sink):
    for number, kind in enumerate(["acknowledgement", "reply", "progress", "alert"]):
        queue(outbox, letter(message_id=f"t7.abc.{number}@example.com"), kind=kind)
    outbox.send_due()
    for _sender, _rcpts, raw in smtp_sink.received:
        mail = parsed(raw)
        assert mail["Message-ID"] and mail["In-Reply-To"] and mail["References"]


def test_a_mail_is_sent_once_however_often_sending_runs(outbox, smtp_sink):
    queue(outbox, letter())
    outbox.send_due()
    outbox.send_due()
    assert len(smtp_sink.received) == 1


def test_a_crash_between_send_and_record_never_sends_twice(outbox, smtp_sink):
    row = queue(outbox, letter())
    # The state a crash leaves behind: the row was marked 'sending', then the process died.
    with outbox.store.session() as session:
        session.get(OutboxMail, row.id).status = "sending"
    assert outbox.recover() == 1
    assert outbox.send_due() == (0, 0)
    assert smtp_sink.received == []
    with outbox.store.session() as session:
        assert session.get(OutboxMail, row.id).status == "uncertain"


def test_a_temporary_failure_is_retried_with_back_off(outbox, smtp_sink):
    smtp_sink.fail_next(1, code=451)
    row = queue(outbox, letter())
    assert outbox.send_due() == (0, 1)
    with outbox.store.session() as session:
        waiting = session.get(OutboxMail, row.id)
        assert waiting.status == "queued" and waiting.attempts == 1 and "451" in waiting.last_error
    assert outbox.send_due() == (0, 0)        # not yet: the back-off holds it
    outbox.clock_.advance(minutes=2)
    assert outbox.send_due() == (1, 0)
    assert len(smtp_sink.received) == 1


def test_a_permanent_refusal_surfaces_to_the_operator(outbox, smtp_sink):
    smtp_sink.fail_next(1, code=550)
    row = queue(outbox, letter())
    outbox.send_due()
    with outbox.store.session() as session:
        assert session.get(OutboxMail, row.id).status == "failed"


@pytest.mark.parametrize("address", ["noreply@bank.example", "no-reply@shop.example",
                                     "MAILER-DAEMON@mx.example", SUPPORT])
def test_no_automatic_mail_to_no_reply_addresses_or_ourselves(outbox, smtp_sink, address):
    row = queue(outbox, letter(to=address, automatic=True))
    assert row.status == "blocked"
    outbox.send_due()
    assert smtp_sink.received == []


def test_automatic_mail_to_one_sender_is_capped_per_day(outbox, smtp_sink):
    cap = outbox.settings["approval.auto_mail_per_sender_per_day"]
    rows = [queue(outbox, letter(automatic=True, message_id=f"t7.abc.{i}@example.com"))
            for i in range(cap + 2)]
    assert [r.status for r in rows].count("blocked") == 2
    outbox.clock_.advance(days=1, minutes=1)
    assert queue(outbox, letter(automatic=True, message_id="t7.abc.next@example.com")).status == "queued"


def test_automatic_mail_says_so_in_rfc3834_headers(outbox, smtp_sink):
    queue(outbox, letter(automatic=True))
    outbox.send_due()
    mail = parsed(smtp_sink.received[0][2])
    assert mail["Auto-Submitted"] == "auto-replied"


def test_client_text_cannot_inject_headers(tmp_path):
    settings = settings_in(tmp_path)
    evil = letter(subject="Hello\r\nBcc: victim@example.org\r\nX-Evil: 1",
                  from_name="Mallory\r\nBcc: victim@example.org")
    raw = build(evil, settings, Clock()())
    mail = parsed(raw)
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert "victim@example.org" in mail["Subject"]          # kept as text, on one line
    with pytest.raises(ValueError):
        build(letter(to="a@example.com, b@example.com"), settings, Clock()())


def test_lines_end_in_crlf_for_strict_servers(tmp_path):
    raw = build(letter(text="one\ntwo\n"), settings_in(tmp_path), Clock()())
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")


def test_a_long_russian_subject_arrives_word_for_word(outbox, smtp_sink, dovecot):
    subject = "[#7] Черновик ответа ждёт вас: отгрузка остановилась и ещё много слов в длинной теме"
    queue(outbox, letter(subject=subject, from_name="Мария Иванова, Служба поддержки"))
    outbox.send_due()
    received = parsed(dovecot.messages("anna@romashka.example")[-1])
    assert received["Subject"] == subject
    assert received["From"].addresses[0].display_name == "Мария Иванова, Служба поддержки"


def test_the_operator_sees_a_failed_mail_and_can_send_it_again(tmp_path, smtp_sink):
    from support import make_app
    app = make_app(tmp_path, smtp__host=smtp_sink.host, smtp__port=smtp_sink.port,
                   smtp__security="none")
    smtp_sink.fail_next(1, code=550)
    with app.store.session() as session:
        app.outbox.queue(session, letter(), kind="reply", ticket_id=7)
    app.outbox.send_due()
    [failed] = app.outbox_rows()
    assert failed["status"] == "failed" and "550" in failed["error"]
    app.outbox_desk.retry(failed["id"])
    assert app.outbox.send_due() == (1, 0)
    assert app.outbox_rows() == [] and len(smtp_sink.received) == 1
