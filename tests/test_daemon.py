"""The daemon on a real Dovecot: IDLE to ticket, server restarts, a SIGKILL mid-batch."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, update
from sqlmodel import select

from assistant.app import App
from assistant.daemon.runner import ACKNOWLEDGE_ROUND, Daemon
from assistant.store.glance import mailbox_lease
from assistant.store.models import Lease, Ticket
from assistant.store.states import Acknowledgement
from support import CONSULTANT, mail


def wait_until(check, timeout=30.0, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def mailbox_settings(tmp_path, dovecot, mail_user, settings_for):
    settings = settings_for(dovecot, mail_user, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"),
                            support__address=mail_user, imap__batch=50)
    return replace(settings, consultants=(CONSULTANT,), base_dir=tmp_path)


def tickets(app):
    return app.ticket_rows(include_closed=True)


def test_mail_appended_to_the_mailbox_becomes_a_ticket_through_idle(mailbox_settings, dovecot, mail_user):
    app = App(mailbox_settings)
    daemon = Daemon(app)
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    try:
        assert wait_until(lambda: daemon._inbox is not None)
        time.sleep(0.5)   # let it settle into IDLE
        dovecot.append(mail_user, mail(subject="Не открывается отчёт"))
        assert wait_until(lambda: len(tickets(app)) == 1, timeout=20)
        assert tickets(app)[0]["subject"] == "Не открывается отчёт"
        dovecot.append(mail_user, mail(subject="Re: Не открывается отчёт", msgid="q2@romashka.example",
                                       In_Reply_To="<q1@romashka.example>", body="Теперь открылся."))
        assert wait_until(lambda: len(app.ticket_detail(1)["messages"]) >= 2, timeout=20)
    finally:
        daemon.stopping.set()
        # Told to stop, it leaves IDLE within a second or so rather than sitting out the wait.
        runner.join(timeout=15)
    assert not runner.is_alive()
    assert len(tickets(app)) == 1


def test_a_server_restart_mid_run_loses_and_doubles_nothing(tmp_path, private_dovecot, settings_for):
    private_dovecot.add_user("support@example.com", "pw")
    settings = settings_for(private_dovecot, "support@example.com",
                            database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), imap__idle=False)
    app = App(settings)
    daemon = Daemon(app)
    for number in range(5):
        private_dovecot.append("support@example.com", mail(msgid=f"m{number}@x.example",
                                                           sender=f"c{number}@x.example"))
    daemon.read_mail()
    private_dovecot.restart()
    for number in range(5, 10):
        private_dovecot.append("support@example.com", mail(msgid=f"m{number}@x.example",
                                                           sender=f"c{number}@x.example"))
    # The first reads after the restart may find the line dropped; the daemon reconnects.
    assert wait_until(lambda: (daemon.read_mail(), len(tickets(app)) == 10)[1], timeout=30, step=0.5)
    assert sorted(int(t["client"][1:].split("@")[0]) for t in tickets(app)) == list(range(10))


def write_config(path, settings, idle=False, batch=20):
    lines = ["[database]", f'url = "{settings["database.url"]}"',
             "[storage]", f'data_dir = "{settings["storage.data_dir"]}"',
             "[imap]", f'host = "{settings["imap.host"]}"', f'port = {settings["imap.port"]}',
             'security = "none"', f'username = "{settings["imap.username"]}"',
             f'password_file = "{settings["imap.password_file"]}"',
             f"idle = {'true' if idle else 'false'}", "poll_seconds = 1", f"batch = {batch}",
             "[support]", f'address = "{settings["support.address"]}"',
             "[approval]", "auto_send_acknowledgement = false"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def mailbox_of_requests(tmp_path, settings, dovecot, user, total, batch=20):
    """`total` requests k0…k{total-1} in the mailbox, and the daemon's config file to read them."""
    for number in range(total):
        dovecot.append(user, mail(msgid=f"k{number}@x.example", sender=f"c{number}@x.example",
                                  subject=f"Заявка {number}"))
    config = tmp_path / "assistant.toml"
    write_config(config, settings, batch=batch)
    return config


def test_sigkill_in_the_middle_of_a_batch_leaves_every_message_with_exactly_one_fate(
        tmp_path, mailbox_settings, dovecot, mail_user):
    total = 120
    config = mailbox_of_requests(tmp_path, mailbox_settings, dovecot, mail_user, total)
    database = tmp_path / "a.db"
    command = [sys.executable, "-m", "assistant", "--config", str(config), "run"]
    daemon = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stored():
        if not database.exists():
            return 0
        try:
            with sqlite3.connect(database) as db:
                return db.execute("SELECT count(*) FROM message").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    try:
        assert wait_until(lambda: stored() > 0, timeout=60)
    finally:
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait()
    assert stored() < total, "the daemon finished before it could be killed mid-run"
    restart_and_expect_every_message_once(config, database, total)


