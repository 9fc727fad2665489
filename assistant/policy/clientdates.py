"""Deadlines in the client's own words: "до конца дня", "к 15:00", "by Friday", "до 25.12"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Callable
from zoneinfo import ZoneInfo

# What a vague time of day means on a Russian or English business day.
END_OF_DAY = time(18, 0)
NOON = time(12, 0)
MORNING = time(10, 0)

_RU_MONTHS = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
              "октября", "ноября", "декабря")
_EN_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_RU_DAYS = ("понедельник", "вторник", "сред", "четверг", "пятниц", "суббот", "воскресень")
_EN_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# Words that make a date a deadline rather than a mention ("встреча 25.12" is not one).
_RU_BY = r"(?:до|к|ко|не позднее|не позже|срок(?:\s*[-—:])?|крайний срок(?:\s*[-—:])?)"
_EN_BY = r"(?:by|before|until|till|no later than|deadline(?: is)?:?|due(?: on| by)?)"


@dataclass(frozen=True)
class ClientDeadline:
    due: datetime                       # aware UTC
    text: str                           # the words it was read from


@dataclass(frozen=True)
class _Context:
    now: datetime                       # local, aware
    zone: ZoneInfo

    def at(self, day: date, moment: time) -> datetime:
        return datetime.combine(day, moment, tzinfo=self.zone)

    def next_weekday(self, weekday: int) -> date:
        # The named day of this week, or next week's when it is today or already past:
        # "до пятницы" written on a Friday means the coming one.
        ahead = (weekday - self.now.weekday()) % 7 or 7
        return self.now.date() + timedelta(days=ahead)

    def next_date(self, month: int, day: int, year: int | None = None) -> date | None:
        try:
            found = date(year or self.now.year, month, day)
            if year is None and found < self.now.date():
                found = date(self.now.year + 1, month, day)
        except ValueError:
            return None
        return found

    def clock(self, hour: int, minute: int) -> datetime | None:
        if not (0 <= hour <= 23 and 0 <= minute <= 59):
            return None
        moment = self.at(self.now.date(), time(hour, minute))
        return moment if moment > self.now else moment + timedelta(days=1)


def _tomorrow(ctx: _Context, moment: time) -> datetime:
    return ctx.at(ctx.now.date() + timedelta(days=1), moment)


def _month_index(word: str, months: tuple[str, ...]) -> int | None:
    """1-based position of the name whose first three letters begin `word`, compared the
    way the patterns compare: with re.IGNORECASE "ſ" is "s", "ı" is "i", "ᲀ" is "в", and
    str.lower() knows none of that ("by frıday" once raised here)."""
    for number, name in enumerate(months, 1):
        if re.match(re.escape(name[:3]), word, re.IGNORECASE):
            return number
    return None


def _weekday(names: tuple[str, ...], word: str, ctx: _Context, moment: time) -> datetime | None:
    number = _month_index(word, names)
    return None if number is None else ctx.at(ctx.next_weekday(number - 1), moment)


def _hour12(hour: str, minute: str | None, half: str | None) -> tuple[int, int]:
    value = int(hour) % 12 + (12 if half and half.lower().startswith("p") else 0)
    return value, int(minute or 0)


_Reader = Callable[[re.Match, _Context], "datetime | None"]

_READERS: list[tuple[re.Pattern, _Reader]] = [
    (re.compile(r"\bзавтра\s+(?:до|к)\s+обеда\b|\b(?:до|к)\s+обед[ау]\s+завтра\b", re.I),
     lambda m, c: _tomorrow(c, NOON)),
    (re.compile(r"\b(?:до|к)\s+завтр(?:а|ашнему\s+утру)\b|\bзавтра\s+утром\b", re.I),
     lambda m, c: _tomorrow(c, MORNING)),
    (re.compile(r"\b(?:до|к)\s+(?:конц[ау]\s+(?:рабочего\s+)?дня|вечера)\b|\bсегодня\s+до\s+вечера\b", re.I),
     lambda m, c: c.at(c.now.date(), END_OF_DAY)),
    (re.compile(r"\b(?:до|к)\s+обеда?\b", re.I),
     lambda m, c: c.at(c.now.date(), NOON)),
    (re.compile(r"\b(?:до|к)\s+концу?\s+недели\b", re.I),
     lambda m, c: c.at(c.next_weekday(4) if c.now.weekday() != 4 else c.now.date(), END_OF_DAY)),
    (re.compile(rf"\b(?:до|к|ко)\s+({'|'.join(_RU_DAYS)})\w*", re.I),
     lambda m, c: _weekday(_RU_DAYS, m.group(1), c, END_OF_DAY)),
    (re.compile(r"\b(?:до|к)\s+(\d{1,2})[:.](\d{2})\b(?![.]\d)", re.I),
     lambda m, c: _clock_or_date(m, c)),
    (re.compile(r"\b(?:до|к)\s+(\d{1,2})\s+час", re.I),
     lambda m, c: c.clock(int(m.group(1)), 0)),
    (re.compile(rf"\b{_RU_BY}\s+(\d{{1,2}})\.(\d{{1,2}})(?:\.(\d{{2,4}}))?\b", re.I),
     lambda m, c: _dated(c, int(m.group(2)), int(m.group(1)), m.group(3))),
    (re.compile(rf"\b{_RU_BY}\s+(\d{{1,2}})\s+({'|'.join(_RU_MONTHS)})\b", re.I),
     lambda m, c: _dated(c, _month_index(m.group(2), _RU_MONTHS), int(m.group(1)), None)),
    (re.compile(r"\b(?:by|before)\s+(?:the\s+)?(?:end\s+of\s+(?:the\s+)?(?:business\s+)?day|eod|cob|"
                r"close\s+of\s+business|tonight)\b", re.I),
     lambda m, c: c.at(c.now.date(), END_OF_DAY)),
    (re.compile(r"\b(?:by|before)\s+(?:the\s+)?end\s+of\s+(?:the\s+)?week\b", re.I),
     lambda m, c: c.at(c.next_weekday(4) if c.now.weekday() != 4 else c.now.date(), END_OF_DAY)),
    (re.compile(r"\btomorrow\s+(?:by|before)\s+(?:noon|lunch(?:time)?)\b|"
                r"\b(?:by|before)\s+(?:noon|lunch(?:time)?)\s+tomorrow\b", re.I),
     lambda m, c: _tomorrow(c, NOON)),
    (re.compile(r"\b(?:by|before)\s+tomorrow(?:\s+morning)?\b|\btomorrow\s+morning\b", re.I),
     lambda m, c: _tomorrow(c, MORNING)),
    (re.compile(r"\b(?:by|before)\s+(?:noon|lunch(?:time)?)\b", re.I),
     lambda m, c: c.at(c.now.date(), NOON)),
    (re.compile(rf"\b{_EN_BY}\s+(?:this\s+|next\s+)?({'|'.join(_EN_DAYS)})\b", re.I),
     lambda m, c: _weekday(_EN_DAYS, m.group(1), c, END_OF_DAY)),
    (re.compile(r"\b(?:by|before|until)\s+(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)", re.I),
     lambda m, c: c.clock(*_hour12(m.group(1), m.group(2), m.group(3)))),
    (re.compile(r"\b(?:by|before|until)\s+(\d{1,2}):(\d{2})\b", re.I),
     lambda m, c: c.clock(int(m.group(1)), int(m.group(2)))),
    (re.compile(rf"\b{_EN_BY}\s+(?:the\s+)?({'|'.join(_EN_MONTHS)})[a-z]*\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b", re.I),
     lambda m, c: _dated(c, _month_index(m.group(1), _EN_MONTHS), int(m.group(2)), None)),
    (re.compile(rf"\b{_EN_BY}\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({'|'.join(_EN_MONTHS)})[a-z]*", re.I),
     lambda m, c: _dated(c, _month_index(m.group(2), _EN_MONTHS), int(m.group(1)), None)),
    (re.compile(rf"\b(?:{_EN_BY}|{_RU_BY})\s+(\d{{4}})-(\d{{2}})-(\d{{2}})\b", re.I),
     lambda m, c: _dated(c, int(m.group(2)), int(m.group(3)), m.group(1))),
]


def _clock_or_date(match: re.Match, ctx: _Context) -> datetime | None:
    # "к 15:00" is a time; "до 25.12" is a date. A dot with a first number over 23 or a
    # second over 12 cannot be a date the other way round, so read by the separator.
    first, second = int(match.group(1)), int(match.group(2))
    if ":" in match.group(0) or (second >= 13 and first <= 23):
        return ctx.clock(first, second)
    return _dated(ctx, second, first, None)


def _dated(ctx: _Context, month: int | None, day: int, year: str | None) -> datetime | None:
    if month is None:
        return None
    full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
    found = ctx.next_date(month, day, full_year)
    return None if found is None else ctx.at(found, END_OF_DAY)


# Every reader above starts or ends with one of these words next to a time word. Most
# mail has none, so one cheap scan spares twenty.
_CANDIDATE = re.compile(
    r"\b(?:до|к|ко|позднее|позже|срок|завтра|by|before|until|till|than|deadline|due|is|tomorrow)"
    r"[\s:—-]+(?:the\s+)?(?:\d|конц|обед|вечер|завтр|утр|понед|вторн|сред|четв|пятн|субб|воскр|"
    r"end|eod|cob|close|noon|lunch|tonight|tomorrow|morning|this|next|mon|tue|wed|thu|fri|sat|sun|"
    r"jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|by|before|до|к)",
    re.IGNORECASE)


def _windows(text: str) -> list[tuple[int, str]]:
    """Stretches of `text` around each candidate, merged where they touch."""
    spans: list[list[int]] = []
    for match in _CANDIDATE.finditer(text):
        start, end = max(0, match.start() - 12), match.end() + 40
        if spans and start <= spans[-1][1]:
            spans[-1][1] = end
        else:
            spans.append([start, end])
    return [(start, text[start:end]) for start, end in spans]


def find_client_deadline(text: str, now: datetime, tz: str = "Europe/Moscow") -> ClientDeadline | None:
    """The earliest deadline the client names in `text`, read relative to `now` in `tz`.

    A named day or date means the end of that working day (18:00); "до обеда" and
    "by noon" mean 12:00; a clock time already past today means tomorrow.
    Written on Wednesday 10 June 2026, "нужно до пятницы" gives Friday 12 June 18:00 in
    `tz` and the text "до пятницы".
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime given: pass an aware one")
    zone = ZoneInfo(tz)
    ctx = _Context(now=now.astimezone(zone), zone=zone)
    found: list[tuple[int, int, datetime, str]] = []
    for window_start, window in _windows(text):
        for pattern, read in _READERS:
            for match in pattern.finditer(window):
                due = read(match, ctx)
                if due is not None:
                    found.append((window_start + match.start(), window_start + match.end(),
                                  due, match.group(0).strip()))
    # "завтра до обеда" also holds "до обеда" (today): the longer reading wins.
    whole = [f for f in found if not any(o[0] <= f[0] and f[1] <= o[1] and o[1] - o[0] > f[1] - f[0]
                                         for o in found)]
    if not whole:
        return None
    _, _, due, words = min(whole, key=lambda f: f[2])
    return ClientDeadline(due=due.astimezone(timezone.utc), text=words)


def is_close(deadline: datetime, now: datetime, tz: str = "Europe/Moscow") -> bool:
    """True when the deadline falls before the end of the next working day (Mon–Fri).

    That is the horizon on which a request has to jump the normal queue: "до конца дня",
    "завтра до обеда", and "by Monday" written on a Friday all fall inside it.
    """
    local = now.astimezone(ZoneInfo(tz))
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    horizon = datetime.combine(day, END_OF_DAY, tzinfo=ZoneInfo(tz))
    return deadline <= horizon
