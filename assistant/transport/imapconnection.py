"""An IMAP connection that logs in over TLS (or STARTTLS, never falling back to plain text)
and comes back by itself, with back-off, after a dropped line."""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from typing import Callable, Self, TypeVar

from imapclient import IMAPClient, SocketTimeout
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from assistant.config import Settings
from assistant.errors import ConfigError, MailboxUnavailable
from assistant.transport.fetched import Backoff
from assistant.transport.tls import certificate_refused, implicit_tls_hint, is_loopback, trusting

log = logging.getLogger("assistant.transport.imapconnection")

T = TypeVar("T")

SECURITY_CHOICES = ("ssl", "starttls", "none")
# A server greets within a second or two; one that has not in this long never will (a
# TLS port waiting for our handshake while we wait for its plain greeting, a firewall
# that swallows packets), so `run --once` says so well before the read timeout.
GREETING_SECONDS = 15


class _Unreachable(MailboxUnavailable):
    """A connection failure worth retrying (as opposed to a refused login)."""


CONNECTION_LOST = (OSError, IMAPClientAbortError, _Unreachable)


class ImapConnection:
    """The login to one IMAP account (imap.host, imap.port, imap.security, imap.username).

    `with_reconnect` runs an action on the logged-in client and logs in again after a
    dropped line; the mailbox itself (`assistant.transport.imap.Inbox`) builds on it.
    """

    def __init__(self, settings: Settings, password: str, *, backoff: Backoff = Backoff(),
                 sleep: Callable[[float], None] = time.sleep, timeout: float = 60,
                 ssl_context: ssl.SSLContext | None = None):
        self.host = settings.imap.host
        self.port = int(settings.imap.port)
        self.security = settings.imap.security
        self.username = settings.imap.username
        self._password = password
        self._backoff = backoff
        self._sleep = sleep
        self._timeout = timeout
        self._ca_file = settings.imap.ca_file
        self._ssl_context = ssl_context or trusting("imap", self._ca_file)
        self._client: IMAPClient | None = None
        if self.security not in SECURITY_CHOICES:
            raise ConfigError(f"imap.security must be one of {', '.join(SECURITY_CHOICES)}, not {self.security!r}")
        # A password in clear text is only acceptable when it never leaves the machine.
        if self.security == "none" and not is_loopback(self.host):
            raise ConfigError(f"imap.security = none is only allowed for loopback "
                              f"(localhost, 127.0.0.1, ::1), not {self.host}")

    def connect(self) -> None:
        """Open the connection and log in; raises MailboxUnavailable with a one-line reason."""
        self.close()
        try:
            client = self._open()
        except ssl.SSLCertVerificationError as exc:
            # Not worth a retry: the certificate will be just as wrong in a minute.
            raise MailboxUnavailable(f"imap: {self.host}:{self.port}: "
                                     f"{certificate_refused('imap', self._ca_file, exc)}") from exc
        except (OSError, IMAPClientError) as exc:
            hint = implicit_tls_hint("imap", self.security, self.host, self.port)
            raise _Unreachable(f"imap: cannot reach {self.host}:{self.port}: {one_line_reason(exc)}{hint}") from exc
        try:
            client.login(self.username, self._password)
        except LoginError as exc:
            _shutdown(client)
            raise MailboxUnavailable(f"imap: {self.host} refused the login for {self.username}: {one_line_reason(exc)}") from exc
        except (OSError, IMAPClientError) as exc:
            _shutdown(client)
            raise _Unreachable(f"imap: connection to {self.host} lost during login: {one_line_reason(exc)}") from exc
        self._client = client
        log.info("imap: connected to %s:%d as %s (%s)", self.host, self.port, self.username, self.security)

    def _open(self) -> IMAPClient:
        context = self._ssl_context or ssl.create_default_context()
        timeout = SocketTimeout(connect=min(GREETING_SECONDS, self._timeout), read=self._timeout)
        if self.security == "ssl":
            return IMAPClient(self.host, self.port, ssl=True, ssl_context=context, timeout=timeout)
        client = IMAPClient(self.host, self.port, ssl=False, timeout=timeout)
        if self.security == "starttls":
            # Never fall back to plain text: without STARTTLS the password would cross
            # the network in clear, and an attacker can strip the capability on purpose.
            if not client.has_capability("STARTTLS"):
                _shutdown(client)
                raise MailboxUnavailable(
                    f"imap: {self.host}:{self.port} offers no STARTTLS; refusing to log in without encryption")
            try:
                client.starttls(context)
            except Exception:
                _shutdown(client)
                raise
        return client

    def close(self) -> None:
        """Log out if connected; safe to call at any time."""
        if self._client is not None:
            try:
                self._client.logout()
            except Exception:  # the connection may be gone already; nothing to tell
                _shutdown(self._client)
        self._client = None

    def __enter__(self) -> Self:
        self.connect()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def with_reconnect(self, action: Callable[[IMAPClient], T], what: str) -> T:
        """Run `action(client)`, reconnecting with back-off when the connection drops.

        `action` must be safe to run again from the start (select its folder first).
        Refusals (NO/BAD) are not retried. Raises MailboxUnavailable after the last attempt.
        """
        attempt = 0
        while True:
            try:
                if self._client is None:
                    self.connect()
                return action(self._client)
            except CONNECTION_LOST as exc:
                self._drop()
                if attempt >= self._backoff.attempts:
                    raise MailboxUnavailable(f"imap: {what} failed after {attempt + 1} tries: {one_line_reason(exc)}") from exc
                delay = self._backoff.delay(attempt)
                log.warning("imap: connection lost (%s); retrying in %.1fs", one_line_reason(exc), delay)
                self._sleep(delay)
                attempt += 1
            except IMAPClientError as exc:
                raise MailboxUnavailable(f"imap: {what} refused: {one_line_reason(exc)}") from exc

    def _drop(self) -> None:
        if self._client is not None:
            _shutdown(self._client)
        self._client = None


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(Exception):   # already closed: nothing left to do
        client.shutdown()


def one_line_reason(exc: BaseException) -> str:
    """One line saying what went wrong, e.g. "[AUTHENTICATIONFAILED] Authentication failed."."""
    detail = exc.args[0] if exc.args else ""
    if isinstance(detail, str) and detail[:2] in ("b'", 'b"'):
        # imapclient wraps server text as the repr of bytes: b'[ALERT] ...'
        detail = detail[2:-1]
    if isinstance(detail, bytes):
        detail = detail.decode("utf-8", "replace")
    text = str(detail) if isinstance(exc, IMAPClientError) and detail else str(exc)
    return (text.removeprefix("imap: ").splitlines() or [""])[0] or type(exc).__name__
