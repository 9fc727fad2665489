"""The whole walk on real servers: acknowledgement, emailed approval, edits, forgeries, loops."""

from __future__ import annotations

import email
import smtplib
import time
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from sqlmodel import select

from assistant.app import App
from assistant.daemon.runner import Daemon
from assistant.store.models import Draft, OutboxMail
from support import CONSULTANT, mail

CLIENT = "anna@romashka.example"


@pytest.fixture
def world(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    support = new_user(prefix="support")
    settings = settings_for(dovecot, support, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), support__address=support,
                            smtp__host=smtp_sink.host, smtp__port=smtp_sink.port,
                            smtp__security="none", imap__idle=False)
    consultant = replace(CONSULTANT, email=new_user(prefix="maria"))
    client = new_user(prefix="anna")
    settings = replace(settings, consultants=(consultant,), base_dir=tmp_path)
    app = App(settings)
    return app, Daemon(app), support, consultant.email, client


def inbox_of(dovecot, user):
    return [email.message_from_bytes(raw, policy=default_policy) for raw in dovecot.messages(user)]


def deliver(sink, raw, to):
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.sendmail("someone@example.org", [to], raw)


def cycle(daemon):
    daemon.step()


def reply_to(request, sender, text, to):
    reply = EmailMessage()
    reply["From"] = sender
    reply["To"] = to
    reply["Subject"] = "Re: " + request["Subject"]
    reply["In-Reply-To"] = request["Message-ID"]
    reply["References"] = request["Message-ID"]
    reply["Message-ID"] = f"<r{time.time_ns()}@example.com>"
    reply.set_content(text + "\n\n> " + "\n> ".join(request.get_content().splitlines()[:3]))
    return reply.as_bytes()


def test_a_new_mail_gets_its_acknowledgement_threaded_in_the_clients_mailbox(world, dovecot, smtp_sink):
    app, daemon, support, _consultant, client = world
    deliver(smtp_sink, mail(sender=client, to=support, subject="Не работает выгрузка"), support)
    cycle(daemon)
    ack = inbox_of(dovecot, client)[-1]
    assert ack["In-Reply-To"] == "<q1@romashka.example>"
    assert "<q1@romashka.example>" in ack["References"]
    assert ack["Subject"].startswith("[#1]")
    assert ack["Auto-Submitted"] == "auto-replied"
    assert "#1" in ack.get_content()


def approval_request(world, dovecot, smtp_sink):
    """The client writes, a consultant's draft is made; returns the mail asking to approve it."""
    app, daemon, support, consultant, client = world
    deliver(smtp_sink, mail(sender=client, to=support), support)
    cycle(daemon)
    app.drafts.new(1, "need_info", missing=["номер накладной"])
    daemon.send()
    return inbox_of(dovecot, consultant)[-1]


def test_a_consultants_emailed_ok_sends_the_draft(world, dovecot, smtp_sink):
    app, daemon, support, consultant, client = world
    request = approval_request(world, dovecot, smtp_sink)
    assert "номер накладной" in request.get_content()
    deliver(smtp_sink, reply_to(request, consultant, "Согласовано", support), support)
    cycle(daemon)
    sent = inbox_of(dovecot, client)[-1]
    assert "номер накладной" in sent.get_content()
    assert sent["In-Reply-To"] and sent["Auto-Submitted"] is None


def test_an_edited_approval_sends_the_edited_text(world, dovecot, smtp_sink):
    app, daemon, support, consultant, client = world
    request = approval_request(world, dovecot, smtp_sink)
    edited = "Анна, пришлите, пожалуйста, номер накладной — посмотрю сегодня до 16:00."
    deliver(smtp_sink, reply_to(request, consultant, edited, support), support)
    cycle(daemon)
    sent = inbox_of(dovecot, client)[-1]
    assert sent.get_content().strip() == edited


def test_a_forged_approval_does_nothing(world, dovecot, smtp_sink):
    app, daemon, support, consultant, client = world
    request = approval_request(world, dovecot, smtp_sink)
    before = len(inbox_of(dovecot, client))
    # The right thread from the wrong person, and the right person with a wrong token.
    deliver(smtp_sink, reply_to(request, "mallory@evil.example", "ok", support), support)
    forged = email.message_from_bytes(reply_to(request, consultant, "ok", support), policy=default_policy)
    forged.replace_header("In-Reply-To", "<d2.000000000000000000000000@x>")
    forged.replace_header("References", "<d2.000000000000000000000000@x>")
    deliver(smtp_sink, forged.as_bytes(), support)
    cycle(daemon)
    assert len(inbox_of(dovecot, client)) == before
    with app.store.session() as session:
        assert [d.status for d in session.exec(select(Draft)).all()][-1] == "pending"


def test_a_loop_with_an_auto_responder_stops_after_one_mail(world, dovecot, smtp_sink):
    app, daemon, support, _consultant, client = world
    deliver(smtp_sink, mail(sender=client, to=support, subject="Вопрос"), support)
    cycle(daemon)
    for _round in range(3):
        # The client's auto-responder answers whatever it receives.
        last = inbox_of(dovecot, client)[-1]
        auto = EmailMessage()
        auto["From"] = client
        auto["To"] = support
        auto["Subject"] = "Automatic reply: " + last["Subject"]
        auto["Auto-Submitted"] = "auto-replied"
        auto["In-Reply-To"] = last["Message-ID"]
        auto["Message-ID"] = f"<auto{time.time_ns()}@romashka.example>"
        auto.set_content("I am out of the office until Monday.")
        deliver(smtp_sink, auto.as_bytes(), support)
        cycle(daemon)
    assert len(inbox_of(dovecot, client)) == 1
    with app.store.session() as session:
        assert len(session.exec(select(OutboxMail).where(OutboxMail.recipients == client)).all()) == 1


def test_the_acknowledgement_quotes_the_mail_that_opened_the_ticket(world, dovecot, smtp_sink):
    app, daemon, support, _consultant, client = world
    deliver(smtp_sink, mail(sender=client, to=support, subject="Отчёт",
                            body="Отчёт по остаткам не формируется с утра."), support)
    deliver(smtp_sink, mail(sender=client, to=support, subject="Re: Отчёт", msgid="q2@romashka.example",
                            In_Reply_To="<q1@romashka.example>", body="Скриншот пришлю позже."), support)
    cycle(daemon)
    [ack] = inbox_of(dovecot, client)
    assert "Отчёт по остаткам не формируется" in ack.get_content()
    assert ack["In-Reply-To"] == "<q1@romashka.example>"


def test_a_copy_of_every_reply_lands_in_the_support_mailboxs_sent_folder(world, dovecot, smtp_sink):
    app, daemon, support, _consultant, client = world
    deliver(smtp_sink, mail(sender=client, to=support), support)
    cycle(daemon)
    [ack] = inbox_of(dovecot, client)
    sent = [email.message_from_bytes(raw, policy=default_policy)
            for raw in dovecot.messages(support, folder="Sent")]
    assert [m["Message-ID"] for m in sent] == [ack["Message-ID"]]
