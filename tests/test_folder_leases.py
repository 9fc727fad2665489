"""Two daemons share a mailbox's folders on PostgreSQL; one killed, the other reads its folder too."""

from __future__ import annotations

import email
import os
import secrets
import signal
from collections import Counter
from email.policy import default as default_policy

import pytest
from sqlalchemy import func
from sqlmodel import select

from assistant.app import App
from assistant.config import load
from assistant.daemon import health
from assistant.demo.smtpsink import SmtpSink
from assistant.store.models import Lease, Message, OutboxMail, Quarantine, Ticket
from support import Clock, mail
from test_several_daemons import BEFORE_SUMMARY, count, start_daemon, wait_until, write_config

pytestmark = pytest.mark.postgres

FOLDERS = ("INBOX", "Orders")
PER_FOLDER = 150


def readers(app: App, account: str) -> dict[str, int | None]:
    """Each folder's reading daemon, by pid, from the live leases."""
    with app.store.session() as session:
        leases = {row.name: row for row in session.exec(select(Lease)).all()}
    # Who holds the row: a killed daemon's row stays until the survivor takes it over.
    found = {}
    for folder in FOLDERS:
        lease = leases.get(f"{account}/{folder}")
        found[folder] = int(lease.holder.split(":")[1]) if lease is not None else None
    return found


def deliver(dovecot, user: str) -> None:
    with dovecot.client(user) as client:
        for folder in FOLDERS:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for number in range(PER_FOLDER):
                client.append(folder, mail(msgid=f"{folder}-{number}@folder-clients.example",
                                           sender=f"{folder.lower()}{number}@folder-clients.example",
                                           subject=f"{folder} {number}: не проходит оплата"))


def test_two_daemons_read_one_folder_each_and_a_survivor_takes_over_a_killed_ones_folder(
        tmp_path, postgres, dovecot, mail_user):
    url = postgres.create_database(f"folders_{secrets.token_hex(4)}")
    with SmtpSink(dovecot) as sink:
        config = tmp_path / "assistant.toml"
        write_config(config, url, dovecot, mail_user, sink, folders=FOLDERS)
        app = App(load(config), clock=Clock(BEFORE_SUMMARY))
        account = f"mailbox:{mail_user}@{dovecot.host}"
        logs = [tmp_path / f"daemon{n}.log" for n in range(2)]
        daemons = [start_daemon(config, log) for log in logs]
        try:
            # They share the reading: each folder has its own reader, and they are not the same.
            # Two daemons loading their language pipelines on a busy machine take a while to
            # start; once both run, the folders are shared within a round.
            assert wait_until(lambda: sorted(filter(None, readers(app, account).values()))
                              == sorted(d.pid for d in daemons), timeout=180), \
                f"folders read by {readers(app, account)}, daemons {[d.pid for d in daemons]}"
            shared = readers(app, account)
            status = health.text(health.check(app))
            for folder, pid in shared.items():
                assert any(line.startswith(f"  folder {folder}: read by ") and f":{pid}:" in line
                           for line in status.splitlines()), status
            deliver(dovecot, mail_user)
            assert wait_until(lambda: count(app, select(func.count(Message.id))) >= 40, timeout=120)
            victim = shared["Orders"]
            os.kill(victim, signal.SIGKILL)
            survivor = next(d for d in daemons if d.pid != victim)
            # lease_seconds = 3: the folder is read again by the survivor within a bounded time
            # (the leases expire, then a round of standing by; generous for a loaded machine).
            assert wait_until(lambda: readers(app, account) == {f: survivor.pid for f in FOLDERS},
                              timeout=60)
            assert wait_until(lambda: count(app, select(func.count(Ticket.id))) == 2 * PER_FOLDER,
                              timeout=240)
            acks_sent = select(func.count(OutboxMail.id)).where(
                OutboxMail.kind == "acknowledgement", OutboxMail.status.in_(("sent", "uncertain")))
            assert wait_until(lambda: count(app, acks_sent) == 2 * PER_FOLDER, timeout=120)
        finally:
            for daemon in daemons:
                if daemon.poll() is None:
                    daemon.send_signal(signal.SIGTERM)
            for daemon in daemons:
                daemon.wait(timeout=20)
        received = list(sink.received)

    # Before the kill, the killed daemon read only its own folder.
    victim_log = next(log for log, d in zip(logs, daemons) if d.pid == victim).read_text()
    assert " from Orders " in victim_log and " from INBOX " not in victim_log
    # Every message of both folders has exactly one fate and is marked done on the server.
    with app.store.session() as session:
        stored = session.exec(select(Message.message_id).where(Message.direction == "in")).all()
        quarantined = session.exec(select(func.count(Quarantine.id))).one()
        acks = session.exec(select(OutboxMail).where(OutboxMail.kind == "acknowledgement")).all()
    assert sorted(stored) == sorted(f"{f}-{n}@folder-clients.example" for f in FOLDERS for n in range(PER_FOLDER))
    assert quarantined == 0
    with dovecot.client(mail_user) as client:
        for folder in FOLDERS:
            client.select_folder(folder, readonly=True)
            assert len(client.search(["KEYWORD", "$Ticketed"])) == PER_FOLDER, folder
    # Each client got one acknowledgement (one caught mid-send by the kill may be set aside).
    delivered = Counter(email.message_from_bytes(raw, policy=default_policy)["Message-ID"].strip("<>")
                        for _from, _to, raw in received)
    assert len(acks) == 2 * PER_FOLDER and max(delivered.values()) == 1
    assert sum(row.status == "uncertain" for row in acks) <= 1
