"""What runs every minute: promises settled, progress reports, alerts, the manager summary.

Nothing here trusts the scheduler's memory. Each minute `run_due` asks the database what
is due at the clock's time: a ticket's next checkpoint follows from when the client last
heard from us and from the times we promised; a summary is due when a summary time has
passed since the last run recorded in ScheduleRun. So after a restart whatever fell due
while the assistant was down happens once — one report per ticket, one summary — and
never once per missed slot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assistant.policy.sla import SlaBook
from assistant.policy.timetable import Timetable
from assistant.schedule.alerts import Alerts
from assistant.schedule.progress import ProgressReports
from assistant.schedule.rhythm import open_tickets
from assistant.schedule.summary import Summary
from assistant.store.database import Store
from assistant.store.models import ScheduleRun
from assistant.store.states import MailKind
from assistant.tickets import promises
from assistant.transport.outbox import Outbox

log = logging.getLogger("assistant.schedule.jobs")

EVERY_SECONDS = 60
SUMMARY = "manager_summary"
LOOK_BACK_DAYS = 14             # how far back a missed summary time is still worth sending


@dataclass
class Done:
    """What one run did, for the log and for tests."""

    reports: list[int] = field(default_factory=list)     # ticket ids given a progress report
    missed: int = 0                                      # promises found missed
    alerts: int = 0
    summaries: int = 0                                   # summary mails queued


@dataclass(eq=False)
class Checkpoints:
    """Built once by the App: `jobs()` for the daemon, `run_due()` for everything due now."""

    store: Store
    clock: Callable[[], datetime]
    _: KW_ONLY
    sla: SlaBook
    timetable: Timetable
    outbox: Outbox
    progress: ProgressReports
    summary: Summary
    alerts: Alerts

    def jobs(self):
        """The daemon's jobs: each registers itself on the daemon's own Scheduler."""
        def every_minute(scheduler, guard=lambda job: job):
            # `guard` lets the daemon run it only while it holds the schedule's lease.
            scheduler.every(EVERY_SECONDS).seconds.do(guard(self.run_due))
        return (every_minute,)

    def run_due(self) -> Done:
        """Everything due at the clock's time; one failing step never stops the others."""
        now, done = self.clock(), Done()
        for step in (self._settle, self._reports, self._alerts, self._summary):
            try:
                step(now, done)
            except Exception:  # noqa: BLE001 - the daemon must keep running; the log says why
                log.exception("checkpoints: %s failed at %s", step.__name__, now.isoformat())
        if done.reports or done.missed or done.alerts or done.summaries:
            log.info("checkpoints: %d reports, %d promises missed, %d alerts, %d summaries",
                     len(done.reports), done.missed, done.alerts, done.summaries)
        return done

    # -- promises ---------------------------------------------------------------------------
    def _settle(self, now: datetime, done: Done) -> None:
        with self.store.session() as session:
            done.missed = len(promises.settle(session, now))

    # -- progress reports -------------------------------------------------------------------
    def _reports(self, now: datetime, done: Done) -> None:
        done.reports = self.progress.write_due(now)

    # -- alerts -----------------------------------------------------------------------------
    def _alerts(self, now: datetime, done: Done) -> None:
        with self.store.session() as session:
            found, tickets = [], {}
            for page in open_tickets(session):
                for ticket in page:
                    tickets[ticket.id] = ticket
                    found += self.alerts.about_ticket(ticket, now)
            found += self.alerts.about_promises(session, now, tickets)
            done.alerts = self.alerts.send(session, found, now)

    # -- manager summary --------------------------------------------------------------------
    def _summary(self, now: datetime, done: Done) -> None:
        """The manager summary of the latest slot, once across every daemon.

        The slot is claimed by locking its ScheduleRun row (SELECT ... FOR UPDATE): a second
        daemon waits for the first to commit, then finds the slot done. A database that
        never ran the schedule starts counting from now, so a fresh install does not mail
        a summary for a time that passed before it was installed.
        """
        if not self._first_run(now):
            return
        slot = self.last_slot(now)
        with self.store.session() as session:
            run = session.exec(select(ScheduleRun).where(ScheduleRun.name == SUMMARY)
                               .with_for_update()).one()
            if slot is None or (run.last_run_at is not None and run.last_run_at >= slot):
                return
            done.summaries = len(self.send_summary(session, now, run.last_run_at))
            run.last_run_at = now

    def _first_run(self, now: datetime) -> bool:
        """False the first time: the summary's record is made, starting from now."""
        with self.store.session() as session:
            if session.get(ScheduleRun, SUMMARY) is not None:
                return True
        try:
            with self.store.session() as session:
                session.add(ScheduleRun(name=SUMMARY, last_run_at=now))
            log.info("checkpoints: the first manager summary goes out after %s",
                     self.next_slot(now).isoformat())
        except IntegrityError:
            pass                       # another daemon made it a moment ago
        return False

    def send_summary(self, session: Session, now: datetime, since: datetime | None) -> list:
        """Queue the summary for every group of readers; returns the outbox rows."""
        letters = self.summary.letters(session, now, since, self.next_slot(now))
        return [self.outbox.queue(session, letter, kind=MailKind.SUMMARY) for letter in letters]

    def last_summary_at(self, session: Session) -> datetime | None:
        run = session.get(ScheduleRun, SUMMARY)
        return run.last_run_at if run else None

    def _slots(self, now: datetime, days: range, backwards: bool):
        """Summary times on the calendar's working days, in the order the walk goes: a walk
        backwards takes each day's times latest first, a walk forwards earliest first."""
        calendar = self.sla.rules.calendars[
            self.timetable.summary_calendar or self.sla.rules.default_calendar]
        today = now.astimezone(calendar.zone).date()
        for offset in days:
            day = today + timedelta(days=offset)
            if calendar.is_working_day(day):
                for moment in sorted(self.timetable.summary_times, reverse=backwards):
                    yield datetime.combine(day, moment, calendar.zone).astimezone(timezone.utc)

    def last_slot(self, now: datetime) -> datetime | None:
        """The latest summary time at or before `now` (within two weeks), or None."""
        return next((s for s in self._slots(now, range(0, -LOOK_BACK_DAYS, -1), backwards=True)
                     if s <= now), None)

    def next_slot(self, now: datetime) -> datetime:
        """The first summary time after `now`: at 03:01 with times 09:30 and 16:30, today 09:30."""
        return next(s for s in self._slots(now, range(0, 3660), backwards=False) if s > now)
