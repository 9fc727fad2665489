"""Reading mail in a worker process gives the same tickets as reading it in-process."""

from __future__ import annotations

import os
import signal

from sqlmodel import select

from assistant.store.models import Attachment, Client, Ticket
from assistant.walk.workers import Understanding
from assistant.transport.files import RawMail
from support import make_app, mail


def corpus():
    raws = []
    for number in range(60):
        body = ("Отгрузка остановилась, склад стоит!" if number % 10 == 0
                else "Подскажите, как выгрузить отчёт? Не срочно." if number % 2 else
                "Hi, the export drops the last column, could you take a look?")
        raws.append(mail(msgid=f"p{number}@x.example", sender=f"c{number}@x.example",
                         subject=f"Заявка {number}", body=body))
    raws.append(b"\x00\x01 not mail")
    return raws


def tickets_of(app):
    with app.store.session() as session:
        return [(t.subject, t.priority, t.critical, t.category, t.language, t.resolution_due)
                for t in session.exec(select(Ticket).order_by(Ticket.id))]


def test_a_worker_process_and_the_daemons_own_process_make_the_same_tickets(tmp_path):
    inline = make_app(tmp_path / "inline", performance__workers=0)
    worker = make_app(tmp_path / "worker", performance__workers=1)
    raws = corpus()
    tally_inline = inline.import_mail(RawMail(str(i), r) for i, r in enumerate(raws)).as_dict()
    tally_worker = worker.import_mail(RawMail(str(i), r) for i, r in enumerate(raws)).as_dict()
    assert tally_inline == tally_worker and tally_worker["quarantined"] == 1
    assert tickets_of(inline) == tickets_of(worker)
    assert any(t[2] for t in tickets_of(worker)), "the critical ones were recognised"


def test_attachments_read_in_a_worker_keep_their_name_size_and_hash(tmp_path):
    from email.message import EmailMessage
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.example", "support@example.com", "Лог"
    message["Message-ID"] = "<att@x.example>"
    message.set_content("Журнал во вложении.")
    message.add_attachment(b"line\n" * 5000, maintype="text", subtype="plain", filename="журнал.log")
    raws = [message.as_bytes()] + corpus()[:45]
    app = make_app(tmp_path, performance__workers=1)
    app.import_mail(RawMail(str(i), r) for i, r in enumerate(raws))
    with app.store.session() as session:
        stored = session.exec(select(Attachment)).one()
    assert (stored.filename, stored.size) == ("журнал.log", 25000) and len(stored.sha256) == 64


def test_a_worker_that_dies_loses_no_mail(tmp_path):
    app = make_app(tmp_path, performance__workers=1)
    understanding = Understanding(app.settings)
    raws = corpus()
    first = understanding.understand(raws, app.clock())
    next(first)                                   # the worker is up and busy
    for pid in list(understanding._pool._processes):
        os.kill(pid, signal.SIGKILL)
    rest = list(first)
    assert len(rest) + 1 == len(raws)
    assert [u.digest for u in rest] == [Understanding(app.settings, workers=0)
                                        .understand([r], app.clock()).__next__().digest
                                        for r in raws[1:]]
    understanding.close()


RETURNING = [   # (the second mail's subject, body): what a returning client writes
    ("12345", "67890"),                                      # no letters: their language decides
    ("Отчёт", "Нужно до конца дня, иначе не сдадим отчёт."),   # a deadline: their time zone decides
    ("Invoice", "Please fix the invoice template by Friday."),
    ("Export", "Hi, the export to CSV drops the last column."),
    ("Отгрузка", "Отгрузка остановилась, склад стоит!"),
    ("Urgent", "Need it by noon tomorrow, the report fails."),
]


def returning_clients() -> list[bytes]:
    """Clients who wrote first in English from UTC+5, then write again."""
    from email.utils import format_datetime
    from datetime import timedelta, timezone
    from support import MONDAY_10
    plus5 = format_datetime(MONDAY_10.astimezone(timezone(timedelta(hours=5)))).encode()
    raws = []
    for number, (subject, body) in enumerate(RETURNING):
        sender = f"r{number}@y.example"
        first = mail(msgid=f"first{number}@y.example", sender=sender, subject="Hello",
                     body="Hi, how do I change the logo on the invoice?")
        raws.append(first.replace(format_datetime(MONDAY_10).encode(), plus5))
        raws.append(mail(msgid=f"again{number}@y.example", sender=sender, subject=subject, body=body))
    return raws


def test_returning_clients_get_the_tickets_a_full_reassessment_would_give(tmp_path, monkeypatch):
    # The worker assesses with the settings' language and time zone; a client whose own
    # differ must get what triage with theirs says, whether or not it is assessed again.
    quick = make_app(tmp_path / "quick", performance__workers=0)
    quick.import_mail(RawMail(str(i), r) for i, r in enumerate(returning_clients()))
    from assistant.tickets.assessment import Assessor
    monkeypatch.setattr(Assessor, "_holds", lambda *args: False)
    full = make_app(tmp_path / "full", performance__workers=0)
    full.import_mail(RawMail(str(i), r) for i, r in enumerate(returning_clients()))
    assert tickets_of(quick) == tickets_of(full)
    languages = [t[4] for t in tickets_of(full)]
    assert languages[2] == "en", "a mail with no letters is in the client's language"
    with full.store.session() as session:
        zones = {c.timezone for c in session.exec(select(Client))}
    assert zones == {"Etc/GMT-5"}, "the clients' own time zone was taken from their Date"
