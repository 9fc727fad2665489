"""The assembled assistant: settings, store and stages built once, passed explicitly."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from functools import cached_property

from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.models import utcnow
from assistant.store import Store, open_store

# The walk and intake pull in spaCy and the language pipelines (most of a second to
# import): they are imported where mail is read, so `assistant tickets`, `outbox`,
# `status` and `quarantine list` answer at once.
if TYPE_CHECKING:
    from assistant.sources import RawMail
    from assistant.walk import Clock, Outcome, Tally, Walk

log = logging.getLogger("assistant.app")

BATCH = 200   # messages per commit on import: WAL + one fsync per batch, not per message


class App:
    """Builds each part on first use, so `assistant parse` never opens a database."""

    def __init__(self, settings: Settings, clock: Clock = utcnow):
        self.settings = settings
        self.clock = clock
        # New tickets from the mailbox are acknowledged; `assistant import` of old mail is not.
        self.acknowledge_new_tickets = True

    @cached_property
    def store(self) -> Store:
        return open_store(self.settings.database_url)

    @cached_property
    def pipelines(self):
        from assistant.language import Pipelines
        return Pipelines()

    @cached_property
    def triage(self):
        from assistant.triage import Triage
        return Triage(self.settings, self.pipelines)

    @cached_property
    def sla(self):
        from assistant.sla import SlaBook
        return SlaBook.load(self.settings.rules_dir)

    @cached_property
    def tone(self):
        from assistant.tone import ToneChecker
        return ToneChecker(self.settings.rules_dir, self.pipelines)

    @cached_property
    def drafter(self):
        from assistant.drafting import Drafter
        return Drafter(self.settings.templates_dir, self.tone)

    @cached_property
    def assessor(self):
        from assistant.assessment import Assessor
        # Inside the walk only a note is made; the letters are written after the commit:
        # on-call alerts by `follow.acknowledge_due` (oncall.py), owner requests by `pending`.
        return Assessor(
            self.settings, self.triage, self.sla,
            on_critical=lambda session, ticket, now: self.follow.on_critical(session, ticket, now),
            on_access=lambda session, ticket, owner, now: self.pending.record(
                session, ticket, "access_request", now, detail=owner))

    @cached_property
    def pending(self):
        from assistant.pending import PendingNotices
        return PendingNotices(self.store, self.clock, {
            "access_request": lambda session, ticket, owner, now:
                self.follow.access.ask(session, ticket, owner, now)})

    @cached_property
    def follow(self):
        from assistant.followup import FollowUps
        return FollowUps(self)

    @cached_property
    def understanding(self):
        from assistant.prework import Understanding
        return Understanding(self.settings, triage=lambda: self.triage)

    @cached_property
    def walk(self) -> Walk:
        from assistant.walk import Walk
        return Walk(self.settings, self.store, clock=self.clock, assessor=self.assessor,
                    follow_ups=self.follow.steps(), interceptors=self.follow.interceptors(),
                    after_commit=(self.pending.write_due,))

    @cached_property
    def drafts(self):
        from assistant.drafts import Drafts
        return Drafts(self)

    @cached_property
    def checkpoints(self):
        from assistant.checkpoints import Checkpoints
        return Checkpoints(self)

    def schedules(self):
        """The daemon's scheduled jobs: each a callable that registers itself on a Scheduler."""
        return self.checkpoints.jobs()

    @cached_property
    def desk(self):
        from assistant.desk import Desk
        return Desk(self)

    def import_mail(self, mails: Iterable[RawMail],
                    progress: Callable[[], None] = lambda: None) -> Tally:
        """Walk every mail; commits once per batch so a crash loses at most an uncommitted batch,
        which a rerun reads again without doubling anything."""
        from assistant.walk import Tally
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
        from assistant import intake
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

    # Consultant-facing operations live on the desk; these keep the CLI short.
    def ticket_rows(self, include_closed: bool = False) -> list[dict]:
        return self.desk.ticket_rows(include_closed)

    def ticket_detail(self, number: int) -> dict:
        return self.desk.ticket_detail(number)

    def change_ticket(self, number: int, changes: dict[str, str], who: str, why: str) -> list[str]:
        return self.desk.change_ticket(number, changes, who, why)

    def quarantine_rows(self) -> list[dict]:
        return self.desk.quarantine_rows()

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
