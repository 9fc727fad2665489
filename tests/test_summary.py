"""Managers see every open ticket at a glance: status, age, silence, work done, next checkpoint, missed promises."""

from __future__ import annotations

import email
import json
from dataclasses import replace
from datetime import timedelta
from email.policy import default as default_policy

from sqlalchemy import text

from assistant.cli import commands as cli
from assistant.app import App
from assistant.daemon.runner import Daemon
from scheduled import MANAGER, deliver, make, open_ticket
from support import CONSULTANT, SUPPORT, Clock, mail


def busy_desk(tmp_path, clock):
    """An overdue client ticket, a colleague's ticket at risk, a quiet one on track, one closed."""
    app = make(tmp_path, clock)
    late = open_ticket(app, mail(subject="Не проводится накладная"), priority="high")
    colleague = open_ticket(app, mail(sender="Пётр <petr@example.com>", msgid="c1@example.com",
                                      subject="Не печатается счёт"), priority="normal")
    calm = open_ticket(app, mail(sender="john@acme.example", msgid="e1@acme.example",
                                 subject="Export question", body="Hello! How do I export a report?"),
                       priority="low")
    closed = open_ticket(app, mail(msgid="x1@romashka.example", subject="Старое"), priority="low")
    app.change_ticket(closed, {"status": "closed"}, who="test", why="test")
    log = app.worklog
    log.add(late, "Нашли непроведённый документ", CONSULTANT.email)
    log.add(late, "Клиент сам удалил проводку", CONSULTANT.email, internal=True)
    return app, late, colleague, calm, closed


def rows_of(app, now):
    with app.store.session() as session:
        return {r.ticket.id: r for r in app.checkpoints.summary.collect(session, now, None)}


def test_the_summary_shows_every_open_ticket_with_its_status_and_nothing_closed(tmp_path):
    clock = Clock()
    app, late, colleague, calm, closed = busy_desk(tmp_path, clock)
    clock.advance(minutes=50)        # the first answer to the high ticket is due at 11:00 Moscow
    rows = rows_of(app, clock.now)
    assert set(rows) == {late, colleague, calm}
    assert rows[late].status == "at_risk" and rows[calm].status == "on_track"
    clock.advance(minutes=11)
    rows = rows_of(app, clock.now)
    assert rows[late].status == "overdue"
    assert rows[colleague].ticket.internal and not rows[late].ticket.internal
    assert rows[late].age == timedelta(hours=1, minutes=1)
    assert rows[late].silent_for == timedelta(hours=1, minutes=1)   # since the acknowledgement
    assert rows[late].checkpoint == rows[late].ticket.first_response_due   # what the acknowledgement promised


def test_our_managers_read_internal_notes_and_missed_promises_with_who_promised(tmp_path):
    clock = Clock()
    app, late, *_ = busy_desk(tmp_path, clock)
    clock.advance(hours=2)             # the acknowledgement promised 11:00; nothing went out
    app.checkpoints.run_due()          # (the report is written too late to keep it)
    rows = list(rows_of(app, clock.now).values())
    ours = app.checkpoints.summary.readers()[0]
    subject, text_part, html = app.checkpoints.summary.render(rows, ours, clock.now, clock.now + timedelta(hours=6))
    assert "Сводка по обращениям: открыто 3, просрочено" in subject
    assert "Нашли непроведённый документ" in text_part and "Клиент сам удалил проводку (для своих)" in text_part
    # The acknowledgement went out on its own before Maria had seen the ticket: the team's promise.
    assert "не написали к обещанному сроку: сегодня 11:00 · кто обещал: ассистент" in text_part
    assert "коллега: Пётр" in text_part and "клиент: Анна Соколова" in text_part
    assert "<table" in html and "#a11a1a" in html and "под угрозой" in html


