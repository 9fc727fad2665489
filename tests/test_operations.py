"""What the operator notices: exit codes cron can see, quick stops, clear config errors, health."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import secrets
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlmodel import select

from assistant.cli import commands as cli
from assistant.daemon import health
from assistant.app import App
from assistant.daemon.runner import Daemon
from assistant.errors import MailboxUnavailable
from assistant.daemon.leases import Leases
from assistant.store.glance import Glance
from assistant.demo.mailserver import Dovecot, free_port
from assistant.store.database import open_store
from assistant.store.models import Lease, OutboxMail
from assistant.demo.smtpsink import SmtpSink
from scheduled import make
from support import CONSULTANT, Clock, mail, settings_in

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_file(tmp_path, *sections: str) -> str:
    path = tmp_path / "assistant.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
                    f'[storage]\ndata_dir = "{tmp_path / "data"}"\n' + "\n".join(sections) + "\n",
                    encoding="utf-8")
    return str(path)


def imap_section(host, port, user="support@example.com", password_file="/dev/null", **extra):
    lines = [f'host = "{host}"', f"port = {port}", 'security = "none"', f'username = "{user}"',
             f'password_file = "{password_file}"', "idle = false", "poll_seconds = 1"]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "[imap]\n" + "\n".join(lines)


def run_cli(*argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "assistant", *argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": ROOT})


# -- run --once tells cron and systemd when a server is away ----------------------------------

def test_run_once_exits_1_when_the_mailbox_cannot_be_reached(tmp_path, capsys):
    config = config_file(tmp_path, imap_section("127.0.0.1", free_port()))
    assert cli.main(["--config", config, "run", "--once"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach 127.0.0.1" in err[0]


def test_run_once_exits_1_when_the_mailbox_refuses_the_login(tmp_path, dovecot, mail_user, capsys):
    wrong = tmp_path / "password"
    wrong.write_text("not-the-password", encoding="utf-8")
    config = config_file(tmp_path, imap_section(dovecot.host, dovecot.port, mail_user, wrong))
    assert cli.main(["--config", config, "run", "--once"]) == 1
    assert "refused the login" in capsys.readouterr().err


def test_run_once_exits_1_when_smtp_cannot_be_reached_and_outbox_list_says_why(tmp_path, capsys):
    config = config_file(tmp_path, f'[smtp]\nhost = "127.0.0.1"\nport = {free_port()}\nsecurity = "none"')
    app = App(settings_in(tmp_path, database__url=f"sqlite:///{tmp_path / 'a.db'}"), clock=Clock())
    app.walk.process(mail())
    app.write_letters_due()
    assert cli.main(["--config", config, "run", "--once"]) == 1
    assert "Connection refused" in capsys.readouterr().err
    assert cli.main(["--config", config, "outbox", "list", "--json"]) == 0
    waiting = json.loads(capsys.readouterr().out)["outbox"]
    acknowledgement = next(w for w in waiting if w["kind"] == "acknowledgement")
    assert acknowledgement["status"] == "queued" and "Connection refused" in acknowledgement["error"]


def test_sigterm_stops_the_daemon_within_two_seconds_while_it_waits_to_reconnect(tmp_path):
    with Dovecot() as server:
        server.add_user("support@example.com", "pw")
        secret = tmp_path / "pw"
        secret.write_text("pw", encoding="utf-8")
        config = config_file(tmp_path, imap_section(server.host, server.port, password_file=secret))
        daemon = subprocess.Popen([sys.executable, "-m", "assistant", "--config", config, "run"],
                                  stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT})
        try:
            for line in daemon.stderr:
                if "imap: connected" in line:
                    break
            server.stop()
            stopped = threading.Event()
            threading.Thread(target=lambda: any(("stopped cleanly" in line) and (stopped.set() or True)
                                                for line in daemon.stderr), daemon=True).start()
            # Back-off waits of 1, 2, then 4 seconds: after 3.5 s it sits in one of them.
            time.sleep(3.5)
            daemon.send_signal(signal.SIGTERM)
            # Timed to the daemon's own "stopped cleanly", before the interpreter's exit,
            # which a loaded machine can stretch past the bound on its own.
            assert stopped.wait(2), "the daemon sat out its back-off after SIGTERM"
            daemon.wait(timeout=10)
            assert daemon.returncode == 0
        finally:
            daemon.kill()


# -- TLS ----------------------------------------------------------------------------------------

def test_a_private_certificate_authority_is_trusted_through_ca_file(tls_dovecot, settings_for, open_inbox):
    user = "ca-user@example.com"
    tls_dovecot.add_user(user, "pw")
    settings = settings_for(tls_dovecot, user, imap__security="ssl", imap__port=tls_dovecot.ssl_port,
                            imap__host="localhost")
    with pytest.raises(MailboxUnavailable, match="certificate refused"):
        open_inbox(settings).connect()
    trusted = settings.with_values(imap__ca_file=str(tls_dovecot.certificate))
    inbox = open_inbox(trusted)
    inbox.connect()
    assert inbox.fetch_new("INBOX", None).messages == ()


def test_starttls_on_a_port_that_speaks_tls_says_to_use_ssl(tls_dovecot, settings_for, open_inbox):
    tls_dovecot.add_user("starttls-user@example.com", "pw")
    settings = settings_for(tls_dovecot, "starttls-user@example.com", imap__security="starttls",
                            imap__port=tls_dovecot.ssl_port, imap__host="localhost")
    with pytest.raises(MailboxUnavailable, match='imap.security = "ssl"'):
        open_inbox(settings, timeout=1).connect()


# -- configuration --------------------------------------------------------------------------------

@pytest.mark.parametrize("section, says", [
    ('[support]\ntimezone = "Moscow"', 'support.timezone = "Moscow" is not a time zone'),
    ("[imap]\nport = 99999", "imap.port = 99999 is not a port"),
    ('[imap]\nfolders = "INBOX"', 'imap.folders is a list: write folders = ["INBOX"]'),
    ('[smtp]\nsecurity = "tls"', 'smtp.security is "ssl", "starttls" or "none"'),
    ('[[consultants]]\nemail = "a@example.com"\nlanguage = ["ru"]', "unknown key language"),
    ('[[consultants]]\nemail = "a@example.com"\nlanguages = "ru"', "languages is a list"),
    ('[database]\nurl = "postgres://u@127.0.0.1/db"', "not a database address"),
    (f'[database]\nurl = "postgresql+psycopg://u:secret@127.0.0.1:{free_port()}/db"',
     "cannot open the database postgresql+psycopg://u:***@"),
], ids=["timezone", "port", "list-as-string", "security", "consultant-typo", "languages-string",
        "misspelled-database", "unreachable-database"])
def test_a_wrong_setting_is_named_in_one_line_without_a_traceback(tmp_path, capsys, section, says):
    path = tmp_path / "assistant.toml"
    path.write_text(section + "\n", encoding="utf-8")
    assert cli.main(["--config", str(path), "tickets"]) == 1
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1 and "secret" not in err


def test_consultants_may_carry_an_english_name_and_managers_their_companies(tmp_path, capsys):
    config = config_file(tmp_path, '[[consultants]]\nemail = "a@example.com"\nname_en = "Anna"',
                         '[[managers]]\nemail = "b@example.com"\ncompanies = ["romashka.example"]')
    assert cli.main(["--config", config, "tickets"]) == 0


# -- the Sent folder --------------------------------------------------------------------------

@pytest.fixture
def sent_items():
    with Dovecot(sent_folder="Sent Items") as server:
        yield server


def test_copies_go_to_the_folder_the_server_marks_sent_also_after_an_imap_outage(
        tmp_path, sent_items, settings_for, dovecot):
    support = "support@example.com"
    sent_items.add_user(support, "pw")
    with SmtpSink(dovecot) as sink:
        settings = settings_for(sent_items, support, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                                storage__data_dir=str(tmp_path / "data"), support__address=support,
                                smtp__host=sink.host, smtp__port=sink.port, smtp__security="none")
        app = App(replace(settings, consultants=(CONSULTANT,), base_dir=tmp_path), clock=Clock())
        daemon = Daemon(app)
        sent_items.stop()                      # IMAP is down when the acknowledgement goes out
        app.walk.process(mail(sender="anna@romashka.example"))
        daemon.step()
        assert sink.wait_for(1)
        with app.store.session() as session:
            assert session.exec(select(OutboxMail.sent_copy)).all() == ["due"]
        sent_items.start()
        daemon.step()
        daemon._close_inbox()
    with sent_items.client(support) as client:
        folders = {name: flags for flags, _sep, name in client.list_folders()}
        assert b"\\Sent" in folders["Sent Items"] and "Sent" not in folders
        client.select_folder("Sent Items", readonly=True)
        assert len(client.search(["ALL"])) == 1


# -- the schedule -------------------------------------------------------------------------------

def test_a_fresh_install_sends_no_summary_for_a_time_that_passed_before_it(tmp_path):
    clock = Clock()                            # Monday 10:00 Moscow, after the 09:30 summary time
    app = make(tmp_path, clock)
    assert app.checkpoints.run_due().summaries == 0
    clock.advance(hours=7)                     # 17:00, after the 16:30 one
    assert app.checkpoints.run_due().summaries >= 1
    assert app.checkpoints.run_due().summaries == 0


# -- health and logs ----------------------------------------------------------------------------

# What a command that only lists or shows rows must not load: each costs a tenth of a second
# or more at every start (the letters' templates, the language pipelines, the servers).
HEAVY = ("spacy", "pymorphy3", "jinja2", "babel", "fastapi", "uvicorn", "schedule", "imapclient",
         "aiosmtpd", "assistant.walk.pipeline", "assistant.mail.intake")
# The lists an operator runs most do without the ORM too (store/glance.py): importing it
# alone takes longer than they may take to answer.
LISTS = (["tickets"], ["tickets", "show", "1"], ["outbox"], ["status"], ["quarantine", "list"],
         ["drafts"])
ORM = ("sqlalchemy", "sqlmodel", "pydantic")


def test_commands_that_only_read_rows_load_no_language_pipeline_templates_nor_servers(tmp_path):
    config = config_file(tmp_path)
    app = App(settings_in(tmp_path, database__url=f"sqlite:///{tmp_path / 'a.db'}"), clock=Clock())
    app.walk.process(mail())
    app.write_letters_due()                     # the acknowledgement: a draft, a letter to approve it
    app.store.dispose()
    probe = ("import sys; from assistant import cli; "
             "code = cli.main(['--config', sys.argv[1], *sys.argv[2:]]); "
             f"print(code, sorted(m for m in {HEAVY + ORM!r} if m in sys.modules))")
    for command in (*LISTS, ["drafts", "show", "1"]):
        done = subprocess.run([sys.executable, "-c", probe, config, *command], capture_output=True,
                              text=True, env={**os.environ, "PYTHONPATH": ROOT}, timeout=60)
        code, loaded = done.stdout.strip().splitlines()[-1].split(" ", 1)
        assert loaded == ("[]" if command in LISTS else str(sorted(ORM))), (command, loaded)
        assert code == ("1" if command == ["status"] else "0"), (command, done.stderr)  # no daemon runs


def test_json_logs_give_one_object_per_line(tmp_path):
    config = config_file(tmp_path, imap_section("127.0.0.1", free_port()))
    done = run_cli("--config", config, "--log-format", "json", "run", "--once")
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert done.returncode == 1 and events
    assert {"time", "level", "logger", "message"} <= set(events[0])
    assert any(e["logger"] == "assistant.daemon.runner" and "mailbox unavailable" in e["message"] for e in events)


def test_status_shows_mailbox_contact_queues_the_oldest_unsent_letter_and_leases(
        tmp_path, dovecot, mail_user, settings_for):
    settings = settings_for(dovecot, mail_user, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), support__address=mail_user,
                            smtp__host="127.0.0.1", smtp__port=free_port(), smtp__security="none")
    app = App(replace(settings, consultants=(CONSULTANT,), base_dir=tmp_path))
    dovecot.append(mail_user, mail())
    daemon = Daemon(app)
    runner = threading.Thread(target=daemon.run, daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = health.check(app)
            if found.last_contact and found.oldest_unsent and found.oldest_unsent["error"]:
                break
            time.sleep(0.2)
        names = {lease["name"] for lease in found.leases if lease["live"]}
        assert f"mailbox:{mail_user}@{dovecot.host}/INBOX" in names and f"process:{daemon.leases.holder}" in names
        assert found.queues["outbox_queued"] == 1 and "Connection refused" in found.oldest_unsent["error"]
        assert found.problems == []
    finally:
        daemon.stopping.set()
        runner.join(timeout=10)
    # Stopped: its leases are given back, and the probe says so.
    assert health.check(app).problems == ["no daemon is running"]


# -- one daemon per SQLite file --------------------------------------------------------------------

def test_a_second_daemon_on_the_same_sqlite_file_refuses_to_start(tmp_path):
    config = config_file(tmp_path)
    first = subprocess.Popen([sys.executable, "-m", "assistant", "--config", config, "run"],
                             stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": ROOT})
    try:
        for line in first.stderr:
            if "daemon: started" in line:
                break
        second = run_cli("--config", config, "run", "--once")
        assert second.returncode == 1
        assert second.stderr.startswith(f"assistant: another daemon (pid {first.pid} ")
        assert "use PostgreSQL to run several" in second.stderr and len(second.stderr.splitlines()) == 1
    finally:
        first.terminate()
        first.wait(timeout=10)
    assert run_cli("--config", config, "run", "--once").returncode == 0


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def lease_store(request, tmp_path):
    """A store on SQLite, or on a database of its own on the session's PostgreSQL."""
    url = (f"sqlite:///{tmp_path / 'leases.db'}" if request.param == "sqlite" else
           request.getfixturevalue("postgres").create_database(f"leases_{secrets.token_hex(4)}"))
    store = open_store(url)
    yield store
    store.dispose()


