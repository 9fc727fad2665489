"""Mail is read from a Dovecot whose certificate a private CA signed, trusted through
imap.ca_file only; without it `run --once` fails in one line the operator can act on,
and the mail waits on the server, unread, until the setting is made."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlmodel import select

from assistant.app import App
from assistant.cli import commands as cli
from assistant.config import load
from assistant.demo.mailserver import Dovecot, dovecot_binary
from assistant.errors import MailboxUnavailable
from assistant.store.models import Message
from privateca import make_private_ca
from support import mail

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None or dovecot_binary() is None,
                                reason="the openssl command or dovecot is not installed")

TICKETED = b"$Ticketed"


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def ca_dovecot(authority):
    """A Dovecot offering STARTTLS and implicit TLS with a certificate the private CA signed."""
    with Dovecot(certificate=(authority.certificate, authority.key)) as server:
        yield server


def write_config(tmp_path, server: Dovecot, user: str, security: str, ca_file: str = "") -> str:
    secret = tmp_path / "imap-password"
    secret.write_text(server.password(user), encoding="utf-8")
    port = server.ssl_port if security == "ssl" else server.port
    path = tmp_path / "assistant.toml"
    path.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
                    f'[storage]\ndata_dir = "{tmp_path / "data"}"\n'
                    f'[imap]\nhost = "localhost"\nport = {port}\nsecurity = "{security}"\n'
                    f'username = "{user}"\npassword_file = "{secret}"\nidle = false\n'
                    + (f'ca_file = "{ca_file}"\n' if ca_file else ""), encoding="utf-8")
    return str(path)


def flags_on_server(server: Dovecot, user: str) -> list[set[bytes]]:
    with server.client(user) as client:
        client.select_folder("INBOX", readonly=True)
        fetched = client.get_flags(client.search("ALL"))
    return [set(flags) - {b"\\Recent"} for _uid, flags in sorted(fetched.items())]


def stored(config: str) -> list[str]:
    """The Message-IDs of the mail read into the database."""
    with App(load(Path(config))).store.session() as session:
        return list(session.exec(select(Message.message_id).where(Message.direction == "in")).all())


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_without_imap_ca_file_run_once_fails_in_one_line_and_the_mail_waits_until_it_is_set(
        tmp_path, ca_dovecot, authority, security, capsys):
    user = f"ca-{security}@example.com"
    ca_dovecot.add_user(user, "pw")
    ca_dovecot.append(user, mail(subject="Не проходит оплата", msgid=f"ca-{security}@romashka.example"))

    config = write_config(tmp_path, ca_dovecot, user, security)
    assert cli.main(["--config", config, "run", "--once"]) == 1
    [said] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("assistant:")]
    assert "certificate refused" in said and "set imap.ca_file to the authority that signed it" in said
    # Nothing was read: the message is neither seen nor ticketed on the server, nor stored.
    assert flags_on_server(ca_dovecot, user) == [set()]
    assert stored(config) == []

    config = write_config(tmp_path, ca_dovecot, user, security, ca_file=str(authority.authority))
    assert cli.main(["--config", config, "run", "--once"]) == 0
    assert stored(config) == [f"ca-{security}@romashka.example"]
    assert flags_on_server(ca_dovecot, user) == [{TICKETED}]


def test_a_ca_file_naming_another_authority_is_questioned_by_its_path(
        tmp_path, ca_dovecot, settings_for, open_inbox):
    stranger = make_private_ca(tmp_path / "other-ca")
    user = "ca-stranger@example.com"
    ca_dovecot.add_user(user, "pw")
    settings = settings_for(ca_dovecot, user, imap__host="localhost", imap__security="ssl",
                            imap__port=ca_dovecot.ssl_port, imap__ca_file=str(stranger.authority))
    with pytest.raises(MailboxUnavailable) as refused:
        open_inbox(settings).connect()
    assert f"is {stranger.authority} the authority that signed it?" in str(refused.value)

