"""Mail goes out to an SMTP server whose certificate a private CA signed, trusted through
smtp.ca_file only; without it the letter waits, with a one-line reason the operator can act on."""

from __future__ import annotations

import shutil
import ssl

import pytest
from aiosmtpd.controller import Controller

from assistant.app import App
from assistant.demo.mailserver import free_port
from privateca import make_private_ca
from support import Clock, mail, settings_in

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="the openssl command is not installed")


class Collect:
    def __init__(self):
        self.received: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    return make_private_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(params=["ssl", "starttls"])
def tls_smtp(request, authority):
    """An SMTP server on loopback speaking TLS from the first byte (ssl) or after STARTTLS."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(authority.certificate, authority.key)
    handler, port = Collect(), free_port("127.0.0.1")
    if request.param == "ssl":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                                server_hostname="localhost")
    else:
        controller = Controller(handler, hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True)
    controller.start()
    controller.security, controller.received = request.param, handler.received
    yield controller
    controller.stop()


def app_sending_to(tmp_path, server, **extra) -> App:
    settings = settings_in(tmp_path, smtp__host="localhost", smtp__port=server.port,
                           smtp__security=server.security, **extra)
    app = App(settings, clock=Clock())
    app.walk.process(mail(sender="Анна Соколова <anna@romashka.example>"))
    app.write_letters_due()
    return app


def test_mail_reaches_a_server_signed_by_a_private_ca_when_smtp_ca_file_names_it(tmp_path, tls_smtp, authority):
    app = app_sending_to(tmp_path, tls_smtp, smtp__ca_file=str(authority.authority))
    assert app.outbox.send_due() == (1, 0)
    assert tls_smtp.received == [("support@example.com", ["anna@romashka.example"])]


def test_without_ca_file_the_letter_waits_and_the_reason_is_one_line(tmp_path, tls_smtp, capsys):
    app = app_sending_to(tmp_path, tls_smtp)
    sent, _failed = app.outbox.send_due()
    assert sent == 0 and tls_smtp.received == []
    reason = app.outbox.unreachable
    assert len(reason.splitlines()) == 1 and "certificate" in reason and "smtp.ca_file" in reason
    [row] = [r for r in app.outbox_rows() if r["kind"] == "acknowledgement"]
    assert row["status"] == "queued" and row["error"] == reason


def test_a_certificate_made_out_to_another_name_is_refused_without_blaming_smtp_ca_file(tmp_path):
    elsewhere = make_private_ca(tmp_path / "ca", host="127.0.0.9")    # not 127.0.0.1
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(elsewhere.certificate, elsewhere.key)
    handler, port = Collect(), free_port("127.0.0.1")
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context,
                            server_hostname="localhost")
    controller.start()
    try:
        settings = settings_in(tmp_path, smtp__host="127.0.0.1", smtp__port=port, smtp__security="ssl",
                               smtp__ca_file=str(elsewhere.authority))
        app = App(settings, clock=Clock())
        app.walk.process(mail(sender="Анна Соколова <anna@romashka.example>"))
        app.write_letters_due()
        assert app.outbox.send_due()[0] == 0 and handler.received == []
    finally:
        controller.stop()
    reason = app.outbox.unreachable
    assert "certificate refused" in reason and "smtp.host must be a name the certificate is made out to" in reason
    assert "ca_file" not in reason
