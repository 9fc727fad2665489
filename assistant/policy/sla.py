"""Deadlines per priority: business hours, holidays, per-client terms, critical incidents around the clock."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from assistant.policy.rulebook import escalation_rules, sla_rules
from assistant.policy.ruletypes import PRIORITY_NAMES, Calendar, SlaRules, Target

# A calendar with no working day in ten years is a broken file, not a long wait.
_MAX_DAYS = 3660


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime        # aware UTC
    resolution_due: datetime            # aware UTC
    calendar: str
    around_the_clock: bool


class SlaBook:
    """The SLA rules of `rules/sla.toml` and the on-call list of `rules/escalation.toml`."""

    def __init__(self, rules: SlaRules, oncall: tuple[str, ...]):
        self.rules = rules
        self._oncall = oncall

    @classmethod
    def load(cls, rules_dir: Path) -> "SlaBook":
        """Read both files once; a RuleError names the file and line at fault."""
        return cls(sla_rules(rules_dir), escalation_rules(rules_dir))

    def oncall(self) -> list[str]:
        """Addresses told of every critical incident at once (from rules/escalation.toml)."""
        return list(self._oncall)

    def terms(self, client_email: str, internal: bool) -> tuple[Calendar, dict[str, Target]]:
        """The calendar and targets that hold for one client.

        Layers, each changing only what it names: the defaults, then [internal] for
        colleagues, then the client's domain (the longest matching one), then the address.
        """
        address = client_email.strip().lower()
        domain = address.rpartition("@")[2]
        layers = [self.rules.internal] if internal and self.rules.internal else []
        by_domain = [o for o in self.rules.overrides if o.kind == "domain"
                     and (domain == o.match or domain.endswith("." + o.match))]
        layers += sorted(by_domain, key=lambda o: len(o.match))
        layers += [o for o in self.rules.overrides if o.kind == "client" and o.match == address]
        calendar = self.rules.default_calendar
        targets = dict(self.rules.targets)
        for layer in layers:
            calendar = layer.calendar or calendar
            for priority, changes in layer.targets.items():
                targets[priority] = dataclasses.replace(targets[priority], **changes)
        return self.rules.calendars[calendar], targets

    def deadlines(self, *, priority: str, critical: bool, client_email: str, internal: bool,
                  start: datetime) -> Deadlines:
        """When the first answer and the resolution are due for a request made at `start`.

        A critical incident takes the critical targets whatever its priority says, and
        counts them around the clock when the rules say so.
        """
        if priority not in PRIORITY_NAMES:
            raise ValueError(f"unknown priority {priority!r}")
        calendar, targets = self.terms(client_email, internal)
        target = targets["critical" if critical else priority]
        if target.around_the_clock or calendar.around_the_clock:
            day = timedelta(hours=24)
            return Deadlines(
                first_response_due=_utc(start + target.first_response.length(day)),
                resolution_due=_utc(start + target.resolution.length(day)),
                calendar=calendar.name, around_the_clock=True)
        return Deadlines(
            first_response_due=self._add(calendar, start, target.first_response.length(calendar.workday)),
            resolution_due=self._add(calendar, start, target.resolution.length(calendar.workday)),
            calendar=calendar.name, around_the_clock=False)

    def after_priority_change(self, previous: Deadlines, *, old_priority: str, new_priority: str,
                              critical: bool, client_email: str, internal: bool,
                              created: datetime, changed: datetime) -> Deadlines:
        """Deadlines once a ticket's priority changed mid-way.

        Raised: the new targets count from the moment of the change, and a raise never
        moves a deadline later. Lowered: the new targets count from the ticket's start,
        and a lowering never moves a deadline earlier.
        """
        raised = critical or PRIORITY_NAMES.index(new_priority) < PRIORITY_NAMES.index(old_priority)
        fresh = self.deadlines(priority=new_priority, critical=critical, client_email=client_email,
                               internal=internal, start=changed if raised else created)
        pick = min if raised else max
        return dataclasses.replace(
            fresh,
            first_response_due=pick(fresh.first_response_due, previous.first_response_due),
            resolution_due=pick(fresh.resolution_due, previous.resolution_due))

    def cadence(self, priority: str, client_email: str = "", internal: bool = False) -> timedelta:
        """How much working time may pass between two progress reports on an open ticket.

        A day counts as one working day of the client's calendar: `add_business_time`
        with this length gives the next checkpoint.
        """
        calendar, targets = self.terms(client_email, internal)
        target = targets[priority]
        day = timedelta(hours=24) if target.around_the_clock else calendar.workday
        return target.cadence.length(day)

    def add_business_time(self, calendar: str, start: datetime, duration: timedelta) -> datetime:
        """`start` plus `duration` of working time in the named calendar (aware UTC out).

        Two hours from Friday 17:00 in "moscow" is Monday 10:00 Moscow time (07:00 UTC),
        or 10:00 of the first working day after, when Monday is a holiday.
        """
        return self._add(self.rules.calendars[calendar], start, duration)

    def _add(self, calendar: Calendar, start: datetime, duration: timedelta) -> datetime:
        if start.tzinfo is None:
            raise ValueError("naive datetime given: pass an aware one")
        if calendar.around_the_clock:
            return _utc(start + duration)
        zone = calendar.zone
        # Work on the local wall clock: opening hours are wall-clock times.
        moment = start.astimezone(zone).replace(tzinfo=None)
        remaining = duration
        for _ in range(_MAX_DAYS):
            opens, closes = _working_hours(calendar, moment.date())
            if opens is not None and moment < closes:
                moment = max(moment, opens)
                if moment + remaining <= closes:
                    return _utc((moment + remaining).replace(tzinfo=zone))
                remaining -= closes - moment
            moment = datetime.combine(moment.date() + timedelta(days=1), time.min)
        raise ValueError(f"calendar {calendar.name!r} has no working time within ten years")


def _working_hours(calendar: Calendar, day: date) -> tuple[datetime | None, datetime]:
    if not calendar.is_working_day(day):
        return None, datetime.combine(day, time.min)
    return datetime.combine(day, calendar.opens), datetime.combine(day, calendar.closes)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)