def restart_and_expect_every_message_once(config, database, total):
    again = subprocess.run([sys.executable, "-m", "assistant", "--config", str(config), "run", "--once"],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    with sqlite3.connect(database) as db:
        ids = [row[0] for row in db.execute("SELECT message_id FROM message WHERE direction = 'in'")]
        tickets_made = db.execute("SELECT count(*) FROM ticket").fetchone()[0]
        quarantined = db.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert sorted(ids) == sorted(f"k{n}@x.example" for n in range(total))
    assert tickets_made == total and quarantined == 0


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(child) for child in (task / "children").read_text().split()]
    return found


def test_a_daemon_killed_while_its_worker_reads_restarts_at_once_and_leaves_no_worker_behind(
        tmp_path, mailbox_settings, dovecot, mail_user):
    total = 400
    config = mailbox_of_requests(tmp_path, mailbox_settings, dovecot, mail_user, total,
                                 batch=200)                 # big enough to hand to a worker
    database = tmp_path / "a.db"
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "run"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert wait_until(lambda: children_of(daemon.pid), timeout=120), "the daemon started no worker"
        workers = children_of(daemon.pid)
    finally:
        os.kill(daemon.pid, signal.SIGKILL)
        daemon.wait()
    # A restart straight away is not refused as "another daemon already runs"...
    restart_and_expect_every_message_once(config, database, total)
    # ...and the orphaned worker does not linger with the daemon's memory and files.
    assert wait_until(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), timeout=30), \
        f"workers {workers} outlived their daemon"


def test_a_daemon_writing_a_backlog_of_letters_reads_a_dead_daemons_folder_first(
        mailbox_settings, dovecot, mail_user):
    """Another daemon read 60 requests and died before acknowledging them. This one, busy
    writing those acknowledgements, reads the folder it has taken over after a round of
    letters, not once the whole backlog is through."""
    for number in range(3 * ACKNOWLEDGE_ROUND):
        dovecot.append(mail_user, mail(msgid=f"early{number}@x.example", sender=f"c{number}@x.example"))
    Daemon(App(mailbox_settings)).read_mail()          # the other daemon's reading
    app = App(mailbox_settings)
    folder = mailbox_lease(mailbox_settings, "INBOX")
    with app.store.session() as session:
        session.execute(insert(Lease).values(name=folder, holder="elsewhere:1:dead00",
                                             acquired_at=app.store.now(),
                                             expires_at=app.store.now(timedelta(days=1))))
    dovecot.append(mail_user, mail(msgid="late@x.example", sender="late@x.example",
                                   subject="Пропал доступ к личному кабинету"))
    daemon = Daemon(app)
    rounds = []
    write_round = app.write_letters_due

    def write_then_the_reader_dies(limit):
        rounds.append(write_round(limit=limit))
        if len(rounds) == 1:      # meanwhile its lease lapses, as a killed daemon's does
            with app.store.session() as session:
                session.execute(update(Lease).where(Lease.name == folder)
                                .values(expires_at=app.store.now(-timedelta(seconds=1))))
        return rounds[-1]

    app.write_letters_due = write_then_the_reader_dies
    daemon.step()
    assert rounds == [ACKNOWLEDGE_ROUND]
    assert folder in daemon.leases.held
    assert len(acknowledgements_due(app)) == 2 * ACKNOWLEDGE_ROUND
    daemon.step()
    subjects = [row["subject"] for row in tickets(app)]
    assert len(subjects) == 3 * ACKNOWLEDGE_ROUND + 1 and "Пропал доступ к личному кабинету" in subjects
    assert acknowledgements_due(app) == []


def acknowledgements_due(app) -> list[int]:
    with app.store.session() as session:
        return list(session.exec(select(Ticket.id).where(
            Ticket.acknowledgement == Acknowledgement.DUE)).all())


@pytest.mark.parametrize("idle", [False, True], ids=["polling", "idle"])
def test_sigterm_finishes_the_current_step_and_exits_cleanly(tmp_path, mailbox_settings, idle):
    config = tmp_path / "assistant.toml"
    write_config(config, mailbox_settings, idle=idle)
    daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", str(config), "run"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: (tmp_path / "a.db").exists(), timeout=60)
    time.sleep(1)
    daemon.send_signal(signal.SIGTERM)
    # Well inside the 10 s a container runtime waits before it kills.
    _out, err = daemon.communicate(timeout=10)
    assert daemon.returncode == 0
    assert "stopped cleanly" in err


def test_a_crash_between_storing_and_marking_done_leaves_nothing_unmarked(
        tmp_path, mailbox_settings, dovecot, mail_user, monkeypatch):
    from assistant.transport.imap import Inbox
    for number in range(3):
        dovecot.append(mail_user, mail(msgid=f"u{number}@x.example", sender=f"u{number}@x.example"))
    app = App(mailbox_settings)
    daemon = Daemon(app)

    def crash(self, folder, uids):
        raise RuntimeError("killed before the server heard")

    monkeypatch.setattr(Inbox, "mark_done", crash)
    with pytest.raises(RuntimeError):
        daemon.read_mail()
    monkeypatch.undo()
    daemon._close_inbox()
    again = Daemon(App(mailbox_settings)).read_mail().as_dict()
    assert again["duplicates"] == 3 and again["new_tickets"] == 0
    with dovecot.client(mail_user) as client:
        client.select_folder("INBOX", readonly=True)
        assert len(client.search(["KEYWORD", "$Ticketed"])) == 3
