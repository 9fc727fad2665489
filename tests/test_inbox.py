"""The support mailbox over IMAP, against a real Dovecot (and a fake for a mid-FETCH hang-up)."""

from __future__ import annotations

import logging
import secrets
import ssl
import threading

import pytest
from imapclient import IMAPClient

from assistant.errors import ConfigError, MailboxUnavailable
from assistant.transport.fetched import Backoff, Cursor
from assistant.transport.imap import Inbox
from fakeimap import FakeImap


def mail(subject: str, body: str = "Hello, it does not work.") -> bytes:
    return (f"From: client@example.org\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
            f"Message-ID: <{secrets.token_hex(6)}@example.org>\r\n\r\n{body}\r\n").encode()


def flags_of(dovecot, user: str, folder: str = "INBOX") -> list[tuple]:
    with dovecot.client(user) as client:
        client.select_folder(folder, readonly=True)
        return [flags for _, flags in sorted(client.get_flags(client.search("ALL")).items())]


def test_new_mail_is_fetched_once_and_the_cursor_moves_on(dovecot, mail_user, inbox):
    dovecot.append(mail_user, mail("first"))
    dovecot.append(mail_user, mail("second"))

    batch = inbox.fetch_new("INBOX", None)
    assert [b"first" in m.raw for m in batch.messages] == [True, False]
    assert batch.cursor == Cursor(batch.uidvalidity, batch.messages[-1].uid)
    assert batch.messages[0].source == f"imap:INBOX:{batch.uidvalidity}:{batch.messages[0].uid}"
    assert not batch.reset and not batch.more

    assert inbox.fetch_new("INBOX", batch.cursor).messages == ()
    dovecot.append(mail_user, mail("third"))
    later = inbox.fetch_new("INBOX", batch.cursor)
    assert [b"third" in m.raw for m in later.messages] == [True]


def test_fetching_never_marks_mail_read_and_mail_read_by_a_person_still_comes(dovecot, mail_user, inbox):
    dovecot.append(mail_user, mail("unread"))
    dovecot.append(mail_user, mail("already read in Thunderbird"), flags=(b"\\Seen",))

    batch = inbox.fetch_new("INBOX", None)

    assert len(batch.messages) == 2
    assert b"\\Seen" not in flags_of(dovecot, mail_user)[0]


def test_a_large_folder_comes_in_batches(dovecot, mail_user, settings_for, open_inbox):
    for n in range(5):
        dovecot.append(mail_user, mail(f"number {n}"))
    inbox = open_inbox(settings_for(dovecot, mail_user, imap__batch=2))

    cursor, sizes, more = None, [], True
    while more:
        batch = inbox.fetch_new("INBOX", cursor)
        cursor, more = batch.cursor, batch.more
        sizes.append(len(batch.messages))
    assert sizes == [2, 2, 1]


def test_a_message_over_the_size_limit_is_kept_in_a_file(dovecot, mail_user, settings_for, open_inbox):
    big = mail("logs attached", "x" * 78 + "\r\n") + b"".join(b"%077d\r\n" % n for n in range(30000))
    dovecot.append(mail_user, big)
    inbox = open_inbox(settings_for(dovecot, mail_user, storage__max_message_mb=1))

    [fetched] = inbox.fetch_new("INBOX", None).messages

    assert fetched.raw is None and fetched.path.exists()
    assert fetched.size == len(big) and fetched.read() == big
    fetched.discard()
    assert not fetched.path.exists()


def test_done_mail_gets_the_keyword_and_is_not_fetched_again(dovecot, mail_user, inbox):
    dovecot.append(mail_user, mail("handled"))
    batch = inbox.fetch_new("INBOX", None)

    inbox.mark_done("INBOX", [m.uid for m in batch.messages])

    assert inbox.fetch_new("INBOX", None).messages == ()
    assert b"$Ticketed" in flags_of(dovecot, mail_user)[0]
    assert len(dovecot.messages(mail_user)) == 1     # still there: nothing is deleted


