"""SMTP sending: build each mail once, thread it, send it once, retry with back-off."""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.policy import compat32
from email.utils import format_datetime, formataddr

from sqlalchemy import or_, update
from sqlmodel import Session, select

from assistant.config import Settings
from assistant.errors import ConfigError, MailboxUnavailable
from assistant.transport.tls import certificate_refused, implicit_tls_hint, is_loopback, trusting
from assistant.daemon.leases import process_id
from assistant.store.models import OutboxMail
from assistant.store.states import MailKind, OutboxStatus
from assistant.store.database import Store

log = logging.getLogger("assistant.transport.outbox")

MAX_ATTEMPTS = 6
BACKOFF = (60, 300, 900, 3600, 4 * 3600)       # seconds before attempts 2, 3, ...
# Addresses that never read what is sent to them; answering them only feeds loops (RFC 3834 §2).
NO_REPLY = re.compile(
    r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|mailer[-_.]daemon|postmaster|bounces?)([+-].*)?@",
    re.IGNORECASE)
# Mail sent on a schedule or to our own people (reports, summaries, alerts) answers nothing,
# so RFC 3834 §5 calls it auto-generated; Exchange is asked not to auto-answer it.
AUTO_GENERATED = (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"))
# Some servers take 8 or so kilobytes of References; keep the first and the newest ids.
MAX_REFERENCES = 20


@dataclass(frozen=True)
class Letter:
    """What to send, before it becomes bytes. Every field may carry client text."""

    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    message_id: str = ""
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    from_name: str = ""
    cc: tuple[str, ...] = ()
    automatic: bool = False
    extra_headers: tuple[tuple[str, str], ...] = ()


def mailbox(address: str) -> str:
    """The mailbox an address reaches: lower case, without a "+tag" (RFC 5233 subaddress).

    >>> mailbox("Victim+1@Example.COM")
    'victim@example.com'
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0] or local}@{domain}"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def one_line(value: str) -> str:
    """Header text with no way to start another header: CR, LF and other controls become spaces."""
    return " ".join(re.sub(r"[\x00-\x1f\x7f\u2028\u2029\x85]", " ", value).split())


def build(letter: Letter, settings: Settings, now: datetime) -> bytes:
    """The letter as RFC 5322 bytes with CRLF line ends (RFC 5321 §2.3.8).

    Threading (RFC 5322 §3.6.4): In-Reply-To names the mail answered; References carries
    the chain so Outlook and Gmail keep the conversation together.

    Built with the compat32 classes on purpose: CPython 3.11's default policy folds a long
    non-ASCII Subject into encoded words and drops the space between two of them
    ("ждёт вас" arrives as "ждётвас"); email.header.Header keeps it.
    """
    message = _body(letter.text, letter.html)
    support = settings.support.address
    message["From"] = formataddr((one_line(letter.from_name or settings.support.name), support),
                                 charset="utf-8")
    message["To"] = ", ".join(_address(a) for a in letter.to)
    if letter.cc:
        message["Cc"] = ", ".join(_address(a) for a in letter.cc)
    message["Subject"] = _header_text(one_line(letter.subject))
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{_msgid(letter.message_id)}>"
    if letter.in_reply_to:
        message["In-Reply-To"] = f"<{_msgid(letter.in_reply_to)}>"
    references = [r for r in letter.references if r]
    if letter.in_reply_to and letter.in_reply_to not in references:
        references.append(letter.in_reply_to)
    if len(references) > MAX_REFERENCES:
        references = references[:1] + references[-(MAX_REFERENCES - 1):]
    if references:
        message["References"] = " ".join(f"<{_msgid(r)}>" for r in references)
    message["X-Assistant-Origin"] = support
    if letter.automatic:
        message["Auto-Submitted"] = "auto-replied"          # RFC 3834 §5
        message["X-Auto-Response-Suppress"] = "All"         # Exchange: no out-of-office back
    for name, value in letter.extra_headers:
        message[one_line(name)] = _header_text(one_line(value))
    return message.as_bytes(policy=compat32.clone(linesep="\r\n"))


def _body(text: str, html: str | None) -> MIMENonMultipart | MIMEMultipart:
    plain = _text_part(text, "plain")
    if not html:
        return plain
    both = MIMEMultipart("alternative")
    both.attach(plain)
    both.attach(_text_part(html, "html"))
    return both


def _text_part(text: str, subtype: str) -> MIMENonMultipart:
    # Quoted-printable keeps a Russian letter readable in a raw view and under 78 columns.
    charset = Charset("utf-8")
    charset.body_encoding = QP
    part = MIMENonMultipart("text", subtype)
    part.set_payload(text.replace("\r\n", "\n"), charset)
    return part


def _header_text(value: str) -> str | Header:
    return value if value.isascii() else Header(value, "utf-8")


def _address(value: str) -> str:
    clean = one_line(value)
    if "," in clean or "<" in clean and not clean.endswith(">"):
        raise ValueError(f"not one address: {clean!r}")
    return clean


def _msgid(value: str) -> str:
    clean = one_line(value).strip("<>")
    if not clean or " " in clean or "<" in clean or ">" in clean:
        raise ValueError(f"not a Message-ID: {value!r}")
    return clean


class Outbox:
    """Queues mail in the database and sends what is due; safe to run after any crash."""

    def __init__(self, settings: Settings, store: Store, clock):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.unreachable: str | None = None    # why the last send_due could not reach SMTP

    def blocked(self, session: Session, address: str, automatic: bool) -> str | None:
        """Why automatic mail must not go to `address`, or None when it may."""
        address = address.lower()
        if address in self.settings.support_addresses:
            return "it is our own address"
        if NO_REPLY.match(address):
            return "it is a no-reply address"
        if automatic:
            since = self.clock() - timedelta(days=1)
            local, domain = mailbox(address).split("@", 1) if "@" in address else (address, "")
            # victim+1@, Victim+2@ and victim@ are one person's mailbox: one count.
            tagged = _like_escape(local) + "+%@" + _like_escape(domain)
            sent = session.exec(select(OutboxMail.id).where(
                OutboxMail.automatic, OutboxMail.created_at >= since,
                or_(OutboxMail.recipients == f"{local}@{domain}",
                    OutboxMail.recipients.like(tagged, escape="\\")))).all()
            cap = self.settings.approval.auto_mail_per_sender_per_day
            if len(sent) >= cap:
                return (f"{len(sent)} automatic mails went to the mailbox {local}@{domain} in the "
                        f"last day (cap {cap})")
        return None

    def queue(self, session: Session, letter: Letter, *, kind: MailKind, ticket_id: int | None = None,
              draft_id: int | None = None) -> OutboxMail:
        """Store the letter, built once; returns the row (status blocked, with why, if refused)."""
        now = self.clock()
        row = OutboxMail(message_id=_msgid(letter.message_id), ticket_id=ticket_id,
                         draft_id=draft_id, kind=MailKind(kind), recipients=",".join(
                             a.lower() for a in (*letter.to, *letter.cc)),
                         subject=one_line(letter.subject), raw=build(letter, self.settings, now),
                         automatic=letter.automatic, created_at=now, next_attempt_at=now)
        for address in (*letter.to, *letter.cc):
            why = self.blocked(session, address, letter.automatic)
            if why:
                row.status, row.last_error = OutboxStatus.BLOCKED, f"not sent to {address}: {why}"
                log.warning("outbox: %s blocked: %s", row.message_id, row.last_error)
                break
        session.add(row)
        session.flush()
        return row

    def recover(self, alive: set[str] = frozenset()) -> int:
        """After a crash, a mail caught between 'sending' and 'sent' may have gone out.

        Sending it again could reach the client twice, so it is set aside as 'uncertain'
        for the operator instead (`assistant outbox`, then `assistant outbox retry N`
        once the Sent folder or the client says it did not arrive), and logged. Mail
        being sent right now by a live process (`alive`: ids from leases.process_id) is
        left to it.
        """
        with self.store.session() as session:
            rows = session.exec(select(OutboxMail).where(OutboxMail.status == OutboxStatus.SENDING)).all()
            rows = [row for row in rows if row.claimed_by not in alive]
            for row in rows:
                row.status = OutboxStatus.UNCERTAIN
                row.last_error = "the assistant stopped while sending; check the Sent folder"
                log.error("outbox: %s may or may not have been sent (ticket %s)",
                          row.message_id, row.ticket_id)
        return len(rows)

    def send_due(self, after_sent=None, limit: int = 500,
                 stop: Callable[[], bool] = lambda: False) -> tuple[int, int]:
        """Send queued mail whose time has come, claiming it row by row; returns (sent, failed).

        Several daemons may call this at once: each letter is claimed by one of them
        before it goes out (see `_claim`), so it goes out once whoever sends it. When
        the server cannot be reached, every waiting letter keeps the reason
        (`assistant outbox list` shows it) and `unreachable` says it for `run --once`.
        """
        sent = failed = 0
        self.unreachable = None
        if not self._anything_due():
            return 0, 0
        connection = None
        try:
            for _ in range(limit):
                if stop():          # a daemon told to stop leaves the rest to the next one
                    break
                try:
                    connection = connection or self._connect()
                except MailboxUnavailable as exc:
                    self.unreachable = str(exc)
                    self._postpone(str(exc))
                    return sent, failed + 1
                row_id = self._claim()
                if row_id is None:
                    break
                if self._send_one(connection, row_id, after_sent):
                    sent += 1
                else:
                    failed += 1
                    connection = _close(connection)
        finally:
            _close(connection)
        return sent, failed

    def _due(self):
        return (OutboxMail.status == OutboxStatus.QUEUED, OutboxMail.next_attempt_at <= self.clock())

    def _anything_due(self) -> bool:
        with self.store.session() as session:
            return session.exec(select(OutboxMail.id).where(*self._due()).limit(1)).first() is not None

    def _claim(self) -> int | None:
        """Mark the oldest due letter 'sending' for this process; its id, or None when none is left.

        One statement, committed before the first byte goes out (see recover). On
        PostgreSQL the inner SELECT ... FOR UPDATE SKIP LOCKED passes over a letter
        another daemon is claiming this instant instead of waiting for it; on SQLite the
        UPDATE holds the write lock, and only one daemon runs there anyway.
        """
        oldest = (select(OutboxMail.id).where(*self._due()).order_by(OutboxMail.id).limit(1)
                  .with_for_update(skip_locked=True).scalar_subquery())
        with self.store.session() as session:
            return session.execute(
                update(OutboxMail).where(OutboxMail.id == oldest, OutboxMail.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.SENDING, attempts=OutboxMail.attempts + 1,
                        claimed_by=process_id())
                .returning(OutboxMail.id)).scalar()

    def send_now(self, row_id: int) -> bool:
        """Send one queued mail at once (a sign-in link cannot wait for the next round).

        The row is claimed first, as `send_due` claims, so a daemon sending at the same
        moment never sends it too. Raises MailboxUnavailable when no SMTP server answers;
        the mail then stays queued for the daemon. Returns False when the server refused
        it (it is retried later) or someone else has it already.
        """
        with self.store.session() as session:
            claimed = session.execute(
                update(OutboxMail).where(OutboxMail.id == row_id, OutboxMail.status == OutboxStatus.QUEUED)
                .values(status=OutboxStatus.SENDING, attempts=OutboxMail.attempts + 1,
                        claimed_by=process_id())
                .returning(OutboxMail.id)).scalar()
        if claimed is None:
            return False
        try:
            connection = self._connect()
        except MailboxUnavailable:
            with self.store.session() as session:
                row = session.get(OutboxMail, row_id)
                row.status, row.attempts = OutboxStatus.QUEUED, row.attempts - 1
            raise
        try:
            return self._send_one(connection, row_id, None)
        finally:
            _close(connection)

    def _send_one(self, connection, row_id: int, after_sent) -> bool:
        with self.store.session() as session:
            row = session.get(OutboxMail, row_id)
        try:
            refused = connection.sendmail(self.settings.support.address,
                                          row.recipients.split(","), row.raw)
        except (smtplib.SMTPException, OSError) as exc:
            self._failed(row_id, exc)
            return False
        with self.store.session() as session:
            row = session.get(OutboxMail, row_id)
            row.status, row.sent_at = OutboxStatus.SENT, self.clock()
            row.last_error = f"refused by the server: {', '.join(refused)}" if refused else ""
            # The reader of the mailbox files a copy in Sent, now or once IMAP is back.
            row.sent_copy = "due" if row.kind != MailKind.APPROVAL_REQUEST else ""
        log.info("outbox: sent %s (%s) to %s", row.message_id, row.kind, row.recipients)
        if after_sent:
            after_sent(row)
        return True

    def _failed(self, row_id: int, exc: Exception) -> None:
        permanent = isinstance(exc, smtplib.SMTPResponseException) and 500 <= exc.smtp_code < 600
        with self.store.session() as session:
            row = session.get(OutboxMail, row_id)
            row.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            if permanent or row.attempts >= MAX_ATTEMPTS:
                row.status = OutboxStatus.FAILED
                log.error("outbox: giving up on %s after %d attempts: %s",
                          row.message_id, row.attempts, row.last_error)
            else:
                row.status = OutboxStatus.QUEUED
                delay = BACKOFF[min(row.attempts - 1, len(BACKOFF) - 1)]
                row.next_attempt_at = self.clock() + timedelta(seconds=delay)
                log.warning("outbox: %s not sent (%s); next try in %ds",
                            row.message_id, row.last_error, delay)

    def _postpone(self, reason: str) -> None:
        with self.store.session() as session:
            waiting = session.execute(update(OutboxMail).where(*self._due())
                                      .values(last_error=reason[:500])).rowcount
        log.warning("outbox: SMTP unavailable (%s); %d mails wait", reason, waiting)

    def _connect(self) -> smtplib.SMTP:
        host, port = self.settings.smtp.host, self.settings.smtp.port
        if not host:
            raise MailboxUnavailable("no SMTP server configured ([smtp] host)")
        security = self.settings.smtp.security
        # A private authority is trusted for this connection only, never process-wide.
        context = trusting("smtp", self.settings.smtp.ca_file) or ssl.create_default_context()
        try:
            if security == "ssl":
                connection = smtplib.SMTP_SSL(host, port, timeout=60, context=context)
            else:
                if security == "none" and not is_loopback(host):
                    raise ConfigError(f"smtp.security = none is allowed only for loopback "
                                      f"(localhost, 127.0.0.1, ::1), not {host}")
                connection = smtplib.SMTP(host, port, timeout=60)
                if security == "starttls":
                    # Never fall back to plain text when STARTTLS fails: that would send the
                    # password and the clients' mail in the clear.
                    connection.starttls(context=context)
            if self.settings.smtp.username:
                connection.login(self.settings.smtp.username, self.settings.secret("smtp"))
            return connection
        except ssl.SSLCertVerificationError as exc:
            raise MailboxUnavailable(f"smtp {host}:{port}: "
                                     f"{certificate_refused('smtp', self.settings.smtp.ca_file, exc)}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            hint = implicit_tls_hint("smtp", security, host, port)
            raise MailboxUnavailable(f"smtp {host}:{port}: {exc}".splitlines()[0] + hint) from exc


def _close(connection):
    if connection is not None:
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            pass
    return None
