"""The throwaway mail servers: mail sent over SMTP lands in the recipient's Dovecot INBOX."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from assistant.demo.smtpsink import SmtpSink


def letter(to: str, subject: str = "Printer on fire") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "client@example.org"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Привет! It is on fire again.\n")
    return message


def test_mail_sent_over_smtp_lands_in_the_recipients_inbox(dovecot, smtp_sink, new_user):
    support, colleague = new_user(), new_user(prefix="maria")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as smtp:
        smtp.send_message(letter(support), to_addrs=[support, colleague])

    for user in (support, colleague):
        [raw] = dovecot.messages(user)
        assert b"Subject: Printer on fire" in raw
        assert raw.startswith(b"Return-Path: <client@example.org>")
    [(mail_from, rcpt_tos, _)] = smtp_sink.received
    assert mail_from == "client@example.org" and rcpt_tos == [support, colleague]


def test_a_new_recipient_gets_a_mailbox_with_the_default_password(dovecot, smtp_sink):
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as smtp:
        smtp.send_message(letter("nobody-yet@example.net"))
    assert len(dovecot.messages("nobody-yet@example.net")) == 1
    assert dovecot.password("nobody-yet@example.net") == "secret"


def test_the_sink_can_refuse_for_a_while_to_test_retries(smtp_sink):
    smtp_sink.fail_next(1, code=451)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.send_message(letter("a@example.net"))
        assert refused.value.smtp_code == 451
        smtp.send_message(letter("a@example.net"))
    assert len(smtp_sink.received) == 1


def test_a_sink_with_auth_refuses_strangers():
    with SmtpSink(auth=("outbox", "pw")) as sink:
        with smtplib.SMTP(sink.host, sink.port) as smtp:
            with pytest.raises(smtplib.SMTPAuthenticationError):
                smtp.login("outbox", "wrong")
            smtp.login("outbox", "pw")
            smtp.send_message(letter("a@example.net"))
    assert len(sink.received) == 1


def test_appended_mail_survives_a_restart(private_dovecot):
    private_dovecot.add_user("keeper@example.com")
    private_dovecot.append("keeper@example.com", b"Subject: kept\r\n\r\nstill here\r\n")
    port = private_dovecot.port

    private_dovecot.restart()

    assert private_dovecot.port == port
    assert private_dovecot.messages("keeper@example.com") == [b"Subject: kept\r\n\r\nstill here\r\n"]
