"""The assembled assistant: settings, store and stages built once, passed explicitly."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import cached_property
from typing import TYPE_CHECKING

from assistant.clock import Clock, utcnow
from assistant.config import Settings
from assistant.policy import timetable
from assistant.policy.sla import SlaBook
from assistant.policy.timetable import Timetable
from assistant.store.glance import Glance
from assistant.store.states import MailKind

# Only what the look-ups need is imported above: `assistant tickets`, `tickets show`,
# `drafts`, `outbox`, `status` and `quarantine list` read through store.glance and must
# answer at once, without SQLAlchemy (tests/test_operations.py checks what they load).
# Every other part is imported where it is built ("lazy" below): the store brings
# SQLAlchemy and SQLModel, letters Jinja2 and Babel, sending smtplib, the walk and the
# tone checker spaCy.
if TYPE_CHECKING:
    from assistant.desk.drafts import Drafts
    from assistant.desk.outbox import OutboxDesk
    from assistant.desk.tickets import Desk
    from assistant.policy.language import Pipelines
    from assistant.policy.tone import ToneChecker
    from assistant.policy.triage import Triage
    from assistant.replies.acknowledge import Acknowledgements
    from assistant.replies.compose import Composer
    from assistant.replies.dispatch import Dispatcher
    from assistant.replies.oncall import OnCall
    from assistant.replies.pending import PendingNotices
    from assistant.replies.render import Drafter
    from assistant.replies.review import Review
    from assistant.replies.staff import StaffMail
    from assistant.schedule.jobs import Checkpoints
    from assistant.store.database import Store
    from assistant.tickets.access import OwnerRequest
    from assistant.tickets.assessment import Assessor
    from assistant.tickets.conversation import Signatures
    from assistant.tickets.worklog import WorkLog
    from assistant.transport.files import RawMail
    from assistant.transport.outbox import Outbox
    from assistant.walk.passage import Outcome, Tally
    from assistant.walk.pipeline import Walk
    from assistant.walk.workers import Understanding

log = logging.getLogger("assistant.app")

BATCH = 200   # messages per commit on import: WAL + one fsync per batch, not per message


class App:
    """The composition root: builds each part once, on first use, and hands every part exactly
    the parts it works with. Nothing below App reaches back into it.

    Parts are built lazily so `assistant parse` never opens a database and `assistant
    tickets` never loads the language pipelines or the templates.
    """

    def __init__(self, settings: Settings, clock: Clock = utcnow):
        self.settings = settings
        self.clock = clock

    # -- storage and rules ----------------------------------------------------------------
    @cached_property
    def store(self) -> Store:
        from assistant.store.database import open_store     # lazy: loads SQLAlchemy
        return open_store(self.settings.database_url)

    @cached_property
    def glance(self) -> Glance:
        """Tickets, drafts, outbox, quarantine and health, read without the ORM: straight
        over the driver while nothing else has opened the database, over the store's
        connections once it is open; through the store when the schema must migrate first."""
        if "store" not in self.__dict__:
            found = Glance.open(self.settings.database_url)
            if found is not None:
                return found
        return Glance.over(self.store)

    @cached_property
    def pipelines(self) -> Pipelines:
        from assistant.policy.language import Pipelines     # lazy: loads spaCy
        return Pipelines()

    @cached_property
    def triage(self) -> Triage:
        from assistant.policy.triage import Triage          # lazy: loads spaCy
        return Triage(self.settings, self.pipelines)

    @cached_property
    def sla(self) -> SlaBook:
        return SlaBook.load(self.settings.rules_dir)

    @cached_property
    def timetable(self) -> Timetable:
        return timetable.load(self.settings.rules_dir)

    @cached_property
    def tone(self) -> ToneChecker:
        from assistant.policy.tone import ToneChecker       # lazy: loads spaCy
        return ToneChecker(self.settings.rules_dir, self.pipelines)

    @cached_property
    def drafter(self) -> Drafter:
        from assistant.replies.render import Drafter        # lazy: loads Jinja2
        return Drafter(self.settings.templates_dir, self.tone)

    # -- letters --------------------------------------------------------------------------
    @cached_property
    def signatures(self) -> Signatures:
        from assistant.tickets.conversation import Signatures   # lazy: loads SQLAlchemy
        return Signatures(self.settings)

    @cached_property
    def outbox(self) -> Outbox:
        from assistant.transport.outbox import Outbox       # lazy: only where mail is sent
        return Outbox(self.settings, self.store, self.clock)

    @cached_property
    def staff(self) -> StaffMail:
        from assistant.replies.notices import Notices       # lazy: loads Jinja2
        from assistant.replies.staff import StaffMail       # lazy: loads Jinja2
        return StaffMail(self.settings, Notices(self.settings.templates_dir), self.outbox)

    @cached_property
    def composer(self) -> Composer:
        from assistant.replies.compose import Composer      # lazy: loads Jinja2
        return Composer(self.settings, self.sla, self.drafter)

    @cached_property
    def dispatcher(self) -> Dispatcher:
        from assistant.replies.dispatch import Dispatcher   # lazy: only where replies are sent
        return Dispatcher(self.settings, self.store, self.clock, self.outbox, self.signatures)

    @cached_property
    def review(self) -> Review:
        from assistant.replies.review import Review         # lazy: loads Jinja2
        return Review(self.staff, self.dispatcher, self.tone.check)

    @cached_property
    def acknowledgements(self) -> Acknowledgements:
        from assistant.replies.acknowledge import Acknowledgements  # lazy: loads Jinja2
        return Acknowledgements(self.settings, self.store, self.clock, self.composer,
                                self.dispatcher, self.review)

    @cached_property
    def oncall(self) -> OnCall:
        from assistant.replies.oncall import OnCall         # lazy: loads Jinja2
        return OnCall(self.settings, self.staff, self.signatures, self.sla, self.timetable)

    @cached_property
    def owner_requests(self) -> OwnerRequest:
        from assistant.tickets.access import OwnerRequest   # lazy: loads Jinja2
        return OwnerRequest(self.staff, self.signatures)

    @cached_property
    def pending(self) -> PendingNotices:
        from assistant.replies.pending import PendingNotices     # lazy: loads SQLAlchemy
        # Inside the walk only a note is made; the owner's letter is written after the commit,
        # and only then are the letter's parts built (`outbox list` reads the notes alone).
        return PendingNotices(self.store, self.clock, {
            MailKind.ACCESS_REQUEST: lambda session, ticket, owner, now: self.owner_requests.ask(
                session, ticket, owner, now)})

    def write_letters_due(self, limit: int = 500) -> int:
        """The letters the walk left due: acknowledgements of new tickets and requests to
        business owners (up to `limit` of each), then on-call alerts of critical tickets,
        whose consultant is known by then. Returns how many of the first two were written,
        so a caller writing in rounds goes on while that reaches `limit`."""
        done = self.acknowledgements.write_due(limit) + self.pending.write_due(limit)
        try:
            with self.store.session() as session:
                self.oncall.send_due(session, self.clock())
        except Exception:  # noqa: BLE001 - alerts are retried next round; the log says why
            log.exception("app: on-call alerts not sent; trying again next round")
        return done

    # -- the walk ---------------------------------------------------------------------------
    @cached_property
    def assessor(self) -> Assessor:
        from assistant.tickets.assessment import Assessor       # lazy: loads SQLAlchemy
        return Assessor(
            self.settings, self.triage, self.sla, on_critical=self.oncall.mark,
            on_access=lambda session, ticket, owner, now: self.pending.record(
                session, ticket, MailKind.ACCESS_REQUEST, now, detail=owner))

    @cached_property
    def understanding(self) -> Understanding:
        from assistant.walk.workers import Understanding    # lazy: only where mail is read
        return Understanding(self.settings, triage=lambda: self.triage)

    @cached_property
    def walk(self) -> Walk:
        from assistant.walk.pipeline import Walk, WalkParts  # lazy: only where mail is read
        parts = WalkParts(settings=self.settings, signatures=self.signatures, triage=self.triage,
                          assessor=self.assessor, sla=self.sla, staff=self.staff, review=self.review)
        return Walk(self.settings, self.store, parts, clock=self.clock,
                    after_commit=(self.pending.write_due,))

    # -- schedule and desk ------------------------------------------------------------------
    @cached_property
    def checkpoints(self) -> Checkpoints:
        from assistant.schedule.alerts import Alerts        # lazy: loads Jinja2
        from assistant.schedule.jobs import Checkpoints     # lazy: loads Jinja2 and Babel
        from assistant.schedule.progress import ProgressReports  # lazy: loads Jinja2
        from assistant.schedule.rhythm import Rhythm        # lazy: loads SQLAlchemy
        from assistant.schedule.summary import Summary      # lazy: loads Babel
        rhythm = Rhythm(self.sla)
        progress = ProgressReports(self.store, self.clock, timetable=self.timetable, rhythm=rhythm,
                                   composer=self.composer, dispatcher=self.dispatcher,
                                   review=self.review)
        return Checkpoints(
            self.store, self.clock, sla=self.sla, timetable=self.timetable, outbox=self.outbox,
            progress=progress,
            summary=Summary(self.settings, self.timetable, rhythm, self.drafter.env),
            alerts=Alerts(self.settings, self.timetable, rhythm, self.sla, self.staff,
                          self.signatures))

    def schedules(self):
        """The daemon's scheduled jobs: each a callable that registers itself on a Scheduler."""
        return self.checkpoints.jobs()

    @cached_property
    def desk(self) -> Desk:
        from assistant.desk.tickets import Desk             # lazy: loads SQLAlchemy
        return Desk(self.settings, self.store, self.clock, self.sla, lambda: self.walk)

    @cached_property
    def drafts(self) -> Drafts:
        from assistant.desk.drafts import Drafts  # lazy: verdict rules and smtplib, for drafts only
        # Listing and showing drafts reads rows; the template, tone and review parts are
        # built when a draft is written or decided.
        return Drafts(self.store, self.clock, self.settings, drafter=lambda: self.drafter,
                      composer=lambda: self.composer, review=lambda: self.review)

    @cached_property
    def outbox_desk(self) -> OutboxDesk:
        from assistant.desk.outbox import OutboxDesk        # lazy: loads SQLAlchemy
        return OutboxDesk(self.store, self.clock)

    @cached_property
    def worklog(self) -> WorkLog:
        from assistant.tickets.worklog import WorkLog       # lazy: loads SQLAlchemy
        return WorkLog(self.settings, self.store, self.clock)

    def import_mail(self, mails: Iterable[RawMail],
                    progress: Callable[[], None] = lambda: None) -> Tally:
        """Walk every mail; commits once per batch so a crash loses at most an uncommitted batch,
        which a rerun reads again without doubling anything."""
        from assistant.walk.passage import Tally            # lazy: only where mail is read
        tally = Tally()
        try:
            for batch in _batches(mails, BATCH):
                understood = self.understanding.understand([m.raw for m in batch], self.clock())
                with self.store.session() as session:
                    messages = [(mail.raw, mail.source) for mail in batch]
                    for outcome in self.walk.process_batch(session, messages, understood):
                        tally.add(outcome)
                        progress()
                self.walk.run_after_commit()
        finally:
            self.understanding.close()
        return tally

    def understand(self, raw: bytes, name: str) -> dict:
        """What `parse --json` prints for one message; nothing is stored."""
        from assistant.mail import intake           # lazy: only where mail is read
        mail = intake.parse(raw, own_addresses=self.settings.support_addresses,
                            max_attachment_bytes=self.settings.storage.max_attachment_bytes)
        verdict = self.triage.assess(mail.subject, mail.visible_text or mail.text,
                                     importance=mail.importance, now=self.clock(),
                                     default_language=self.settings.support.language,
                                     tz=self.settings.support.timezone)
        return {
            "file": name, "message_id": mail.message_id,
            "from": mail.from_address, "from_name": mail.from_name,
            "to": list(mail.to), "cc": list(mail.cc),
            "subject": mail.subject, "date": mail.date.isoformat() if mail.date else None,
            "language": verdict.language, "priority": verdict.priority,
            "critical": verdict.critical, "category": verdict.category,
            "priority_reasons": [{"rule": r.rule, "text": r.text, "effect": r.effect}
                                 for r in verdict.reasons],
            "client_deadline": verdict.client_deadline.isoformat() if verdict.client_deadline else None,
            "impact": verdict.impact.as_dict(), "urgency": verdict.urgency.as_dict(),
            "visible_text": mail.visible_text,
            "auto_reply": mail.auto_reply, "bounce": mail.bounce,
            "mailing_list": mail.mailing_list, "loop": mail.loop,
            "attachments": [{"name": p.filename, "type": p.content_type, "size": p.size}
                            for p in mail.attachments],
            "notes": list(mail.notes),
        }

    # What consultants look at is read by the glance, what they change by the desk; these
    # keep the CLI and the web short.
    def ticket_rows(self, include_closed: bool = False) -> list[dict]:
        return self.glance.tickets(self.clock(), self.settings.support.timezone, include_closed)

    def outbox_rows(self, include_sent: bool = False) -> list[dict]:
        return self.glance.outbox(include_sent)

    def ticket_detail(self, number: int) -> dict:
        return self.glance.ticket(number, self.clock(), self.settings.support.timezone)

    def draft_rows(self, include_done: bool = False) -> list[dict]:
        return self.glance.drafts(include_done)

    def change_ticket(self, number: int, changes: dict[str, str], who: str, why: str) -> list[str]:
        return self.desk.change_ticket(number, changes, who, why)

    def quarantine_rows(self) -> list[dict]:
        return self.glance.quarantine()

    def quarantine_detail(self, number: int) -> dict:
        return self.desk.quarantine_detail(number)

    def retry_quarantined(self, number: int, release: bool = False) -> Outcome:
        return self.desk.retry_quarantined(number, release)


def _batches(items: Iterable, size: int):
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
