"""Reading mail in a worker process gives the same tickets as reading it in-process."""

from __future__ import annotations

import os
import signal

from sqlmodel import select

from assistant.models import Attachment, Ticket
from assistant.prework import Understanding
from assistant.sources import RawMail
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
