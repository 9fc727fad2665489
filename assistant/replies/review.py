"""A draft before its consultant: the approval request, their verdict, and a word back to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from assistant.mail import quoting
from assistant.replies import approval
from assistant.replies.context import last_client_message
from assistant.replies.dispatch import Dispatcher
from assistant.replies.staff import StaffMail
from assistant.store.models import Client, Draft, Ticket, TicketChange
from assistant.store.states import DraftStatus, MailKind

if TYPE_CHECKING:       # the mail parser is loaded where mail is read
    from assistant.mail.intake import Incoming

log = logging.getLogger("assistant.replies.review")

# (text, language) -> tone findings: an edited text is checked again before it may go.
FindingsOf = Callable[[str, str | None], list]


class Review:
    """Puts drafts to consultants by mail and applies their word, from mail, CLI or page."""

    def __init__(self, staff: StaffMail, dispatcher: Dispatcher, findings_of: FindingsOf):
        self.staff = staff
        self.dispatcher = dispatcher
        self.findings_of = findings_of
        self.domain = dispatcher.domain

    def ask(self, session: Session, draft: Draft, mail: Incoming | None, now: datetime) -> None:
        """Mail the draft to its consultant; their reply approves, edits or rejects it."""
        if not draft.consultant:
            log.info("review: draft %d waits in `assistant drafts` (no consultant configured)",
                     draft.id)
            return
        person = self.staff.person(draft.consultant)
        if person is None:
            log.warning("review: draft %d: %s is not a configured consultant; it waits in "
                        "`assistant drafts`", draft.id, draft.consultant)
            return
        ticket = session.get(Ticket, draft.ticket_id)
        client = session.get(Client, ticket.client_id)
        if mail is None:
            last = last_client_message(session, ticket)
            client_text = quoting.own_words(last.visible_text or last.text) if last else ""
        else:
            client_text = mail.visible_text
        lang = person.languages[0]
        self.staff.send(
            session, (person.email,), "approval_request", lang,
            message_id=approval.approval_message_id(draft, self.domain),
            kind=MailKind.APPROVAL_REQUEST, ticket_id=ticket.id, draft_id=draft.id,
            ticket=ticket, client=client, draft=draft, consultant=person,
            person=self.staff.greeting_name(person.email, lang), client_text=client_text,
            findings=json.loads(draft.findings), code=f"d{draft.id}-{draft.token}")

    def decide(self, session: Session, draft: Draft, verdict: approval.Verdict, who: str,
               now: datetime) -> approval.Decision:
        """Apply a verdict to a draft; of several at once (mail, CLI, page) one wins.

        The draft's row is read again under a lock (SELECT ... FOR UPDATE): a second
        decision waits for the first to commit, then sees it, and `approval.decide` refuses
        it with who decided and when.
        """
        session.refresh(draft, with_for_update=True)
        said = approval.decide(session, draft, verdict, who, now, self.findings_of)
        if said.kind is approval.DecisionKind.APPROVED:
            self.dispatcher.send(session, draft, now)
            if draft.status == DraftStatus.BLOCKED:
                said = approval.Decision(approval.DecisionKind.BLOCKED,
                                         "blocked: the outbox refused it (see `assistant outbox`)")
        elif said.kind is approval.DecisionKind.HELD and verdict.action == "edit":
            self.ask(session, draft, None, now)
        elif verdict.action == "unclear":
            self.tell(session, draft, "approval_question", now, reason=verdict.text)
        return said

    def tell(self, session: Session, draft: Draft, notice: str, now: datetime, **values) -> None:
        """A short mail to the draft's consultant about their answer; replying to it still
        decides the draft (its Message-ID carries the token)."""
        person = self.staff.person(draft.consultant)
        if person is None:
            return
        ticket = session.get(Ticket, draft.ticket_id)
        lang = person.languages[0]
        self.staff.send(session, (person.email,), notice, lang,
                        message_id=approval.approval_message_id(draft, self.domain),
                        kind=MailKind.APPROVAL_REQUEST, ticket_id=ticket.id, draft_id=draft.id,
                        ticket=ticket, draft=draft,
                        person=self.staff.greeting_name(person.email, lang), **values)

    def note_refusal(self, session: Session, draft: Draft, who: str, why: str,
                     now: datetime) -> None:
        """Keep on the ticket that an approval by mail was refused, and why."""
        # Recorded by the assistant, not in the sender's name: the sender may be a forger,
        # and a change in a consultant's name would count as them knowing the ticket.
        session.add(TicketChange(ticket_id=draft.ticket_id, field=f"draft {draft.id}",
                                 old=draft.status, new=draft.status,
                                 why=f"approval by mail from {who} refused: {why}", at=now))
