"""Progress reports: at each open ticket's checkpoint the client hears what was done and what next.

A ticket's checkpoint follows from when the client last heard from us and the times we
promised (schedule/rhythm.py). The report is written a little ahead of it, from the work
log's visible entries since the last report; it goes out on its own when the timetable
says so and the tone checker finds nothing, else it waits for the ticket's consultant.
A report is written once per checkpoint, however often the schedule runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from assistant.policy.timetable import Timetable
from assistant.replies.compose import Composer
from assistant.replies.dispatch import Dispatcher
from assistant.replies.review import Review
from assistant.schedule.rhythm import OpenTicket, Rhythm, open_tickets
from assistant.store.database import Store
from assistant.store.models import Draft, ProgressCheckpoint, Ticket
from assistant.store.states import DraftStatus
from assistant.tickets import promises, worklog

log = logging.getLogger("assistant.schedule.progress")

LOOK_BACK_DAYS = 14             # how far back a missed promise still calls for its letter
QUARTER = timedelta(minutes=15)


@dataclass(eq=False)
class ProgressReports:
    """Finds the tickets whose checkpoint is near and writes each one's report."""

    store: Store
    clock: Callable[[], datetime]
    _: KW_ONLY
    timetable: Timetable
    rhythm: Rhythm
    composer: Composer
    dispatcher: Dispatcher
    review: Review

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

    def write_due(self, now: datetime) -> list[int]:
        """Write every report due now; returns the tickets given one."""
        with self.store.session() as session:
            due = self.due_reports(session, now)
        written = []
        for ticket, checkpoint in due:
            try:
                with self.store.session() as session:
                    if self.write_report(session, ticket, checkpoint, now):
                        written.append(ticket.id)
            except Exception:  # noqa: BLE001 - one ticket's trouble never holds up the rest
                log.exception("progress: %s: the progress report failed", ticket.tag)
        return written

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
        draft = self.composer.draft(
            session, row, "progress", now, automatic=mode == "auto",
            extra={"done": [e.text for e in entries if e.kind == "done"],
                   "next_steps": [e.text for e in entries if e.kind == "next"],
                   # A client who never got a letter from us is not told "since our last email".
                   "first_letter": row.client_last_heard_at is None,
                   "next_contact_at": self.next_checkpoint(ticket, now, checkpoint)})
        session.add(ProgressCheckpoint(ticket_id=ticket.id, due=checkpoint, draft_id=draft.id,
                                       created_at=now))
        if mode == "auto" and draft.findings == "[]":
            self.dispatcher.send_on_its_own(session, draft, now, scheduled=True)
            log.info("progress: %s progress report %d %s on its own (checkpoint %s)",
                     ticket.tag, draft.id, draft.status, checkpoint.isoformat())
        else:
            self.review.ask(session, draft, None, now)
            log.info("progress: %s progress report %d waits for %s", ticket.tag, draft.id,
                     draft.consultant or "a consultant")
        return draft

    def news(self, session: Session, ticket_id: int) -> tuple[list[str], list[str]]:
        """(done, next steps): visible work-log entries since the last progress report sent."""
        entries = self._news(session, ticket_id)
        return ([e.text for e in entries if e.kind == "done"],
                [e.text for e in entries if e.kind == "next"])

    def _news(self, session: Session, ticket_id: int) -> list:
        last = session.exec(select(Draft.created_at).where(
            Draft.ticket_id == ticket_id, Draft.situation == "progress", Draft.status == DraftStatus.SENT)
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
