"""Promises and alerts in a person's name, on real Dovecot and SMTP (issue 15, items 11-13; issue 8, item 9)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from assistant.config import Person
from assistant.store.models import Draft, OutboxMail, Promise
from mailworld import make_world, rules_with_oncall

# 02:45 on a Tuesday night in Moscow.
NIGHT = datetime(2026, 11, 23, 23, 45, tzinfo=timezone.utc)
CRITICAL = "Срочно! Склад стоит, отгрузка полностью остановилась."


@pytest.fixture
def night(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    """A desk at 02:45 with Maria on shift and Oleg, who reads English, on call."""
    from support import Clock
    oleg = new_user(prefix="oleg")
    world = make_world(
        tmp_path, dovecot, new_user, settings_for, smtp_sink, clock=Clock(NIGHT),
        rules=rules_with_oncall(tmp_path, oleg),
        consultants=lambda maria: (replace(maria, languages=("ru",)),
                                   Person("Олег Смирнов", oleg, ("en",), name_en="Oleg Smirnov")))
    world.oleg = oleg
    return world


# -- 11: promises in a person's name ------------------------------------------------------------
def test_a_night_acknowledgement_is_the_teams_promise_and_no_report_follows_a_minute_later(night):
    night.write(night.client, "Отгрузка", CRITICAL)
    night.cycle()
    [ack] = night.inbox(night.client)
    text = ack.get_body(("plain",)).get_content()
    assert "Мария" not in text and "Мария" not in str(ack["From"])
    assert "Служба поддержки" in text
    [promise] = night.rows(Promise)
    assert promise.promised_by == "assistant"
    for _ in range(5):
        night.clock.advance(minutes=5)
        night.schedule()
    # Nothing was drafted to report "no news" 25 minutes into the ticket.
    assert night.rows(Draft, Draft.situation == "progress") == []


def test_once_the_consultant_knows_the_ticket_the_automatic_report_carries_her_name(night):
    night.write(night.client, "Отгрузка", "Не формируется отчёт по остаткам, нужно сегодня.")
    night.cycle()
    number = night.app.drafts.new(1, "progress", done=["нашли, где расходится сумма"],
                                  next_steps=[])["id"]
    night.cycle()
    night.reply(night.consultant, night.inbox(night.consultant)[-1], "Согласовано")
    night.cycle()
    assert night.draft(number).status == "sent"
    assert night.rows(Promise)[-1].promised_by == night.consultant
    night.clock.advance(days=3)
    night.schedule()
    report = night.inbox(night.client)[-1]
    assert "Мария Иванова" in report.get_body(("plain",)).get_content()
    assert "Мария Иванова" in report["From"]


# -- 12: the on-call alert ------------------------------------------------------------------------
def test_the_on_call_alert_names_the_owner_in_the_readers_language_with_local_times(night):
    night.write(night.client, "Отгрузка", CRITICAL)
    night.cycle()
    [alert] = night.inbox(night.oleg)
    text = alert.get_content()
    assert alert["Subject"].startswith("[#1] CRITICAL")
    assert "Owner: Mariia Ivanova" in text and "nobody" not in text
    assert "3:00 AM" in text and "(Europe/Moscow)" in text and "UTC" not in text
    assert night.ticket(1).assignee == night.consultant


def test_a_storm_of_critical_mail_makes_one_alert_per_interval(night):
    for n in range(6):
        night.write(f"client{n}-{night.client}", f"Отгрузка {n}", CRITICAL)
    night.cycle()
    [alert] = night.inbox(night.oleg)
    assert "6 urgent tickets" in alert["Subject"]
    assert all(f"[#{n}]" in alert.get_content() for n in range(1, 7))
    night.clock.advance(minutes=2)
    for n in range(6, 9):
        night.write(f"client{n}-{night.client}", f"Отгрузка {n}", CRITICAL)
    night.cycle()
    assert len(night.inbox(night.oleg)) == 1           # held for the rest of the interval
    night.clock.advance(minutes=9)
    night.cycle()
    later = night.inbox(night.oleg)
    assert len(later) == 2 and "3 urgent tickets" in later[-1]["Subject"]


def test_automatic_mail_to_one_mailbox_is_capped_whatever_its_plus_tag_or_case(
        tmp_path, dovecot, new_user, settings_for, smtp_sink):
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink)
    victim = new_user(prefix="victim")
    local, domain = victim.split("@")
    for n in range(12):
        address = f"{local}+{n}@{domain}" if n % 2 else f"{local.upper()}+{n}@{domain}"
        world.write(address, f"Вопрос {n}", "Добрый день! Подскажите, как выгрузить отчёт.")
    world.cycle()
    delivered = [rcpt for _f, rcpts, _raw in smtp_sink.received for rcpt in rcpts
                 if rcpt.lower().startswith(local) and "+" in rcpt]
    assert len(delivered) == world.app.settings["approval.auto_mail_per_sender_per_day"] == 5
    blocked = world.outbox(OutboxMail.status == "blocked")
    assert len(blocked) == 7 and all(f"{local}@{domain}" in r.last_error for r in blocked)


# -- 13: times named right --------------------------------------------------------------------------
def test_the_manager_summary_at_three_names_todays_first_slot(tmp_path, dovecot, new_user, settings_for,
                                                             smtp_sink):
    from support import Clock
    boss = new_user(prefix="boss")
    clock = Clock(datetime(2026, 11, 23, 13, 0, tzinfo=timezone.utc))    # installed Monday 16:00
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink, clock=clock,
                       managers=(Person("Олег Смирнов", boss, ("ru",)),))
    world.schedule()                        # a fresh install sends nothing for 09:30 that passed
    clock.now = datetime(2026, 11, 24, 0, 1, tzinfo=timezone.utc)          # Tuesday 03:01 Moscow
    world.schedule()
    [summary] = world.inbox(boss)
    assert "Следующая сводка — сегодня в 09:30" in summary.get_body(("plain",)).get_content()


def test_a_report_never_promises_a_time_already_past(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    from support import Clock
    rules = rules_with_oncall(tmp_path, new_user(prefix="duty"),
                              sla={'cadence = "2h"': 'cadence = "10m"'},
                              checkpoints={'send.critical = "approve"': 'send.critical = "auto"',
                                           'min_gap = "30m"': 'min_gap = "5m"'})
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink, rules=rules,
                       clock=Clock(datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)))
    world.write(world.client, "Отгрузка", CRITICAL)
    world.cycle()
    promised = []
    for _ in range(45):
        world.clock.advance(minutes=1)
        world.schedule()
        for draft in world.rows(Draft, Draft.situation == "progress"):
            promised.append((draft.created_at, draft.next_contact_at))
    # Reports keep coming every few minutes: none waits for a checkpoint already served.
    assert len({made for made, _due in promised}) >= 5
    assert all(due > made for made, due in promised)
    assert all(due.minute % 15 == 0 for _made, due in promised)
    assert world.inbox(world.client)[-1]["Subject"].startswith("[#1]")
    assert timedelta(0) < max(due - made for made, due in promised) <= timedelta(minutes=30)
