"""A password goes out in clear text (security = "none") only to this machine, for IMAP and SMTP alike."""

from __future__ import annotations

import pytest

from assistant.errors import ConfigError
from assistant.transport.imap import Inbox
from assistant.transport.outbox import Letter, Outbox
from assistant.demo.smtpsink import SmtpSink
from assistant.store.database import open_store
from assistant.transport.tls import is_loopback
from support import Clock, settings_in

THIS_MACHINE = ["localhost", "LocalHost", " localhost ", "127.0.0.1", "127.8.9.10", "::1", "[::1]",
                "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "[::ffff:127.0.0.1]"]
ELSEWHERE = ["mail.example.com", "10.0.0.1", "192.168.1.5", "0.0.0.0", "::", "[::2]", "fe80::1",
             "localhost.example.com", "mylocalhost", "127.0.0.1.nip.io", "", "[", "[]", "::1]"]


@pytest.mark.parametrize("host", THIS_MACHINE)
def test_this_machine_is_recognised_by_its_spelling(host):
    assert is_loopback(host)


@pytest.mark.parametrize("host", ELSEWHERE)
def test_anything_else_is_refused_without_asking_dns(host):
    # 127.0.0.1.nip.io resolves to 127.0.0.1 on the internet, and could resolve elsewhere
    # by the time the connection is made: a name is never looked up.
    assert not is_loopback(host)


@pytest.mark.parametrize("host", ["[::1]", "localhost", "127.0.0.1"])
def test_the_mailbox_may_be_read_in_plain_text_on_this_machine(tmp_path, host):
    Inbox(settings_in(tmp_path, imap__host=host, imap__security="none"), "pw")


@pytest.mark.parametrize("host", ["imap.example.com", "127.0.0.1.nip.io"])
def test_the_mailbox_refuses_plain_text_to_another_machine(tmp_path, host):
    with pytest.raises(ConfigError, match=f"imap.security = none is only allowed for loopback.*not {host}"):
        Inbox(settings_in(tmp_path, imap__host=host, imap__security="none"), "pw")


def _queued_outbox(tmp_path, **smtp) -> Outbox:
    settings = settings_in(tmp_path, smtp__security="none", **smtp)
    outbox = Outbox(settings, open_store(settings.database_url), Clock())
    with outbox.store.session() as session:
        outbox.queue(session, Letter(to=("anna@romashka.example",), subject="[#7] Отгрузка", text="Смотрим.",
                                     message_id="t7.abc.1@example.com"), kind="reply", ticket_id=7)
    return outbox


def test_smtp_refuses_plain_text_to_another_machine_before_sending_anything(tmp_path):
    outbox = _queued_outbox(tmp_path, smtp__host="127.0.0.1.nip.io", smtp__port=2525)
    with pytest.raises(ConfigError, match="smtp.security = none is allowed only for loopback.*127.0.0.1.nip.io"):
        outbox.send_due()


def test_smtp_sends_in_plain_text_to_localhost(tmp_path):
    with SmtpSink() as sink:
        outbox = _queued_outbox(tmp_path, smtp__host="localhost", smtp__port=sink.port)
        assert outbox.send_due() == (1, 0)
    assert [rcpts for _sender, rcpts, _raw in sink.received] == [["anna@romashka.example"]]