def heard_from_earlier(store, name: str, seconds: float) -> None:
    """As though the lease's holder had last renewed it `seconds` earlier than it did."""
    with store.session() as session:
        lease = session.get(Lease, name)
        lease.expires_at -= timedelta(seconds=seconds)
        session.add(lease)


def test_a_dead_daemons_lease_is_taken_over_once_it_expires(lease_store):
    first = Leases(lease_store, seconds=30, holder="first")
    second = Leases(lease_store, seconds=30, holder="second")
    assert first.take("mailbox:x") and not second.take("mailbox:x")
    heard_from_earlier(lease_store, "mailbox:x", 20)       # silent for 20 s: 10 s of it left
    assert not second.take("mailbox:x")
    heard_from_earlier(lease_store, "mailbox:x", 15)       # silent for 35 s: lapsed
    assert second.take("mailbox:x")
    assert first.renew() == ["mailbox:x"] and first.held == set()


def test_daemons_whose_clocks_disagree_by_days_still_agree_who_holds_a_lease(lease_store):
    slow = Leases(lease_store, seconds=30, holder="slow")
    fast = Leases(lease_store, seconds=30, holder="fast")
    now = datetime.now(timezone.utc)
    with time_machine.travel(now - timedelta(days=1), tick=True):     # this machine is a day behind
        assert slow.take(slow.presence) and slow.take("mailbox:x")
    with time_machine.travel(now + timedelta(days=1), tick=True):     # that one a day ahead
        assert not fast.take("mailbox:x")
        assert fast.alive() == {"slow"}
        # ... and `assistant status`, read on either machine, says the same.
        assert [(lease.holder, lease.live) for lease in Glance.over(lease_store).facts().leases] == \
            [("slow", True), ("slow", True)]


