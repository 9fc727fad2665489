"""Numbers, names and times in a reply read the way a person would say them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from assistant.replies.grammar import duration, inflect, plural, when

# Friday 22 November 2024, 09:00 UTC = 12:00 in Moscow.
NOW = datetime(2024, 11, 22, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("n, expected", [(1, "1 день"), (2, "2 дня"), (5, "5 дней"), (11, "11 дней"),
                                         (21, "21 день"), (22, "22 дня"), (112, "112 дней")])
def test_days_agree_with_the_number(n, expected):
    assert plural(n, "день") == expected


def test_a_phrase_agrees_word_by_word():
    assert [plural(n, "рабочий день") for n in (1, 2, 5)] == ["1 рабочий день", "2 рабочих дня", "5 рабочих дней"]


def test_feminine_nouns_take_the_accusative_after_through():
    assert [plural(n, "минута", case="accs") for n in (1, 3, 21)] == ["1 минуту", "3 минуты", "21 минуту"]


def test_english_plurals():
    assert [plural(1, "day"), plural(2, "day"), plural(3, "reply"), plural(2, "person")] == \
        ["1 day", "2 days", "3 replies", "2 people"]


@pytest.mark.parametrize("name, case, expected", [
    ("Мария", "datv", "Марии"),
    ("Иван Петров", "datv", "Ивану Петрову"),
    ("Мария Иванова", "datv", "Марии Ивановой"),
    ("Мария Иванова", "gent", "Марии Ивановой"),
    ("Иван Петров", "ablt", "Иваном Петровым"),
    ("Елена Сергеевна", "datv", "Елене Сергеевне"),
    ("Анна Мельник", "datv", "Анне Мельник"),
    ("клиент", "dative", "клиенту"),
    ("John Smith", "datv", "John Smith"),
])
def test_names_and_words_take_the_case(name, case, expected):
    assert inflect(name, case) == expected


@pytest.mark.parametrize("moment, ru, en", [
    (NOW + timedelta(hours=3), "сегодня до 15:00", "today by 3:00 PM"),
    (datetime(2024, 11, 23, 7, tzinfo=timezone.utc), "завтра в 10:00", "tomorrow at 10:00 AM"),
    (datetime(2024, 11, 25, 7, tzinfo=timezone.utc), "в понедельник, 25 ноября, в 10:00",
     "Monday, 25 November at 10:00 AM"),
    (datetime(2024, 11, 27, 7, tzinfo=timezone.utc), "в среду, 27 ноября, в 10:00",
     "Wednesday, 27 November at 10:00 AM"),
    (datetime(2025, 1, 14, 7, tzinfo=timezone.utc), "во вторник, 14 января 2025 г., в 10:00",
     "Tuesday, 14 January 2025 at 10:00 AM"),
])
def test_times_are_said_relative_to_now_in_the_clients_zone(moment, ru, en):
    assert when(moment, "ru", "Europe/Moscow", NOW) == ru
    assert when(moment, "en", "Europe/Moscow", NOW) == en


def test_the_day_is_the_clients_day_not_the_servers():
    # 22:30 UTC on Friday is already Saturday morning in Vladivostok.
    moment = datetime(2024, 11, 22, 22, 30, tzinfo=timezone.utc)
    assert when(moment, "ru", "Asia/Vladivostok", NOW) == "завтра в 08:30"
    assert when(moment, "ru", "Europe/London", NOW) == "сегодня до 22:30"


def test_a_past_time_today_is_not_a_deadline():
    assert when(NOW - timedelta(hours=2), "en", "Europe/Moscow", NOW) == "today at 10:00 AM"


@pytest.mark.parametrize("span, ru, en", [
    (timedelta(hours=3), "через 3 часа", "in 3 hours"),
    (timedelta(minutes=1), "через 1 минуту", "in 1 minute"),
    (timedelta(minutes=90), "через 1 час 30 минут", "in 1 hour and 30 minutes"),
    (timedelta(days=2, hours=1), "через 3 дня", "in 3 days"),
])
def test_durations(span, ru, en):
    assert duration(span, "ru") == ru
    assert duration(span, "en") == en
