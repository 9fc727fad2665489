"""Deadlines a client and a consultant would see: business hours, weekends, holidays, overrides."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from assistant.config import defaults
from assistant.errors import RuleError
from assistant.policy.sla import SlaBook

MSK = ZoneInfo("Europe/Moscow")
RULES_DIR = defaults().rules_dir


@pytest.fixture(scope="module")
def book() -> SlaBook:
    return SlaBook.load(RULES_DIR)


def msk(*args) -> datetime:
    return datetime(*args, tzinfo=MSK)


def test_two_business_hours_from_friday_evening_land_on_monday_morning(book):
    # Friday 5 June 2026, 17:00 Moscow: one hour left today, one on Monday.
    due = book.add_business_time("moscow", msk(2026, 6, 5, 17, 0), timedelta(hours=2))
    assert due == msk(2026, 6, 8, 10, 0)
    assert due.tzinfo == timezone.utc


def test_a_weekend_followed_by_a_holiday_is_skipped_whole(book):
    # Friday 8 May 2026; 9-10 May is the weekend and Monday 11 May is Victory Day's day off.
    due = book.add_business_time("moscow", msk(2026, 5, 8, 17, 0), timedelta(hours=2))
    assert due == msk(2026, 5, 12, 10, 0)


def test_the_new_year_holidays_hold_a_request_until_the_twelfth_of_january(book):
    # 31 December 2026 is a day off, 1-8 January 2027 are holidays and 9-10 January a weekend.
    due = book.add_business_time("moscow", msk(2026, 12, 31, 12, 0), timedelta(hours=1))
    assert due == msk(2027, 1, 11, 10, 0)


def test_a_request_at_night_starts_counting_at_opening_time(book):
    due = book.add_business_time("moscow", msk(2026, 6, 9, 23, 30), timedelta(minutes=30))
    assert due == msk(2026, 6, 10, 9, 30)


def test_a_normal_request_gets_its_targets_in_business_time(book):
    deadlines = book.deadlines(priority="normal", critical=False, client_email="anna@client.ru",
                               internal=False, start=msk(2026, 6, 5, 16, 0))
    assert deadlines.first_response_due == msk(2026, 6, 8, 11, 0)     # 4h: 2 on Friday, 2 on Monday
    assert deadlines.resolution_due == msk(2026, 6, 10, 16, 0)        # 3 working days of 9 hours
    assert not deadlines.around_the_clock and deadlines.calendar == "moscow"


def test_a_critical_incident_runs_around_the_clock_even_on_saturday_night(book):
    start = msk(2026, 6, 6, 23, 0)
    deadlines = book.deadlines(priority="normal", critical=True, client_email="anna@client.ru",
                               internal=False, start=start)
    assert deadlines.around_the_clock
    assert deadlines.first_response_due == start + timedelta(minutes=15)
    assert deadlines.resolution_due == start + timedelta(hours=4)


def test_colleagues_get_the_same_targets_as_external_clients(book):
    start = msk(2026, 6, 9, 10, 0)
    inside = book.deadlines(priority="high", critical=False, client_email="ivan@example.com",
                            internal=True, start=start)
    outside = book.deadlines(priority="high", critical=False, client_email="ivan@client.ru",
                             internal=False, start=start)
    assert inside == outside


def test_an_internal_table_in_the_rules_changes_colleagues_terms_only(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    with (rules / "sla.toml").open("a", encoding="utf-8") as sla:
        sla.write('\n[internal]\n[internal.targets.low]\nresolution = "20d"\n')
    book = SlaBook.load(rules)
    start = msk(2026, 6, 9, 10, 0)
    inside = book.deadlines(priority="low", critical=False, client_email="ivan@example.com",
                            internal=True, start=start)
    outside = book.deadlines(priority="low", critical=False, client_email="ivan@client.ru",
                             internal=False, start=start)
    assert inside.resolution_due > outside.resolution_due
    assert inside.first_response_due == outside.first_response_due


def test_a_client_address_override_uses_its_own_calendar_and_targets(book):
    # cfo@example.org: Novosibirsk hours (UTC+7) and a 2h first response for normal requests.
    start = datetime(2026, 6, 9, 3, 0, tzinfo=timezone.utc)          # 10:00 in Novosibirsk
    deadlines = book.deadlines(priority="normal", critical=False, client_email="CFO@example.org",
                               internal=False, start=start)
    assert deadlines.calendar == "novosibirsk"
    assert deadlines.first_response_due == datetime(2026, 6, 9, 5, 0, tzinfo=timezone.utc)
    colleague = book.deadlines(priority="normal", critical=False, client_email="clerk@example.org",
                               internal=False, start=start)
    assert colleague.calendar == "moscow"


def test_a_domain_override_covers_subdomains_and_counts_every_hour(book):
    start = msk(2026, 6, 6, 20, 0)                                    # Saturday evening
    deadlines = book.deadlines(priority="high", critical=False, client_email="shop12@msk.retail.example.net",
                               internal=False, start=start)
    assert deadlines.around_the_clock
    assert deadlines.resolution_due == start + timedelta(hours=8)


def test_a_raise_mid_ticket_counts_from_the_change_and_never_postpones(book):
    created, changed = msk(2026, 6, 8, 10, 0), msk(2026, 6, 9, 15, 0)
    before = book.deadlines(priority="normal", critical=False, client_email="anna@client.ru",
                            internal=False, start=created)
    after = book.after_priority_change(before, old_priority="normal", new_priority="critical",
                                       critical=True, client_email="anna@client.ru", internal=False,
                                       created=created, changed=changed)
    assert after.resolution_due == changed + timedelta(hours=4)
    assert after.first_response_due == before.first_response_due      # 14:00 Monday was earlier
    assert after.around_the_clock


def test_a_lowering_mid_ticket_counts_from_the_start_and_never_hurries(book):
    created, changed = msk(2026, 6, 8, 10, 0), msk(2026, 6, 8, 12, 0)
    before = book.deadlines(priority="high", critical=False, client_email="anna@client.ru",
                            internal=False, start=created)
    after = book.after_priority_change(before, old_priority="high", new_priority="low",
                                       critical=False, client_email="anna@client.ru", internal=False,
                                       created=created, changed=changed)
    assert after.resolution_due == book.deadlines(priority="low", critical=False, client_email="anna@client.ru",
                                                  internal=False, start=created).resolution_due


def test_progress_reports_follow_the_cadence_of_the_priority(book):
    assert book.cadence("critical") == timedelta(hours=2)
    assert book.cadence("high") == timedelta(hours=9)                 # one working day
    assert book.cadence("low") > book.cadence("normal")


def test_critical_incidents_go_to_the_oncall_address(book):
    assert book.oncall() == ["oncall@example.com"]


def test_a_bad_duration_names_the_file_and_line(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    sla = rules / "sla.toml"
    sla.write_text(sla.read_text(encoding="utf-8").replace('resolution = "3d"', 'resolution = "three days"'),
                   encoding="utf-8")
    line = next(n for n, text in enumerate(sla.read_text(encoding="utf-8").splitlines(), 1)
                if text == "[targets.normal]")
    with pytest.raises(RuleError, match=rf"{sla}:{line}: cannot read the duration 'three days'"):
        SlaBook.load(rules)


def test_an_unknown_timezone_names_the_calendar(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    sla = rules / "sla.toml"
    sla.write_text(sla.read_text(encoding="utf-8").replace('"Asia/Novosibirsk"', '"Asia/Novosibirk"'),
                   encoding="utf-8")
    with pytest.raises(RuleError, match=r"sla.toml:\d+: calendar 'novosibirsk': unknown timezone"):
        SlaBook.load(rules)
