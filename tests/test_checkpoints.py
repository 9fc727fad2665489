"""A client hears from us on a rhythm, at the times we promised, and consultants are told before we slip."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlmodel import select

from assistant.app import App
from assistant.daemon.runner import Daemon
from assistant.schedule.rhythm import open_tickets
from assistant.store.models import AlertSent, OutboxMail, ScheduleRun, Ticket
from scheduled import (
    deliver, drafts_of, make, open_ticket, promises_of, reports, rules_with, run, ticket,
)
from support import CONSULTANT, MONDAY_10, Clock, mail

MSK = timedelta(hours=3)


def local(moment: datetime) -> datetime:
    return (moment + MSK).replace(tzinfo=None)


@pytest.fixture
def clock():
    return Clock(MONDAY_10)


def test_a_high_ticket_hears_from_us_at_the_promised_time_then_once_a_working_day(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="high")
    # The acknowledgement promised the first answer within the hour: 11:00 Moscow time.
    assert [local(p.due) for p in promises_of(app, number)] == [datetime(2026, 11, 23, 11, 0)]
    sent = reports(run(app, clock, hours=50, step_minutes=5))
    times = [local(r.sent_at) for r in sent]
    # Written a quarter of an hour ahead so it arrives before 11:00; then each letter
    # promises the next one a working day (nine office hours) on, and keeps it.
    assert times == [datetime(2026, 11, 23, 10, 45), datetime(2026, 11, 24, 10, 30),
                     datetime(2026, 11, 25, 10, 15)]
    kept = [p.state for p in promises_of(app, number)]
    assert kept[:3] == ["kept", "kept", "kept"] and kept[-1] == "open"


def test_critical_reports_go_every_two_hours_through_the_night(tmp_path, clock):
    app = make(tmp_path, clock, rules=rules_with(tmp_path, send_critical='"auto"'))
    number = open_ticket(app, mail(subject="Остановилась отгрузка",
                                   body="Срочно! Склад стоит, вся работа остановилась."))
    assert ticket(app, number).critical
    clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)    # Friday 18:00 Moscow
    app.checkpoints.run_due()     # the week's silence is caught up with one report
    deliver(app)
    sent = reports(run(app, clock, hours=8, step_minutes=5))
    gaps = {b.sent_at - a.sent_at for a, b in zip(sent, sent[1:])}
    assert len(sent) >= 4 and max(gaps) <= timedelta(hours=2)
    assert all(local(r.sent_at).weekday() in (4, 5) for r in sent)   # Friday night, Saturday


def test_a_working_day_cadence_skips_weekends_and_the_new_year_holidays(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="high")
    reported = datetime(2026, 12, 30, 14, 0, tzinfo=timezone.utc)    # Wednesday 17:00 Moscow
    with app.store.session() as session:
        light = next(open_tickets(session))[0]
    # 31 December and 1–8 January are days off: one office hour on Wednesday, eight on 11 January.
    assert local(app.checkpoints.progress.next_checkpoint(light, reported)) == datetime(2027, 1, 11, 17, 0)
    # And after that letter nobody hears from us until then: holidays are not working time.
    with app.store.session() as session:
        session.get(Ticket, number).client_last_heard_at = reported
    clock.now = reported
    sent = reports(run(app, clock, hours=24 * 12, step_minutes=30))
    assert local(sent[0].sent_at).date() == date(2027, 1, 11)


def test_a_promised_checkpoint_brings_the_report_forward(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="normal")
    three_pm = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)      # 15:00 Moscow
    made = app.drafts.new(number, "progress", done=["нашли, где расходится сумма"], next_steps=[],
                          next_contact_at=three_pm)
    app.drafts.approve(made["id"], CONSULTANT.email)
    deliver(app)
    promise = promises_of(app, number)[-1]
    assert promise.due == three_pm and promise.promised_by == CONSULTANT.email
    clock.now = three_pm - timedelta(minutes=16)
    assert app.checkpoints.run_due().reports == []
    clock.now = three_pm - timedelta(minutes=15)
    assert app.checkpoints.run_due().reports == [number]
    deliver(app)
    assert promises_of(app, number)[-2].state == "kept"


def test_a_report_without_news_says_so_and_still_names_the_next_checkpoint(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="high")
    sent = reports(run(app, clock, hours=1))
    text = drafts_of(app, number)[0].text.lower()
    assert len(sent) == 1 and ("новост" in text or "нового" in text)
    # The next checkpoint is a working day on: tomorrow, the time said in words.
    assert "завтра" in text


def test_a_report_tells_what_was_done_and_what_comes_next_but_not_internal_notes(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="high")
    log = app.worklog
    log.add(number, "Нашли, в каком отчёте расходится сумма.\nДальше: пересчитаем октябрь", CONSULTANT.email)
    log.add(number, "Похоже, виноват их бухгалтер", CONSULTANT.email, internal=True)
    run(app, clock, hours=1)
    text = drafts_of(app, number)[0].text
    assert "Нашли, в каком отчёте расходится сумма." in text and "пересчитаем октябрь" in text
    assert "бухгалтер" not in text
    # The next report starts from scratch: what was reported is not reported again.
    with app.store.session() as session:
        assert app.checkpoints.progress.news(session, number) == ([], [])


def test_after_downtime_what_fell_due_goes_out_once(tmp_path, clock):
    app = make(tmp_path, clock)
    first = open_ticket(app, mail(), priority="high")
    second = open_ticket(app, mail(msgid="q2@romashka.example", subject="Второй вопрос"), priority="normal")
    app.checkpoints.run_due()
    deliver(app)
    clock.advance(days=3)                 # the daemon was down over several checkpoints and summaries
    restarted = make(tmp_path, clock)     # a new process on the same database
    done = restarted.checkpoints.run_due()
    again = restarted.checkpoints.run_due()
    # Six summary times passed: one summary goes to each group of readers, not six.
    readers = len(restarted.checkpoints.summary.readers())
    assert sorted(done.reports) == [first, second] and done.summaries == readers
    assert again.reports == [] and again.summaries == 0
    with restarted.store.session() as session:
        assert session.get(ScheduleRun, "manager_summary").last_run_at == clock.now


def test_the_daemon_runs_the_schedule_and_a_second_run_repeats_nothing(tmp_path, clock):
    app = make(tmp_path, clock)
    open_ticket(app, mail(), priority="high")
    Daemon(app).run(once=True)      # first run at 10:00 Moscow: the 09:30 summary is not owed
    clock.advance(hours=7)          # 17:00: the 16:30 summary and a progress report are due
    Daemon(App(app.settings, clock=clock)).run(once=True)
    with app.store.session() as session:
        kinds = [r.kind for r in session.exec(select(OutboxMail)).all()]
    Daemon(App(app.settings, clock=clock)).run(once=True)
    with app.store.session() as session:
        assert [r.kind for r in session.exec(select(OutboxMail)).all()] == kinds
    assert "progress" in kinds and "summary" in kinds


def test_a_promise_about_to_be_missed_alerts_its_consultant_and_a_missed_one_is_recorded(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(), priority="normal")
    three_pm = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
    made = app.drafts.new(number, "need_info", missing=["номер накладной"], next_contact_at=three_pm)
    app.drafts.approve(made["id"], CONSULTANT.email)
    deliver(app)
    assert ticket(app, number).status == "waiting"     # no scheduled report: we wait for the client
    clock.now = three_pm - timedelta(minutes=11)
    assert app.checkpoints.run_due().alerts == 0
    clock.now = three_pm - timedelta(minutes=10)
    assert app.checkpoints.run_due().alerts == 1
    alert = [r for r in deliver(app) if r.kind == "alert"][0]
    assert alert.recipients == CONSULTANT.email and "15:00" in alert.raw.decode()
    clock.now = three_pm + timedelta(minutes=1)
    assert app.checkpoints.run_due().missed == 1
    assert promises_of(app, number)[-1].state == "missed"


def test_an_unowned_critical_ticket_and_a_near_deadline_alert_once(tmp_path, clock):
    app = make(tmp_path, clock)
    number = open_ticket(app, mail(subject="Остановилась отгрузка",
                                   body="Срочно! Склад стоит, вся работа остановилась."))
    app.change_ticket(number, {"assignee": ""}, who="test", why="test")
    app.checkpoints.run_due()
    app.checkpoints.run_due()
    with app.store.session() as session:
        given = session.exec(select(AlertSent.kind, AlertSent.sent_to)).all()
    unowned = [to for kind, to in given if kind == "unowned"]
    assert len(unowned) == 1 and CONSULTANT.email in unowned[0] and "oncall@example.com" in unowned[0]
    assert [kind for kind, _ in given].count("deadline") == 1     # the first answer is due in 15 minutes