def test_a_clients_manager_sees_only_their_company_and_nothing_internal(tmp_path):
    clock = Clock()
    app, late, colleague, calm, _ = busy_desk(tmp_path, clock)
    director = next(r for r in app.checkpoints.summary.readers() if r.domain == "romashka.example")
    rows = list(rows_of(app, clock.now).values())
    _subject, text_part, html = app.checkpoints.summary.render(rows, director, clock.now, clock.now)
    assert f"[#{late}]" in text_part and f"[#{colleague}]" not in text_part and f"[#{calm}]" not in html
    assert "Нашли непроведённый документ" in text_part and "удалил" not in text_part + html


def test_the_summary_query_reads_open_tickets_through_the_status_and_deadline_index(tmp_path):
    app, *_ = busy_desk(tmp_path, Clock())
    with app.store.engine.connect() as conn:
        plan = conn.execute(text(
            "EXPLAIN QUERY PLAN SELECT ticket.id FROM ticket WHERE ticket.status IN "
            "('new', 'open', 'waiting', 'held') ORDER BY ticket.resolution_due, ticket.id")).all()
    assert any("ix_ticket_status_due" in row[-1] for row in plan), plan


def test_assistant_report_prints_json_and_queues_mail_with_send(tmp_path, capsys):
    clock = Clock()
    app, late, *_ = busy_desk(tmp_path, clock)
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "assistant.db"}"\n'
                      f'[support]\naddress = "{SUPPORT}"\n[[managers]]\nname = "Олег"\n'
                      f'email = "{MANAGER.email}"\n', encoding="utf-8")
    assert cli.main(["--config", str(config), "report", "--json"], clock=clock) == 0
    report = json.loads(capsys.readouterr().out)
    row = next(r for r in report["incidents"] if r["id"] == late)
    assert row["deadline_status"] in ("on_track", "at_risk", "overdue") and row["client"] == "anna@romashka.example"
    assert [d["text"] for d in row["done"]] == ["Нашли непроведённый документ", "Клиент сам удалил проводку"]
    assert cli.main(["--config", str(config), "report", "--send"], clock=clock) == 0
    assert "summary for oleg@example.com: queued" in capsys.readouterr().out


def test_the_summary_and_a_progress_report_arrive_in_real_mailboxes(tmp_path, dovecot, new_user,
                                                                    settings_for, smtp_sink):
    support, client, boss = new_user(prefix="support"), new_user(prefix="anna"), new_user(prefix="boss")
    clock = Clock()
    settings = settings_for(dovecot, support, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), support__address=support,
                            smtp__host=smtp_sink.host, smtp__port=smtp_sink.port,
                            smtp__security="none", imap__host="")
    settings = replace(settings, consultants=(CONSULTANT,), base_dir=tmp_path,
                       managers=(replace(MANAGER, email=boss),))
    app = App(settings, clock=clock)
    daemon = Daemon(app)
    number = open_ticket(app, mail(sender=client, to=support, subject="Не проводится накладная"),
                         priority="high")
    daemon.send()
    clock.advance(days=2)
    app.worklog.add(number, "Нашли непроведённый документ", CONSULTANT.email)
    with app.store.session() as session:
        app.checkpoints.send_summary(session, clock.now, None)
    app.checkpoints.run_due()
    daemon.send()
    summary = [email.message_from_bytes(raw, policy=default_policy) for raw in dovecot.messages(boss)][-1]
    plain = summary.get_body(("plain",)).get_content()
    html = summary.get_body(("html",)).get_content()
    assert f"[#{number}] Не проводится накладная" in plain and "Нашли непроведённый документ" in plain
    assert "<table" in html and summary["Auto-Submitted"] == "auto-generated"
    report = [email.message_from_bytes(raw, policy=default_policy) for raw in dovecot.messages(client)][-1]
    assert report["Subject"].startswith(f"[#{number}]")
    assert "Нашли непроведённый документ" in report.get_content()
    assert deliver(app) == []       # everything already went out through SMTP
