"""Numbers, names, times and durations said the way a person says them, in Russian and English."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo


_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
# Russian after "в": "в среду", "во вторник" — the accusative, which Babel does not give.
_RU_WEEKDAY_AFTER_V = ("в понедельник", "во вторник", "в среду", "в четверг",
                       "в пятницу", "в субботу", "в воскресенье")
CASES = {
    "nomn": "nomn", "nominative": "nomn", "им": "nomn",
    "gent": "gent", "genitive": "gent", "род": "gent",
    "datv": "datv", "dative": "datv", "дат": "datv",
    "accs": "accs", "accusative": "accs", "вин": "accs",
    "ablt": "ablt", "instrumental": "ablt", "твор": "ablt",
    "loct": "loct", "prepositional": "loct", "пред": "loct",
}
_EN_IRREGULAR = {"person": "people", "child": "children", "man": "men", "woman": "women"}


@lru_cache(maxsize=1)
def _morph():
    """The one pymorphy3.MorphAnalyzer of the process (its dictionary takes a moment to load)."""
    # lazy: pymorphy3 is imported only when a Russian word is inflected, so commands that
    # only print tickets or the outbox start without it.
    import pymorphy3
    return pymorphy3.MorphAnalyzer(lang="ru")


def format_time(moment: datetime, pattern: str, locale: str) -> str:
    # lazy: babel's locale data loads only when a letter gives a time.
    from babel.dates import format_time as babel_format_time
    return babel_format_time(moment, pattern, locale=locale)


def format_date(moment: datetime, pattern: str, locale: str) -> str:
    # lazy: as format_time.
    from babel.dates import format_date as babel_format_date
    return babel_format_date(moment, pattern, locale=locale)


def plural(n: int, word: str, case: str = "nomn") -> str:
    """The number with the word in the form that agrees with it.

    >>> [plural(n, "день") for n in (1, 2, 5, 21)]
    ['1 день', '2 дня', '5 дней', '21 день']
    >>> plural(2, "day")
    '2 days'

    `case` is the case the whole phrase stands in ("accs" after "через": "через 1 минуту").
    A phrase such as "рабочий день" agrees word by word.
    """
    if not _CYRILLIC.search(word):
        return f"{n} {word if abs(n) == 1 else _english_plural(word)}"
    parts = word.split()
    # In "рабочий день" every word but the last is an adjective ("рабочий" alone is also a noun).
    words = [_agree(part, abs(int(n)), CASES.get(case, case), adjective=index < len(parts) - 1)
             for index, part in enumerate(parts)]
    return f"{n} {' '.join(words)}"


def _agree(word: str, n: int, case: str, adjective: bool = False) -> str:
    parse = _best_parse(word, "ADJF" if adjective else None)
    if parse is None:
        return word
    one = n % 10 == 1 and n % 100 != 11
    few = 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14
    if one:
        wanted = {"sing", case}
    elif few and case in ("nomn", "accs"):
        # After 2–4 a noun takes the genitive singular, an adjective the genitive plural
        # ("2 рабочих дня"); an inanimate accusative looks the same as the nominative.
        wanted = {"plur" if "ADJF" in parse.tag else "sing", "gent"}
    elif case in ("nomn", "accs"):
        wanted = {"plur", "gent"}
    else:
        wanted = {"plur", case}
    inflected = parse.inflect(wanted)
    return _same_case_as(word, inflected.word) if inflected else word


def _best_parse(word: str, part_of_speech: str | None = None):
    parses = _morph().parse(word)
    nominative = [p for p in parses if "nomn" in p.tag and "sing" in p.tag]
    if part_of_speech:
        nominative = [p for p in nominative if part_of_speech in p.tag] or nominative
    return (nominative or parses or [None])[0]


def _english_plural(word: str) -> str:
    if word.lower() in _EN_IRREGULAR:
        return _EN_IRREGULAR[word.lower()]
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def _same_case_as(original: str, word: str) -> str:
    if original.isupper() and len(original) > 1:
        return word.upper()
    if original[:1].isupper():
        return word[:1].upper() + word[1:]
    return word


def inflect(text: str, case: str) -> str:
    """A Russian name or word in the given case; anything pymorphy3 does not know stays as is.

    >>> inflect("Мария", "datv"), inflect("Иван Петров", "datv")
    ('Марии', 'Ивану Петрову')

    Surnames follow the gender of the first name, so "Мария Иванова" gives "Марии Ивановой".
    """
    grammeme = CASES.get(case, case)
    words = text.split()
    if not words or not _CYRILLIC.search(text):
        return text
    gender = _gender_of_first_name(words[0])
    return " ".join(_inflect_word(word, grammeme, gender) for word in words)


def _gender_of_first_name(word: str) -> str | None:
    for parse in _morph().parse(word):
        if "Name" in parse.tag and "nomn" in parse.tag:
            # "Саша", "Женя" serve both genders: then the surname's own reading decides.
            return None if "ms-f" in parse.tag else ("femn" if "femn" in parse.tag else "masc")
    return None


def _inflect_word(word: str, case: str, gender: str | None) -> str:
    if not _CYRILLIC.search(word):
        return word
    parses = [p for p in _morph().parse(word) if "nomn" in p.tag and "sing" in p.tag] \
        or _morph().parse(word)
    if gender and word[:1].isupper():
        # For a person, prefer the name-like reading of the right gender: "Иванова" is a
        # woman's surname here, not the genitive of "Иванов".
        fitting = [p for p in parses if gender in p.tag or "ms-f" in p.tag]
        if not fitting:
            # A word known only in the other gender does not decline here: "Анне Мельник".
            return word
        named = [p for p in fitting if {"Name", "Surn", "Patr"} & set(p.tag.grammemes)]
        parses = named or fitting
    for parse in parses:
        inflected = parse.inflect({case})
        if inflected:
            return _same_case_as(word, inflected.word)
    return word


def when(moment: datetime, lang: str, tz: str, now: datetime, by: bool | None = None) -> str:
    """When something will happen, in the reader's time zone and relative to `now`.

    >>> when(datetime(2024, 11, 22, 12, tzinfo=timezone.utc), "ru", "Europe/Moscow",
    ...      now=datetime(2024, 11, 22, 9, tzinfo=timezone.utc))
    'сегодня до 15:00'

    Later days read "завтра в 10:00", "в понедельник, 25 ноября, в 10:00" and in English
    "tomorrow at 10:00 AM", "Monday, 25 November at 10:00 AM". A time later today is a
    deadline ("до", "by"); a past one or one on another day an appointment ("в", "at"),
    unless `by` says otherwise. Naive datetimes are read as UTC.
    """
    zone = ZoneInfo(tz)
    local, today = _aware(moment).astimezone(zone), _aware(now).astimezone(zone).date()
    days = (local.date() - today).days
    by = (days == 0 and _aware(moment) > _aware(now)) if by is None else by
    if lang == "ru":
        return _when_ru(local, today, days, by)
    return _when_en(local, today, days, by)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _when_ru(local: datetime, today: date, days: int, by: bool) -> str:
    clock = f"{'до' if by else 'в'} {format_time(local, 'HH:mm', locale='ru')}"
    if days == 0:
        return f"сегодня {clock}"
    if days == 1:
        return f"завтра {clock}"
    if days == -1:
        return f"вчера {clock}"
    pattern = "d MMMM" if local.year == today.year else "d MMMM y 'г.'"
    return f"{_RU_WEEKDAY_AFTER_V[local.weekday()]}, {format_date(local, pattern, locale='ru')}, {clock}"


def _when_en(local: datetime, today: date, days: int, by: bool) -> str:
    clock = f"{'by' if by else 'at'} {format_time(local, 'h:mm a', locale='en')}"
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    pattern = "EEEE, d MMMM" if local.year == today.year else "EEEE, d MMMM y"
    return f"{format_date(local, pattern, locale='en')} {clock}"


def duration(span: timedelta, lang: str) -> str:
    """How long from now, rounded the way people say it.

    >>> duration(timedelta(hours=3), "ru"), duration(timedelta(hours=3), "en")
    ('через 3 часа', 'in 3 hours')

    Under an hour counts minutes; under a day, hours and minutes ("через 1 час 30 минут");
    beyond that whole days, rounded up so a promise is never shorter than the truth.
    """
    minutes = max(0, -(-int(span.total_seconds()) // 60))
    if minutes < 60:
        parts = [(minutes, "минута", "minute")]
    elif minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        parts = [(hours, "час", "hour")] + ([(rest, "минута", "minute")] if rest else [])
    else:
        parts = [(-(-minutes // (24 * 60)), "день", "day")]
    if lang == "ru":
        return "через " + " ".join(plural(n, ru, case="accs") for n, ru, _ in parts)
    return "in " + " and ".join(plural(n, en) for n, _, en in parts)
