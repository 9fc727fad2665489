"""A consultant logs what was done, by command line or by mail, and says whether the client may see it."""

from __future__ import annotations

from sqlmodel import select

from assistant.cli import commands as cli
from assistant.store.models import Message, WorkLogEntry
from assistant.tickets.worklog import read_note
from scheduled import make, open_ticket
from support import CONSULTANT, SUPPORT, Clock, mail


def entries(app) -> list[WorkLogEntry]:
    with app.store.session() as session:
        return list(session.exec(select(WorkLogEntry).order_by(WorkLogEntry.id)).all())


def test_a_note_splits_into_work_done_and_next_steps_and_internal_stays_internal():
    notes = read_note("Нашли ошибку в проводках.\nПроверили октябрь.\n\nДальше: пересчитаем ноябрь")
    assert [(n.kind, n.text, n.client_visible) for n in notes] == [
        ("done", "Нашли ошибку в проводках. Проверили октябрь.", True),
        ("next", "пересчитаем ноябрь", True)]
    assert [n.client_visible for n in read_note("Внутреннее: клиент путает склады")] == [False]
    assert [n.client_visible for n in read_note("internal: check their backup")] == [False]
    assert read_note("   \n  ") == []


def test_assistant_note_logs_an_entry_from_the_command_line(tmp_path, capsys):
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n[support]\naddress = "{SUPPORT}"\n'
                      f'[[consultants]]\nname = "{CONSULTANT.name}"\nemail = "{CONSULTANT.email}"\n',
                      encoding="utf-8")
    app = make(tmp_path, Clock(), database__url=f"sqlite:///{tmp_path / 'a.db'}")
    number = open_ticket(app, mail())
    assert cli.main(["--config", str(config), "note", str(number), "Пересчитали", "октябрь"], clock=app.clock) == 0
    assert cli.main(["--config", str(config), "note", str(number), "--internal", "Звонил их ИТ"], clock=app.clock) == 0
    assert cli.main(["--config", str(config), "note", "99", "что-то"], clock=app.clock) == 1
    logged = entries(app)
    assert [(e.text, e.client_visible, e.source) for e in logged] == [
        ("Пересчитали октябрь", True, "cli"), ("Звонил их ИТ", False, "cli")]
    assert logged[0].author == CONSULTANT.email      # the ticket's consultant when --by is not given
    assert "the client will see it" in capsys.readouterr().out


# What our own receiving server writes when the consultant's mail passed DMARC.
VOUCHED = {"Authentication_Results": "mx.example.com; spf=pass smtp.mailfrom=example.com; "
                                     "dmarc=pass header.from=example.com"}


def test_a_consultants_mail_with_the_ticket_tag_becomes_a_work_log_entry(tmp_path):
    app = make(tmp_path, Clock(), imap__authserv_ids=["mx.example.com"])
    number = open_ticket(app, mail())
    note = mail(sender=CONSULTANT.email, subject=f"[#{number}] что сделано", msgid="n1@example.com",
                body="Нашли причину: не проведён документ.\nДальше: проведём и пересчитаем", **VOUCHED)
    outcome = app.walk.process(note)
    assert outcome.fate.value == "system" and f"#{number}" in outcome.reason
    assert [(e.kind, e.text, e.client_visible, e.source) for e in entries(app)] == [
        ("done", "Нашли причину: не проведён документ.", True, "mail"),
        ("next", "проведём и пересчитаем", True, "mail")]
    # Kept, but not in the client's thread: it is never quoted back to them as their words.
    with app.store.session() as session:
        kept = session.exec(select(Message).where(Message.message_id == "n1@example.com")).one()
    assert kept.ticket_id is None


def test_an_internal_mail_note_is_not_for_the_client(tmp_path):
    app = make(tmp_path, Clock(), imap__authserv_ids=["mx.example.com"])
    number = open_ticket(app, mail())
    app.walk.process(mail(sender=CONSULTANT.email, subject=f"Re: [#{number}] Вопрос", msgid="n2@example.com",
                          body="Внутреннее: у клиента старая версия, обновление с ними не согласовано.",
                          **VOUCHED))
    assert [e.client_visible for e in entries(app)] == [False]


def test_a_note_by_mail_that_nobody_vouches_for_changes_nothing(tmp_path):
    app = make(tmp_path, Clock(), imap__authserv_ids=["mx.example.com"])
    number = open_ticket(app, mail())
    # The sender's own claim of "dmarc=pass" is not our server's word: it is not read.
    outcome = app.walk.process(mail(sender=CONSULTANT.email, subject=f"[#{number}] сделано",
                                    msgid="n3@example.com", body="Всё починили, можно закрывать.",
                                    Authentication_Results="mx.evil.example; dmarc=pass header.from=example.com"))
    assert entries(app) == [] and "refused" in outcome.reason


def test_an_out_of_office_reply_or_a_strangers_mail_is_not_work(tmp_path):
    app = make(tmp_path, Clock())
    number = open_ticket(app, mail())
    app.walk.process(mail(sender=CONSULTANT.email, subject=f"Автоответ: [#{number}] Вопрос",
                          msgid="ooo@example.com", body="Я в отпуске до понедельника.",
                          Auto_Submitted="auto-replied"))
    app.walk.process(mail(sender="mallory@evil.example", subject=f"[#{number}] сделано",
                          msgid="m@evil.example", body="Всё починили, закрывайте."))
    assert entries(app) == []
