"""A real SMTP server on loopback for the tests and the demo, delivering into Dovecot."""

from __future__ import annotations

import threading
import time
import warnings

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from assistant.demo.mailserver import LOOPBACK, Dovecot, free_port


class SmtpSink:
    """A real SMTP server on loopback that keeps every mail and can deliver it into Dovecot.

    `received` holds (mail_from, rcpt_tos, raw bytes) in arrival order. With a Dovecot,
    each recipient's copy lands in that user's INBOX (the user is made on first use with
    DEFAULT_PASSWORD), so a test reads it where a person would.
    """

    def __init__(self, dovecot: Dovecot | None = None, host: str = LOOPBACK, port: int | None = None,
                 auth: tuple[str, str] | None = None):
        self.dovecot = dovecot
        self.host = host
        self.port = port or free_port(host)
        self.auth = auth
        self.received: list[tuple[str, list[str], bytes]] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> "SmtpSink":
        options = {}
        if self.auth:
            # Loopback only, so plain AUTH without TLS is acceptable here.
            options = dict(authenticator=self._authenticate, auth_required=True, auth_require_tls=False)
        self._controller = _QuietController(_Handler(self), hostname=self.host, port=self.port,
                                      ready_timeout=10, **options)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> "SmtpSink":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def fail_next(self, count: int = 1, code: int = 451) -> None:
        """Refuse the next `count` mails with `code` (4xx: try later; 5xx: never)."""
        with self._lock:
            self._failures.extend([code] * count)

    def _next_failure(self) -> int | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            given = (auth_data.login.decode(), auth_data.password.decode())
            if given == self.auth:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    def deliver(self, mail_from: str, rcpt_tos: list[str], raw: bytes) -> None:
        """Keep the mail and put each recipient's copy into their Dovecot INBOX."""
        with self._lock:
            self.received.append((mail_from, list(rcpt_tos), raw))
        if self.dovecot is None:
            return
        copy = f"Return-Path: <{mail_from}>\r\n".encode() + raw
        for rcpt in rcpt_tos:
            user = rcpt.lower()
            if not self.dovecot.has_user(user):
                self.dovecot.add_user(user)
            self.dovecot.append(user, copy)

    def wait_for(self, count: int, timeout: float = 10) -> bool:
        """True once at least `count` mails arrived (the sink runs in its own thread)."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return len(self.received) >= count


class _QuietController(Controller):
    def factory(self):
        # aiosmtpd warns on every connection that AUTH without TLS is unsafe; on a
        # loopback test server that is a choice, not news.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return super().factory()


class _Handler:
    def __init__(self, sink: SmtpSink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        code = self.sink._next_failure()
        if code is not None:
            return f"{code} {'4.3.0 try again later' if code < 500 else '5.7.1 refused'}"
        raw = envelope.original_content or envelope.content
        try:
            self.sink.deliver(envelope.mail_from, envelope.rcpt_tos, raw)
        except Exception as exc:  # a sink must answer SMTP, whatever failed behind it
            return f"451 4.3.0 delivery failed: {exc}"
        return "250 OK"
