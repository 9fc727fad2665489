"""The rules as typed values: phrase rules, SLA calendars and targets, owners of systems,
marks of quoted mail. `rulebook` reads rules/ into these; nothing here reads a file."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("ru", "en")
PRIORITY_NAMES = ("critical", "high", "normal", "low")


@dataclass(frozen=True)
class PhraseRule:
    """One rule of `rules/<concern>/<name>.<lang>.toml`, with the file and line it was written on."""

    id: str
    concern: str            # the folder: "priority", "category", "tone", ...
    name: str               # the file's stem without the language: "blame", "critical"
    lang: str
    phrases: tuple[str, ...]
    explain: str = ""
    suggest: str = ""
    examples_flag: tuple[str, ...] = ()
    examples_pass: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    file: str = ""
    line: int = 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Span:
    """A target length: whole working days plus minutes ("1d", "4h", "2h30m").

    A day is one working day of whichever calendar the deadline is counted in (nine
    hours for 09:00–18:00), or 24 hours when counted around the clock.
    """

    days: int = 0
    minutes: int = 0

    def length(self, workday: timedelta) -> timedelta:
        return self.days * workday + timedelta(minutes=self.minutes)


@dataclass(frozen=True)
class Calendar:
    name: str
    timezone: str
    weekdays: frozenset[int]            # 0 = Monday
    opens: time
    closes: time
    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()   # weekend days made working by decree
    around_the_clock: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def workday(self) -> timedelta:
        if self.around_the_clock:
            return timedelta(hours=24)
        return timedelta(hours=self.closes.hour - self.opens.hour,
                         minutes=self.closes.minute - self.opens.minute)

    def is_working_day(self, day: date) -> bool:
        if self.around_the_clock or day in self.working_days:
            return True
        return day.weekday() in self.weekdays and day not in self.holidays


@dataclass(frozen=True)
class Target:
    first_response: Span
    resolution: Span
    cadence: Span                       # how often an open ticket gets a progress report
    around_the_clock: bool = False      # counted in plain hours, nights and holidays too


@dataclass(frozen=True)
class Override:
    """Other terms for one client address, one domain, or colleagues (`internal`)."""

    kind: str                           # "client" | "domain" | "internal"
    match: str                          # the address or domain, lower-case; "" for internal
    calendar: str | None
    targets: dict[str, dict[str, Any]] = field(hash=False, compare=False, default_factory=dict)
    where: str = ""


@dataclass(frozen=True)
class SlaRules:
    default_calendar: str
    calendars: dict[str, Calendar]
    targets: dict[str, Target]
    overrides: tuple[Override, ...] = ()
    internal: Override | None = None


@dataclass(frozen=True)
class OwnedSystem:
    name: str
    owner: str
    rules: tuple[PhraseRule, ...]       # phrases that name the system, per language


@dataclass(frozen=True)
class Owners:
    default: str
    systems: tuple[OwnedSystem, ...] = ()


@dataclass(frozen=True)
class MarkRule:
    """Words or regular expressions that play one `role` in a reply's structure."""

    id: str
    role: str               # "verb", "intro", "separator", "header.from", "footer", ...
    words: tuple[str, ...]  # literal, case-insensitive, any run of spaces matches a space
    patterns: tuple[str, ...]  # Python regular expressions, case-insensitive
    examples_flag: tuple[str, ...] = ()
    examples_pass: tuple[str, ...] = ()
    where: str = ""
