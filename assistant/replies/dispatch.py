"""An approved draft on its way to the client: queued once, recorded on the ticket, followed up."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from assistant.config import Settings
from assistant.replies import approval
from assistant.replies.context import name_in
from assistant.store.database import Store
from assistant.store.models import Draft, Message, OutboxMail
from assistant.store.states import Direction, DraftStatus, Fate, MailKind, OutboxStatus
from assistant.tickets import promises
from assistant.tickets.conversation import Signatures
from assistant.transport.outbox import AUTO_GENERATED, Outbox

log = logging.getLogger("assistant.replies.dispatch")


@dataclass(eq=False)
class Dispatcher:
    """The one way a client's letter leaves: `send` for an approved draft, `send_on_its_own`
    for one the rules let go without review, `after_sent` once the server took it."""

    settings: Settings
    store: Store
    clock: Callable[[], datetime]
    outbox: Outbox
    signatures: Signatures

    def __post_init__(self):
        self.domain = self.settings.support.domain

    def send_on_its_own(self, session: Session, draft: Draft, now: datetime, *,
                        scheduled: bool = False) -> OutboxMail:
        """Approve the draft in the assistant's name and queue it.

        A `scheduled` letter (a progress report) answers no mail of the client's: RFC 3834
        §5 marks it auto-generated, and the per-sender cap on auto-replies, a guard against
        mail loops that a timed report cannot start, does not count it.
        """
        approval._set(session, draft, DraftStatus.APPROVED, promises.ASSISTANT, now)
        return self.send(session, draft, now, scheduled=scheduled)

    def send(self, session: Session, draft: Draft, now: datetime, *,
             scheduled: bool = False) -> OutboxMail:
        """Queue an approved draft for the client and record it on the ticket.

        When the outbox refuses it (a cap, a no-reply address) the draft is "blocked", not
        left "approved": the client never got it, and nothing may later say they did.
        """
        signer = self.signatures(session)
        from_name = self.from_name(session, draft)
        letter = approval.letter_for(session, draft, signer.message_id(draft.ticket_id, self.domain),
                                     from_name, automatic=draft.automatic and not scheduled,
                                     extra_headers=AUTO_GENERATED if scheduled else ())
        row = self.outbox.queue(session, letter, kind=MailKind.of_situation(draft.situation),
                                ticket_id=draft.ticket_id, draft_id=draft.id)
        if row.status == OutboxStatus.BLOCKED:
            approval._set(session, draft, DraftStatus.BLOCKED, draft.decided_by or promises.ASSISTANT, now)
            log.warning("dispatch: draft %d for #%d blocked: %s", draft.id, draft.ticket_id,
                        row.last_error)
            return row
        session.add(Message(message_id=row.message_id, content_hash="", ticket_id=draft.ticket_id,
                            direction=Direction.OUT, fate=Fate.SENT, from_address=self.settings.support.address,
                            from_name=from_name, to_addresses=row.recipients, subject=draft.subject,
                            in_reply_to=letter.in_reply_to, visible_text=draft.text, text=draft.text,
                            received_at=now))
        return row

    def from_name(self, session: Session, draft: Draft) -> str:
        """"Мария Иванова, Служба поддержки", or the team alone for a letter that went out on
        its own in the name of nobody who knows the ticket yet."""
        people = {p.email: p for p in self.settings.consultants}
        consultant = people.get(draft.decided_by or "") or people.get(draft.consultant or "")
        if draft.decided_by == promises.ASSISTANT and not promises.knows(
                session, draft.ticket_id, draft.consultant):
            consultant = None
        team = self.settings.support_name(draft.language)
        return f"{name_in(consultant, draft.language)}, {team}" if consultant else team

    def after_sent(self, row: OutboxMail) -> None:
        """The server took the letter: the ticket learns the client heard from us, and the
        time the letter names becomes a promise (earlier ones are kept or missed)."""
        if row.draft_id is None or row.kind == MailKind.APPROVAL_REQUEST:
            return
        with self.store.session() as session:
            draft = session.get(Draft, row.draft_id)
            approval.after_sending(session, draft, self.clock())
            promises.record(session, draft, self.clock())