@pytest.mark.parametrize("server_moves", [True, False], ids=["MOVE", "COPY+UID EXPUNGE"])
def test_done_mail_moves_to_the_done_folder(dovecot, mail_user, settings_for, open_inbox, monkeypatch,
                                            server_moves):
    if not server_moves:
        real = IMAPClient.has_capability
        monkeypatch.setattr(IMAPClient, "has_capability", lambda self, cap: cap != "MOVE" and real(self, cap))
    dovecot.append(mail_user, mail("handled"))
    dovecot.append(mail_user, mail("a person deleted this one"), flags=(b"\\Deleted",))
    inbox = open_inbox(settings_for(dovecot, mail_user, imap__done="move", imap__done_folder="Done"))
    batch = inbox.fetch_new("INBOX", None)

    inbox.mark_done("INBOX", [batch.messages[0].uid])

    assert [b"handled" in raw for raw in dovecot.messages(mail_user, "Done")] == [True]
    assert [b"a person deleted" in raw for raw in dovecot.messages(mail_user)] == [True]


def test_a_recreated_folder_is_read_again_from_the_start(dovecot, mail_user, settings_for, open_inbox, caplog):
    dovecot.append(mail_user, mail("before"), folder="Support")
    inbox = open_inbox(settings_for(dovecot, mail_user, imap__folders=["Support"]))
    cursor = inbox.fetch_new("Support", None).cursor
    with dovecot.client(mail_user) as client:
        client.delete_folder("Support")
        client.create_folder("Support")
    dovecot.append(mail_user, mail("after one"), folder="Support")
    dovecot.append(mail_user, mail("after two"), folder="Support")

    with caplog.at_level(logging.WARNING, logger="assistant.transport.imap"):
        batch = inbox.fetch_new("Support", cursor)

    assert batch.reset and batch.uidvalidity != cursor.uidvalidity
    assert len(batch.messages) == 2
    assert "UIDVALIDITY changed" in caplog.text


def test_idle_wakes_up_when_mail_arrives(dovecot, mail_user, inbox):
    cursor = inbox.fetch_new("INBOX", None).cursor
    later = threading.Timer(0.5, dovecot.append, (mail_user, mail("while idle")))
    later.start()
    try:
        assert inbox.wait(timeout=60) is True
    finally:
        later.join()
    assert len(inbox.fetch_new("INBOX", cursor).messages) == 1


def test_waiting_on_a_quiet_mailbox_ends_at_the_timeout(inbox):
    inbox.fetch_new("INBOX", None)
    assert inbox.wait(timeout=1) is False


def test_without_idle_the_mailbox_is_polled(dovecot, mail_user, settings_for, open_inbox):
    inbox = open_inbox(settings_for(dovecot, mail_user, imap__idle=False, imap__poll_seconds=0.2))
    inbox.fetch_new("INBOX", None)
    later = threading.Timer(0.5, dovecot.append, (mail_user, mail("while polling")))
    later.start()
    try:
        assert inbox.wait(timeout=60) is True
    finally:
        later.join()


def test_a_server_restart_mid_run_loses_nothing(private_dovecot, new_user, settings_for, open_inbox, caplog):
    user = new_user(private_dovecot)
    private_dovecot.append(user, mail("before the restart"))
    inbox = open_inbox(settings_for(private_dovecot, user))
    cursor = inbox.fetch_new("INBOX", None).cursor

    private_dovecot.restart()
    private_dovecot.append(user, mail("after the restart"))
    private_dovecot.stop()
    # Back in a second: the fetch below has to keep retrying until then.
    comeback = threading.Timer(1.0, private_dovecot.start)
    comeback.start()
    try:
        with caplog.at_level(logging.WARNING, logger="assistant.transport.imap"):
            batch = inbox.fetch_new("INBOX", cursor)
    finally:
        comeback.join()

    assert [b"after the restart" in m.raw for m in batch.messages] == [True]
    assert "connection lost" in caplog.text and "retrying in" in caplog.text


def test_appended_copies_land_in_the_folder(dovecot, mail_user, inbox):
    inbox.append("Sent", mail("our reply"))
    assert [b"our reply" in raw for raw in dovecot.messages(mail_user, "Sent")] == [True]


def test_a_wrong_password_is_refused_without_retrying(dovecot, mail_user, settings_for):
    sleeps: list[float] = []
    inbox = Inbox(settings_for(dovecot, mail_user), "wrong", sleep=sleeps.append)
    with pytest.raises(MailboxUnavailable, match="refused the login"):
        inbox.fetch_new("INBOX", None)
    assert sleeps == []


