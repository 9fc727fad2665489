"""Real mail servers for the tests: one private Dovecot per session, an SMTP sink per test."""

from __future__ import annotations

import os
import secrets
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest

from assistant.config import Settings, defaults
from assistant.transport.fetched import Backoff
from assistant.transport.imap import Inbox
from assistant.demo.mailserver import Dovecot, dovecot_binary
from assistant.demo.pgserver import PostgreSQL, binaries
from assistant.demo.smtpsink import SmtpSink

def pytest_addoption(parser):
    parser.addoption(
        "--clock-shift", type=float, default=0, metavar="DAYS",
        help="run the suite with the wall clock moved DAYS ahead (in this process and the "
             "Python commands it starts), so a test that reads the real date fails today")


def pytest_configure(config):
    days = config.getoption("--clock-shift")
    if not days:
        return
    import time_machine
    traveller = time_machine.travel(datetime.now(timezone.utc) + timedelta(days=days), tick=True)
    traveller.start()
    config.add_cleanup(traveller.stop)
    os.environ["ASSISTANT_TEST_CLOCK_SHIFT_DAYS"] = str(days)
    here = str(Path(__file__).parent / "clockshift")
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")]))


def pytest_report_header(config):
    days = config.getoption("--clock-shift")
    return [f"wall clock shifted {days:g} days ahead"] if days else []


# Short delays so a test that reconnects waits fractions of a second, not minutes.
FAST_BACKOFF = Backoff(first=0.05, cap=0.5, attempts=12)


def _require_dovecot() -> None:
    if dovecot_binary() is None:
        pytest.skip("dovecot is not installed (Debian: apt install dovecot-imapd)")


@pytest.fixture(scope="session")
def dovecot():
    """A private Dovecot for the whole session; tests keep apart by using their own users."""
    _require_dovecot()
    with Dovecot() as server:
        yield server


@pytest.fixture
def private_dovecot():
    """A Dovecot of this test's own, for tests that stop or restart the server."""
    _require_dovecot()
    with Dovecot() as server:
        yield server


@pytest.fixture
def new_user(dovecot) -> Callable[..., str]:
    """Make a fresh login on a Dovecot (the session one unless told): `new_user()`."""
    def make(server: Dovecot = dovecot, prefix: str = "support") -> str:
        name = f"{prefix}-{secrets.token_hex(4)}@example.com"
        server.add_user(name, secrets.token_hex(8))
        return name
    return make


@pytest.fixture
def mail_user(new_user) -> str:
    """The support mailbox's login for this test, e.g. "support-1a2b3c4d@example.com"."""
    return new_user()


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., Settings]:
    """Settings reading `user`'s mailbox on `server`; the password goes through a file."""
    def make(server: Dovecot, user: str, **overrides) -> Settings:
        secret = tmp_path / f"imap-password-{user}"
        secret.write_text(server.password(user), encoding="utf-8")
        values = dict(imap__host=server.host, imap__port=server.port, imap__security="none",
                      imap__username=user, imap__password_file=str(secret), imap__poll_seconds=1)
        values.update(overrides)
        return defaults().with_values(**values)
    return make


@pytest.fixture
def imap_settings(dovecot, mail_user, settings_for) -> Settings:
    return settings_for(dovecot, mail_user)


@pytest.fixture
def open_inbox(tmp_path: Path):
    """Open an Inbox for some settings, closed again at teardown: `open_inbox(settings)`."""
    opened: list[Inbox] = []

    def make(settings: Settings, **options) -> Inbox:
        options.setdefault("backoff", FAST_BACKOFF)
        options.setdefault("spool_dir", tmp_path)
        inbox = Inbox(settings, settings.secret("imap"), **options)
        opened.append(inbox)
        return inbox
    yield make
    for inbox in opened:
        inbox.close()


@pytest.fixture
def inbox(open_inbox, imap_settings) -> Inbox:
    """The support mailbox of this test's user, on the session Dovecot."""
    return open_inbox(imap_settings)


@pytest.fixture
def smtp_sink(dovecot):
    """An SMTP server on loopback that delivers every recipient's copy into Dovecot."""
    with SmtpSink(dovecot) as sink:
        yield sink


@pytest.fixture(scope="session")
def tls_dovecot():
    """A Dovecot offering STARTTLS and implicit TLS with a self-signed certificate."""
    _require_dovecot()
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    with Dovecot(tls=True) as server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A private PostgreSQL for the session; each test makes its own database on it."""
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt install postgresql)")
    server = PostgreSQL().start()
    yield server
    server.stop()
