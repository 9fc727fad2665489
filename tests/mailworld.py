"""A support desk on real servers for end-to-end tests: Dovecot mailboxes, an SMTP server, a fixed clock.

`World` holds the app and the daemon, the support mailbox, a consultant's and a client's
mailboxes, and helpers that do what people do: write to support, reply to a mail they
received, read their own INBOX.
"""

from __future__ import annotations

import email
import smtplib
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime

from sqlmodel import select

from assistant.app import App
from assistant.daemon.runner import Daemon
from assistant.store.models import Draft, OutboxMail, Ticket, TicketChange, WorkLogEntry
from support import CONSULTANT, Clock

# What our own receiving server writes for mail that passed, or failed, DMARC.
OUR_MX = "mx.example.com"


def vouched(domain: str, result: str = "pass", by: str = OUR_MX) -> str:
    return f"{by}; spf={result} smtp.mailfrom={domain}; dmarc={result} header.from={domain}"


@dataclass
class World:
    app: App
    daemon: Daemon
    clock: Clock
    dovecot: object
    sink: object
    support: str
    consultant: str
    client: str
    sent_ids: list[str] = field(default_factory=list)

    # -- people writing --------------------------------------------------------------------
    def write(self, sender: str, subject: str, body: str, *, to: str | None = None,
              cc: str | None = None, reply_to_mail=None, **headers) -> str:
        """Send a mail through SMTP to the support mailbox; returns its Message-ID."""
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to or self.support
        if cc:
            message["Cc"] = cc
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock())
        number = len(self.sent_ids) + 1
        message_id = f"m{number}.{self.clock().timestamp():.0f}@{sender.rpartition('@')[2].strip('>')}"
        message["Message-ID"] = f"<{message_id}>"
        if reply_to_mail is not None:
            message["In-Reply-To"] = reply_to_mail["Message-ID"]
            message["References"] = reply_to_mail["Message-ID"]
        for name, value in headers.items():         # a list: the header several times, top first
            for one in value if isinstance(value, list) else [value]:
                message[name.replace("_", "-")] = one
        message.set_content(body)
        recipients = list(dict.fromkeys(a for a in (to or self.support, cc) if a))
        with smtplib.SMTP(self.sink.host, self.sink.port) as smtp:
            # send_message writes CRLF line ends; sendmail(bytes) would pass bare LF through.
            smtp.send_message(message, sender.rpartition("<")[2].strip(">"), recipients)
        self.sent_ids.append(message_id)
        return message_id

    def reply(self, sender: str, received, body: str, **headers) -> str:
        """Answer a mail `sender` received, quoting its first lines as mail programs do."""
        quoted = "\n".join("> " + line for line in received.get_body(("plain",)).get_content()
                           .splitlines()[:4])
        return self.write(sender, "Re: " + received["Subject"], f"{body}\n\n{quoted}\n",
                          reply_to_mail=received, **headers)

    # -- the daemon --------------------------------------------------------------------------
    def cycle(self) -> None:
        """One daemon round: read mail, acknowledge, alert, send."""
        self.daemon.step()

    def schedule(self) -> None:
        """What is due on the schedule at the clock's time, then sending."""
        self.app.checkpoints.run_due()
        self.daemon.send()

    # -- what people see ---------------------------------------------------------------------
    def inbox(self, user: str) -> list[EmailMessage]:
        if not self.dovecot.has_user(user):
            return []
        return [email.message_from_bytes(raw, policy=default_policy)
                for raw in self.dovecot.messages(user)]

    def texts(self, user: str) -> list[str]:
        return [m.get_body(("plain",)).get_content().replace("\r\n", "\n") for m in self.inbox(user)]

    def rows(self, model, *where) -> list:
        with self.app.store.session() as session:
            return list(session.exec(select(model).where(*where).order_by(model.id)).all())

    def ticket(self, number: int) -> Ticket:
        with self.app.store.session() as session:
            return session.get(Ticket, number)

    def draft(self, number: int) -> Draft:
        with self.app.store.session() as session:
            return session.get(Draft, number)

    def outbox(self, *where) -> list[OutboxMail]:
        return self.rows(OutboxMail, *where)

    def history(self, number: int) -> list[TicketChange]:
        return self.rows(TicketChange, TicketChange.ticket_id == number)

    def work_log(self, number: int) -> list[WorkLogEntry]:
        return self.rows(WorkLogEntry, WorkLogEntry.ticket_id == number)


def make_world(tmp_path, dovecot, new_user, settings_for, sink, *, consultants=None,
               clock: Clock | None = None, rules=None, managers=(), **overrides) -> World:
    """A desk whose support, consultant and client mailboxes live on the test's Dovecot."""
    clock = clock or Clock()
    support = new_user(prefix="support")
    values = dict(database__url=f"sqlite:///{tmp_path / 'desk.db'}",
                  storage__data_dir=str(tmp_path / "data"), support__address=support,
                  smtp__host=sink.host, smtp__port=sink.port, smtp__security="none",
                  imap__idle=False, imap__authserv_ids=[OUR_MX])
    if rules is not None:
        values["paths__rules"] = str(rules)
    values.update(overrides)
    settings = settings_for(dovecot, support, **values)
    consultant = replace(CONSULTANT, email=new_user(prefix="maria"))
    client = new_user(prefix="anna")
    people = tuple(consultants(consultant) if consultants else (consultant,))
    settings = replace(settings, consultants=people, managers=tuple(managers), base_dir=tmp_path)
    app = App(settings, clock=clock)
    return World(app, Daemon(app), clock, dovecot, sink, support, consultant.email, client)


def rules_with_oncall(folder, *addresses: str, sla: dict | None = None, checkpoints: dict | None = None):
    """A copy of rules/ whose on-call list is `addresses` (mailboxes of this test alone);
    `sla` and `checkpoints` replace whole lines: {'cadence = "2h"': 'cadence = "10m"'}."""
    import shutil
    from pathlib import Path
    rules = Path(folder) / "rules"
    if not rules.exists():
        shutil.copytree(Path(__file__).resolve().parent.parent / "rules", rules)
    listed = ", ".join(f'"{a}"' for a in addresses)
    (rules / "escalation.toml").write_text(f"oncall = [{listed}]\n", encoding="utf-8")
    for name, changes in (("sla.toml", sla), ("checkpoints.toml", checkpoints)):
        path = rules / name
        text = path.read_text(encoding="utf-8")
        for old, new in (changes or {}).items():
            assert old in text, f"{name}: {old!r} not found"
            text = text.replace(old, new, 1)
        path.write_text(text, encoding="utf-8")
    return rules