# -- an on-call alert that cannot be written -------------------------------------------------------

def test_an_on_call_alert_that_keeps_failing_shows_in_outbox_list_and_status(tmp_path, capsys):
    templates = tmp_path / "templates"
    shutil.copytree(settings_in(tmp_path / "stock").templates_dir, templates)
    kept = {path: path.read_text(encoding="utf-8") for path in templates.glob("notices/*/critical_alert.txt.j2")}
    for path in kept:
        path.write_text("Subject: {{ ticket.no_such_field.deeper }}\n\n", encoding="utf-8")
    config = config_file(tmp_path, f'[paths]\ntemplates = "{templates}"',
                         '[support]\naddress = "support@example.com"')
    clock = Clock()
    app = App(settings_in(tmp_path, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                          paths__templates=str(templates)), clock=clock)
    ticket = app.walk.process(mail(subject="Остановилась отгрузка", msgid="fire@romashka.example",
                                   body="Срочно! Склад стоит, вся работа остановилась.")).ticket_id
    for _round in range(3):
        app.write_letters_due()

    assert cli.main(["--config", config, "outbox", "list", "--json"], clock=clock) == 0
    [alert] = [row for row in json.loads(capsys.readouterr().out)["outbox"] if row["kind"] == "alert"]
    assert alert["status"] == "not written" and alert["ticket"] == ticket and alert["attempts"] == 3
    assert "notices/ru/critical_alert.txt.j2" in alert["error"] and "undefined" in alert["error"]
    assert cli.main(["--config", config, "outbox", "list"], clock=clock) == 0
    assert "not written" in capsys.readouterr().out
    assert cli.main(["--config", config, "status", "--json"], clock=clock) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["queues"]["alerts_unwritten"] == 1
    assert any(f"on-call alert of #{ticket} could not be written (3 tries)" in p for p in found["problems"])

    for path, text in kept.items():             # the operator fixes the template
        path.write_text(text, encoding="utf-8")
    fixed = App(app.settings, clock=clock)      # and the daemon starts again
    fixed.write_letters_due()
    assert cli.main(["--config", config, "outbox", "list", "--json"], clock=clock) == 0
    assert [row["status"] for row in json.loads(capsys.readouterr().out)["outbox"]
            if row["kind"] == "alert"] == ["queued"]
    assert cli.main(["--config", config, "status", "--json"], clock=clock) in (0, 1)
    assert json.loads(capsys.readouterr().out)["queues"]["alerts_unwritten"] == 0


def test_status_gives_the_last_mailbox_contact_on_the_assistants_clock(tmp_path, dovecot, mail_user,
                                                                        settings_for):
    clock = Clock()                              # a fixed day, far from the machine's date
    settings = settings_for(dovecot, mail_user, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), support__address=mail_user)
    app = App(replace(settings, consultants=(CONSULTANT,), base_dir=tmp_path), clock=clock)
    daemon = Daemon(app)
    daemon.leases.take(daemon.leases.presence)
    try:
        daemon.step()
    finally:
        daemon._close_inbox()
    assert health.check(app).last_contact == clock()
    assert f"last contact {clock().isoformat(timespec='seconds')}" in health.text(health.check(app))
