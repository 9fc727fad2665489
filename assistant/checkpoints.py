"""The schedule: progress reports to clients, manager summaries and alerts, due times from the database.

Nothing here trusts the scheduler's memory. Each minute `run_due` asks the database what
is due at the clock's time: a ticket's next checkpoint follows from when the client last
heard from us and from the times we promised; a summary is due when a summary time has
passed since the last run recorded in ScheduleRun. So after a restart whatever fell due
while the assistant was down happens once — one report per ticket, one summary — and
never once per missed slot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from assistant import approval, promises, timetable, worklog
from assistant.alerts import Alerts
from assistant.models import Draft, Message, ProgressCheckpoint, ScheduleRun, Ticket
from assistant.rhythm import OpenTicket, Rhythm, open_tickets
from assistant.summary import AUTO_GENERATED, Summary

log = logging.getLogger("assistant.checkpoints")

EVERY_SECONDS = 60
SUMMARY = "manager_summary"
LOOK_BACK_DAYS = 14             # how far back a missed summary time is still worth sending
QUARTER = timedelta(minutes=15)


@dataclass
class Done:
    """What one run did, for the log and for tests."""

    reports: list[int] = field(default_factory=list)     # ticket ids given a progress report
    missed: int = 0                                      # promises found missed
    alerts: int = 0
    summaries: int = 0                                   # summary mails queued


class Checkpoints:
    """Built once by the App: `jobs()` for the daemon, `run_due()` for everything due now."""

    def __init__(self, app):
        self.app = app
        self.timetable = timetable.load(app.settings.rules_dir)
        self.rhythm = Rhythm(app.sla)
        self.summary = Summary(app, self.timetable, self.rhythm)
        self.alerts = Alerts(app, self.timetable, self.rhythm)

    def jobs(self):
        """The daemon's jobs: each registers itself on the daemon's own Scheduler."""
        def every_minute(scheduler, guard=lambda job: job):
            # `guard` lets the daemon run it only while it holds the schedule's lease.
            scheduler.every(EVERY_SECONDS).seconds.do(guard(self.run_due))
        return (every_minute,)

    def run_due(self) -> Done:
        """Everything due at the clock's time; one failing step never stops the others."""
        now, done = self.app.clock(), Done()
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
        with self.app.store.session() as session:
            done.missed = len(promises.settle(session, now))

    # -- progress reports -------------------------------------------------------------------
    def due_reports(self, session: Session, now: datetime) -> list[tuple[OpenTicket, datetime]]:
        """Open tickets whose checkpoint is near enough to write the report, with the checkpoint."""
        upcoming = promises.owed_by_ticket(session, now - timedelta(days=LOOK_BACK_DAYS))
        due = []
        for page in open_tickets(session):
            for ticket in page:
                if ticket.status in self.timetable.quiet_statuses or ticket.untouched_history:
                    continue
                checkpoint = self.rhythm.checkpoint(ticket, upcoming.get(ticket.id))
                earliest = max(checkpoint - self._ahead(ticket),
                               ticket.last_contact + self.timetable.min_gap)
                if now >= earliest:
                    due.append((ticket, checkpoint))
        return due

    def _ahead(self, ticket: OpenTicket) -> timedelta:
        # Never so early that reports come at half their cadence: a quarter of it at most.
        return min(self.timetable.ahead(ticket.priority, ticket.critical),
                   self.rhythm.cadence(ticket) / 4)

    def _reports(self, now: datetime, done: Done) -> None:
        with self.app.store.session() as session:
            due = self.due_reports(session, now)
        for ticket, checkpoint in due:
            try:
                with self.app.store.session() as session:
                    if self.write_report(session, ticket, checkpoint, now):
                        done.reports.append(ticket.id)
            except Exception:  # noqa: BLE001 - one ticket's trouble never holds up the rest
                log.exception("checkpoints: %s: the progress report failed", ticket.tag)

    def write_report(self, session: Session, ticket: OpenTicket, checkpoint: datetime,
                     now: datetime) -> Draft | None:
        """The progress report for one checkpoint, sent or put to the consultant; once only."""
        if session.exec(select(ProgressCheckpoint.id).where(
                ProgressCheckpoint.ticket_id == ticket.id,
                ProgressCheckpoint.due == checkpoint)).first() is not None:
            return None
        row = session.get(Ticket, ticket.id)
        entries = self._news(session, ticket.id)
        mode = self.timetable.mode(ticket.priority, ticket.critical)
        if any(e.source == "mail" for e in entries):
            # Words that came by mail, however they were checked, reach a client only
            # through a consultant's review.
            mode = "approve"
        draft = self.app.follow.make_draft(
            session, row, "progress", now, automatic=mode == "auto",
            extra={"done": [e.text for e in entries if e.kind == "done"],
                   "next_steps": [e.text for e in entries if e.kind == "next"],
                   # A client who never got a letter from us is not told "since our last email".
                   "first_letter": row.client_last_heard_at is None,
                   "next_contact_at": self.next_checkpoint(ticket, now, checkpoint)})
        session.add(ProgressCheckpoint(ticket_id=ticket.id, due=checkpoint, draft_id=draft.id,
                                       created_at=now))
        if mode == "auto" and draft.findings == "[]":
            approval._set(session, draft, "approved", promises.ASSISTANT, now)
            self.send_on_its_own(session, draft, now)
            log.info("checkpoints: %s progress report %d %s on its own (checkpoint %s)",
                     ticket.tag, draft.id, draft.status, checkpoint.isoformat())
        else:
            self.app.follow.ask_approval(session, draft, None, now)
            log.info("checkpoints: %s progress report %d waits for %s", ticket.tag, draft.id,
                     draft.consultant or "a consultant")
        return draft

    def news(self, session: Session, ticket_id: int) -> tuple[list[str], list[str]]:
        """(done, next steps): visible work-log entries since the last progress report sent."""
        entries = self._news(session, ticket_id)
        return ([e.text for e in entries if e.kind == "done"],
                [e.text for e in entries if e.kind == "next"])

    def _news(self, session: Session, ticket_id: int) -> list:
        last = session.exec(select(Draft.created_at).where(
            Draft.ticket_id == ticket_id, Draft.situation == "progress", Draft.status == "sent")
            .order_by(Draft.created_at.desc())).first()
        return worklog.entries_since(session, [ticket_id], last, visible_only=True).get(ticket_id, [])

    def next_checkpoint(self, ticket: OpenTicket, now: datetime,
                        served: datetime | None = None) -> datetime:
        """The time the report promises: one cadence on, rounded down to a quarter hour, so
        the letter names 16:45 rather than 16:52 and never a minute later than the cadence.

        Rounding down never lands in the past, nor on the checkpoint this report `served`
        (the next report would then wait for a checkpoint already done): with a cadence
        shorter than the rounding, the time is rounded up to the next quarter hour instead.
        """
        floor = max(now, served) if served else now
        moment = self.rhythm.after_cadence(ticket, now)
        down = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
        if down > floor:
            return down
        up = down + QUARTER
        while up <= floor:
            up += QUARTER
        return up

    def send_on_its_own(self, session: Session, draft: Draft, now: datetime) -> None:
        """Queue a report nobody had to approve.

        It is a scheduled report, not an answer to the client's mail: RFC 3834 §5 marks it
        auto-generated, and the per-sender cap on auto-replies (a guard against mail loops,
        which a timed report cannot start) does not count it.
        """
        follow = self.app.follow
        signer = follow.signer(session)
        letter = approval.letter_for(session, draft, signer.message_id(draft.ticket_id, follow.domain),
                                     follow.from_name(session, draft))
        letter = replace(letter, extra_headers=AUTO_GENERATED)
        row = follow.outbox.queue(session, letter, kind="progress", ticket_id=draft.ticket_id,
                                  draft_id=draft.id)
        if row.status == "blocked":
            approval._set(session, draft, "blocked", promises.ASSISTANT, now)
            return
        session.add(Message(message_id=row.message_id, content_hash="", ticket_id=draft.ticket_id,
                            direction="out", fate="sent", from_address=self.app.settings.support.address,
                            from_name=letter.from_name, to_addresses=row.recipients,
                            subject=draft.subject, in_reply_to=letter.in_reply_to,
                            visible_text=draft.text, text=draft.text, received_at=now))

    # -- alerts -----------------------------------------------------------------------------
    def _alerts(self, now: datetime, done: Done) -> None:
        with self.app.store.session() as session:
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
        with self.app.store.session() as session:
            run = session.exec(select(ScheduleRun).where(ScheduleRun.name == SUMMARY)
                               .with_for_update()).one()
            if slot is None or (run.last_run_at is not None and run.last_run_at >= slot):
                return
            done.summaries = len(self.send_summary(session, now, run.last_run_at))
            run.last_run_at = now

    def _first_run(self, now: datetime) -> bool:
        """False the first time: the summary's record is made, starting from now."""
        with self.app.store.session() as session:
            if session.get(ScheduleRun, SUMMARY) is not None:
                return True
        try:
            with self.app.store.session() as session:
                session.add(ScheduleRun(name=SUMMARY, last_run_at=now))
            log.info("checkpoints: the first manager summary goes out after %s",
                     self.next_slot(now).isoformat())
        except IntegrityError:
            pass                       # another daemon made it a moment ago
        return False

    def send_summary(self, session: Session, now: datetime, since: datetime | None) -> list:
        """Queue the summary for every group of readers; returns the outbox rows."""
        letters = self.summary.letters(session, now, since, self.next_slot(now))
        return [self.app.follow.outbox.queue(session, letter, kind="summary") for letter in letters]

    def last_summary_at(self, session: Session) -> datetime | None:
        run = session.get(ScheduleRun, SUMMARY)
        return run.last_run_at if run else None

    def _slots(self, now: datetime, days: range, backwards: bool):
        """Summary times on the calendar's working days, in the order the walk goes: a walk
        backwards takes each day's times latest first, a walk forwards earliest first."""
        calendar = self.app.sla.rules.calendars[
            self.timetable.summary_calendar or self.app.sla.rules.default_calendar]
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