def test_plain_text_is_refused_for_a_remote_server(imap_settings):
    with pytest.raises(ConfigError, match="loopback"):
        Inbox(imap_settings.with_values(imap__host="imap.example.com"), "pw")


def test_starttls_never_falls_back_to_plain_text(dovecot, mail_user, settings_for, open_inbox):
    inbox = open_inbox(settings_for(dovecot, mail_user, imap__security="starttls"),
                       backoff=Backoff(first=0.01, attempts=1))
    with pytest.raises(MailboxUnavailable, match="STARTTLS"):
        inbox.fetch_new("INBOX", None)


def test_starttls_refusal_happens_before_the_password_is_sent(settings_for, open_inbox, imap_settings):
    with FakeImap({1: mail("secret")}) as fake:
        inbox = open_inbox(imap_settings.with_values(
            imap__host=fake.host, imap__port=fake.port, imap__security="starttls"))
        with pytest.raises(MailboxUnavailable):
            inbox.fetch_new("INBOX", None)
    assert "LOGIN" not in fake.commands


def test_a_connection_dropped_mid_fetch_is_retried_and_the_message_comes_whole(open_inbox, imap_settings):
    whole = mail("long", "y" * 5000)
    with FakeImap({1: whole}, drops=1) as fake:
        inbox = open_inbox(imap_settings.with_values(imap__host=fake.host, imap__port=fake.port))
        batch = inbox.fetch_new("INBOX", None)
    assert [m.raw for m in batch.messages] == [whole]
    assert fake.commands.count("LOGIN") == 2


def test_a_connection_that_keeps_dropping_mid_fetch_gives_up_without_half_a_message(open_inbox, imap_settings):
    with FakeImap({1: mail("long", "y" * 5000)}, drops=100) as fake:
        inbox = open_inbox(imap_settings.with_values(imap__host=fake.host, imap__port=fake.port),
                           backoff=Backoff(first=0.01, attempts=2))
        with pytest.raises(MailboxUnavailable, match="failed after 3 tries"):
            inbox.fetch_new("INBOX", None)


def test_idle_is_issued_again_before_the_server_would_drop_it(inbox, monkeypatch):
    monkeypatch.setattr("assistant.transport.imap.IDLE_RENEW_SECONDS", 0.2)
    issued = []
    real_idle = IMAPClient.idle
    monkeypatch.setattr(IMAPClient, "idle", lambda self: issued.append(1) or real_idle(self))
    inbox.fetch_new("INBOX", None)

    assert inbox.wait(timeout=1.5) is False
    assert len(issued) >= 2


def test_a_server_gone_during_idle_ends_the_wait_so_the_caller_looks_again(
        private_dovecot, new_user, settings_for, open_inbox):
    user = new_user(private_dovecot)
    inbox = open_inbox(settings_for(private_dovecot, user))
    inbox.fetch_new("INBOX", None)
    stop = threading.Timer(0.5, private_dovecot.stop)
    stop.start()
    try:
        assert inbox.wait(timeout=60) is True
    finally:
        stop.join()
    private_dovecot.start()
    private_dovecot.append(user, mail("after the outage"))
    assert len(inbox.fetch_new("INBOX", None).messages) == 1


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_encrypted_connections_work_with_a_trusted_certificate(tls_dovecot, new_user, settings_for, open_inbox,
                                                               security):
    user = new_user(tls_dovecot)
    tls_dovecot.append(user, mail("over TLS"))
    port = tls_dovecot.ssl_port if security == "ssl" else tls_dovecot.port
    trusted = ssl.create_default_context(cafile=str(tls_dovecot.certificate))
    inbox = open_inbox(settings_for(tls_dovecot, user, imap__security=security, imap__port=port),
                       ssl_context=trusted)

    assert [b"over TLS" in m.raw for m in inbox.fetch_new("INBOX", None).messages] == [True]


def test_an_untrusted_certificate_stops_starttls_before_the_login(tls_dovecot, new_user, settings_for, open_inbox):
    user = new_user(tls_dovecot)
    inbox = open_inbox(settings_for(tls_dovecot, user, imap__security="starttls"))
    with pytest.raises(MailboxUnavailable, match="certificate"):
        inbox.fetch_new("INBOX", None)
    assert f"user=<{user}>" not in tls_dovecot.log_tail(200)
