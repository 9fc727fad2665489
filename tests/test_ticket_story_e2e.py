"""The ticket tells the true story, on real Dovecot and SMTP (issue 15, items 4, 7-10)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pytest

from assistant.cli import commands as cli
from assistant.transport import files as sources
from assistant.store.models import Draft, Message, OutboxMail, Quarantine
from mailworld import make_world, rules_with_oncall, vouched
from support import MONDAY_10, Clock


@pytest.fixture
def world(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    return make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink)


def opened(world, body="Добрый день! Не проводится накладная, работа идёт, но медленно."):
    world.write(world.client, "Не проводится накладная", body)
    world.cycle()
    return world.inbox(world.client)[-1]


def approve_by_mail(world, number):
    world.cycle()
    request = world.inbox(world.consultant)[-1]
    world.reply(world.consultant, request, "Согласовано")
    world.cycle()


def alerts_to(world, user):
    return [m for m in world.inbox(user) if "Auto-Submitted" in m and m["Auto-Submitted"] == "auto-generated"]


# -- 4: a reopened ticket ---------------------------------------------------------------------
@pytest.mark.parametrize("closing", ["resolved", "need_info"])
def test_a_client_reopening_a_ticket_gets_no_instant_no_news_report_and_nobody_a_silence_alert(
        world, closing):
    ack = opened(world)
    extra = ({"resolution": "Перепровели накладную.", "check": "Откройте её ещё раз."}
             if closing == "resolved" else {"missing": ["номер накладной"]})
    made = world.app.drafts.new(1, closing, **extra)
    approve_by_mail(world, made["id"])
    world.clock.advance(days=6)                        # long past every cadence
    world.reply(world.client, ack, "Всё ещё не работает, та же ошибка.")
    world.cycle()
    assert world.ticket(1).status == "open"
    before_client, before_maria = len(world.inbox(world.client)), len(world.inbox(world.consultant))
    for _ in range(3):
        world.clock.advance(minutes=1)
        world.schedule()
    assert len(world.inbox(world.client)) == before_client
    assert len(world.inbox(world.consultant)) == before_maria


# -- 7: consultants' mail ----------------------------------------------------------------------
def test_a_consultants_note_by_mail_is_one_entry_without_greeting_and_reaches_the_client_after_review(world):
    opened(world)
    domain = world.consultant.rpartition("@")[2]
    world.write(world.consultant, "[#1] что сделано",
                "Анна, добрый день!\n\nНашли причину: не проведён документ поступления.\n\n"
                "Провели его и пересчитали остатки.\n\nМария",
                Authentication_Results=vouched(domain))
    world.cycle()
    [entry] = world.work_log(1)
    assert entry.text == "Нашли причину: не проведён документ поступления. Провели его и пересчитали остатки."
    assert entry.client_visible and entry.source == "mail"
    world.clock.advance(days=2)
    world.schedule()
    report = world.rows(Draft, Draft.situation == "progress")[0]
    assert report.status == "pending"                      # put to Maria, not sent on its own
    assert "Нашли причину" in world.inbox(world.consultant)[-1].get_content()
    assert not any("Нашли причину" in t for t in world.texts(world.client))


def test_a_reply_to_an_on_call_alert_takes_the_ticket_and_stays_internal(
        tmp_path, dovecot, new_user, settings_for, smtp_sink):
    oleg = new_user(prefix="oleg")
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink,
                       rules=rules_with_oncall(tmp_path, oleg),
                       consultants=lambda maria: (type(maria)("Олег Смирнов", oleg, ("ru",)), maria))
    opened(world, "Срочно! Склад стоит, отгрузка полностью остановилась.")
    [alert] = world.inbox(oleg)
    world.reply(oleg, alert, "Беру, разбираюсь.")
    world.cycle()
    assert world.ticket(1).assignee == oleg
    [entry] = world.work_log(1)
    assert entry.text == "Беру, разбираюсь." and not entry.client_visible
    assert any(c.field == "assignee" and c.new == oleg for c in world.history(1))


def test_a_consultants_letter_to_the_client_with_support_in_cc_counts_as_contact(world):
    ack = opened(world)
    world.clock.advance(hours=1)
    asked = world.write(world.client, "Re: " + ack["Subject"], "Подскажите, есть ли новости?",
                        reply_to_mail=ack)
    world.cycle()
    client_mail = next(m for m in world.inbox(world.support) if asked in m["Message-ID"])
    world.clock.advance(minutes=10)
    world.write(world.consultant, "Re: " + ack["Subject"], "Анна, нашли причину, исправляем, "
                "к вечеру всё заработает.", to=world.client, cc=world.support,
                reply_to_mail=client_mail)
    world.cycle()
    ticket = world.ticket(1)
    assert ticket.client_last_heard_at == world.clock() and ticket.first_response_at == world.clock()
    assert ticket.status == "open"
    kept = world.rows(Message, Message.ticket_id == 1, Message.from_address == world.consultant)
    assert kept and kept[0].fate == "system"      # beside the ticket, never quoted as the client's


def test_a_forged_consultants_mail_changes_nothing_the_client_sees(world):
    opened(world)
    domain = world.consultant.rpartition("@")[2]
    # An outsider writes as Maria; the Authentication-Results header is theirs, not our server's.
    world.write(world.consultant, "[#1] готово", "Всё починили, закрывайте. Компенсация 100 000 ₽.",
                Authentication_Results=vouched(domain, by="mx.evil.example"))
    world.write(world.consultant, "[#1] готово", "Всё починили, закрывайте.",
                Authentication_Results=vouched(domain, "fail"))
    world.cycle()
    assert world.work_log(1) == []
    world.clock.advance(days=2)
    world.schedule()
    assert not any("починили" in t for t in world.texts(world.client))


def test_a_note_by_someone_who_is_not_a_consultant_is_refused(world, tmp_path, capsys):
    opened(world)
    config = tmp_path / "note.toml"
    config.write_text(f'[database]\nurl = "{world.app.settings["database.url"]}"\n'
                      f'[[consultants]]\nname = "Мария Иванова"\nemail = "{world.consultant}"\n',
                      encoding="utf-8")
    assert cli.main(["--config", str(config), "note", "1", "Починили", "--by", "nobody@example.com"]) == 1
    assert "not a consultant" in capsys.readouterr().err
    assert world.work_log(1) == []


# -- 8: thanks -------------------------------------------------------------------------------
def test_thanks_and_it_works_do_not_raise_the_priority_but_suggest_resolving(world):
    ack = opened(world, "Добрый день! Подскажите, как выгрузить отчёт по остаткам.")
    before = world.ticket(1).priority
    world.clock.advance(days=3)                        # long past the first answer's deadline
    world.reply(world.client, ack, "Спасибо, всё заработало!")
    world.cycle()
    ticket = world.ticket(1)
    assert ticket.priority == before
    assert any(c.field == "suggestion" and c.new == "resolve" for c in world.history(1))
    # The same wait with a real question is chasing: the rule still works.
    world.reply(world.client, ack, "Есть новости? Ответа так и нет.")
    world.cycle()
    assert world.ticket(1).priority != before


# -- 9: import keeps the dates and sends nothing ------------------------------------------------
def eml(folder, name, when, body, msgid, subject="Накладная", reply_to=None):
    message = EmailMessage()
    message["From"] = "Анна Соколова <anna-history@romashka.example>"
    message["To"] = "support@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(when)
    message["Message-ID"] = f"<{msgid}>"
    if reply_to:
        message["In-Reply-To"] = f"<{reply_to}>"
    message.set_content(body)
    (folder / name).write_bytes(message.as_bytes())


def test_imported_history_keeps_its_dates_and_sends_nothing(tmp_path, dovecot, new_user, settings_for,
                                                            smtp_sink):
    clock = Clock(datetime(2026, 12, 1, 7, 0, tzinfo=timezone.utc))
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink, clock=clock)
    history = tmp_path / "history"
    history.mkdir()
    eml(history, "1.eml", MONDAY_10, "Накладная не проводится.", "h1@romashka.example")
    eml(history, "2.eml", MONDAY_10.replace(minute=45), "Скриншот прилагаю.", "h2@romashka.example",
        subject="Re: Накладная", reply_to="h1@romashka.example")
    # What `assistant import` does: no acknowledgements, the mails' own dates.
    world.app.walk.read_history(sources.arrived)
    tally = world.app.import_mail(sources.read([history]))
    assert tally.as_dict()["new_tickets"] == 1 and tally.as_dict()["replies"] == 1
    ticket = world.ticket(1)
    assert ticket.created_at == MONDAY_10 and ticket.priority == "normal"
    dates = [m.received_at for m in world.rows(Message, Message.ticket_id == 1)]
    assert dates == [MONDAY_10, MONDAY_10.replace(minute=45)]
    for _ in range(3):
        world.cycle()
        world.schedule()
        clock.advance(days=1)
    assert world.outbox(OutboxMail.ticket_id == 1) == []
    assert not smtp_sink.received or all("anna-history" not in ",".join(r) for _f, r, _raw in smtp_sink.received)


# -- 10: bounces ------------------------------------------------------------------------------
def dsn(world, bounced_id, recipient):
    """A delivery status report as Postfix writes it (RFC 3464), returning our letter's headers."""
    return f"""From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
To: {world.support}
Subject: Undelivered Mail Returned to Sender
Date: {format_datetime(world.clock())}
Message-ID: <dsn-1@mx.example.com>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain; charset=us-ascii

<{recipient}>: host mx.client.example said: 550 5.1.1 User unknown

--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com

Final-Recipient: rfc822; {recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--b1
Content-Type: text/rfc822-headers

From: Support <{world.support}>
To: {recipient}
Subject: [#1] Reply
Message-ID: <{bounced_id}>

--b1--
""".replace("\n", "\r\n").encode()


def test_a_bounce_of_our_letter_marks_it_failed_and_tells_its_consultant(world):
    import smtplib
    ack = opened(world)
    bounced_id = ack["Message-ID"].strip("<>")
    with smtplib.SMTP(world.sink.host, world.sink.port) as smtp:
        smtp.sendmail("", [world.support], dsn(world, bounced_id, world.client))
    world.cycle()
    [row] = world.outbox(OutboxMail.message_id == bounced_id)
    assert row.status == "failed" and "550 5.1.1" in row.last_error
    assert world.rows(Draft, Draft.situation == "acknowledgement")[0].status == "failed"
    told = world.inbox(world.consultant)[-1]
    assert "не дошло" in told["Subject"] and "550 5.1.1" in told.get_content()
    assert world.ticket(1).client_last_heard_at is None
    assert world.rows(Quarantine) == []
