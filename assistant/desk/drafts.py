"""Drafts at the consultant's desk: list, show, write from a template, edit, approve, reject."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import select

from assistant.config import Settings
from assistant.store.database import Store

from assistant.replies import approval
from assistant.tickets import state as ticketstate
from assistant.errors import NotFound, Rejected
from assistant.store.models import Draft, Ticket

if TYPE_CHECKING:       # templates and the tone checker: built when a draft is written or decided
    from assistant.replies.compose import Composer
    from assistant.replies.render import Drafter
    from assistant.replies.review import Review


@dataclass(eq=False)
class Drafts:
    """Listing and showing read rows only; the letter-writing parts (Jinja2, spaCy) are
    asked for when a draft is written or decided, so `assistant drafts` answers at once."""

    store: Store
    clock: Callable[[], datetime]
    settings: Settings
    drafter: Callable[[], Drafter]
    composer: Callable[[], Composer]
    review: Callable[[], Review]

    def of_ticket(self, ticket_id: int) -> list[dict]:
        """Every draft of a ticket, newest first, as `show` describes them."""
        with self.store.session() as session:
            ids = session.exec(select(Draft.id).where(Draft.ticket_id == ticket_id)
                               .order_by(Draft.id.desc())).all()
        return [self.show(number) for number in ids]

    def show(self, number: int) -> dict:
        with self.store.session() as session:
            draft = approval.get_draft(session, number)
        return {"id": draft.id, "ticket": draft.ticket_id, "situation": draft.situation,
                "version": approval.version_of(draft), "send_anyway": draft.send_anyway,
                "language": draft.language, "template": draft.template, "status": draft.status,
                "subject": draft.subject, "text": draft.text,
                "findings": json.loads(draft.findings), "consultant": draft.consultant,
                "edited_by": draft.edited_by, "decided_by": draft.decided_by}

    def new(self, ticket_id: int, situation: str, **extra) -> dict:
        """Draft `situation` for a ticket from its templates; the consultant is asked to approve."""
        now = self.clock()
        with self.store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket #{ticket_id}")
            offered = self.drafter().reply_situations()
            if situation not in offered:
                raise Rejected(f"no such situation {situation!r}; one of: " + ", ".join(offered)
                               + ("" if situation != "manager_summary"
                                  else " (the manager summary is `assistant report`)"))
            ticketstate.assign_if_unowned(ticket, ticketstate.pick_consultant(self.settings, ticket))
            draft = self.composer().draft(session, ticket, situation, now, extra)
            self.review().ask(session, draft, None, now)
            number = draft.id
        return self.show(number)

    def edit(self, number: int, text: str, who: str,
             expected: str | None = None) -> approval.Decision:
        return self._decide(number, approval.Verdict("edit", text), who, expected)

    def approve(self, number: int, who: str, anyway: bool = False,
                expected: str | None = None) -> approval.Decision:
        return self._decide(number, approval.Verdict("anyway" if anyway else "approve"), who,
                            expected)

    def reject(self, number: int, who: str, expected: str | None = None) -> approval.Decision:
        return self._decide(number, approval.Verdict("reject"), who, expected)

    def _decide(self, number: int, verdict: approval.Verdict, who: str,
                expected: str | None = None) -> approval.Decision:
        with self.store.session() as session:
            draft = approval.get_draft(session, number)
            approval.check_version(draft, expected)
            return self.review().decide(session, draft, verdict, who, self.clock())

    def act(self, number: int, action: str, text: str, who: str,
            expected: str | None) -> approval.Decision:
        """A button of the desk page on the text it shows: save, approve, anyway or reject.

        The same rules as approval by mail: an edited text is checked again, and one with
        tone findings is held unless the consultant says "send anyway". Raises Stale when
        the draft changed after the page showed it (`expected` is the version it showed).
        """
        if action not in ("save", "approve", "anyway", "reject"):
            raise Rejected(f"no such action {action!r}")
        with self.store.session() as session:
            draft = approval.get_draft(session, number)
            approval.check_version(draft, expected)
            if action == "reject":
                return self.review().decide(session, draft, approval.Verdict("reject"), who, self.clock())
            findings = approval.save(draft, text, who, self.review().findings_of)
            if action == "save":
                return approval.Decision(approval.DecisionKind.SAVED, f"saved; {len(findings)} tone "
                                         f"findings" if findings else "saved")
            if action == "approve" and findings:
                return approval.Decision(approval.DecisionKind.HELD, approval.HELD_FOR_TONE)
            verdict = approval.Verdict("anyway" if action == "anyway" else "approve")
            return self.review().decide(session, draft, verdict, who, self.clock())

    def version(self, number: int) -> str:
        """The draft's version now, as `act` and `approve` expect it."""
        with self.store.session() as session:
            return approval.version_of(approval.get_draft(session, number))
