"""A draft from a template: the ticket's context rendered, its tone checked, kept for review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from assistant.config import Settings
from assistant.policy.sla import SlaBook
from assistant.replies import approval
from assistant.replies.context import context_for
from assistant.replies.render import Drafter
from assistant.store.models import Draft, Ticket
from assistant.tickets import promises


@dataclass(eq=False)
class Composer:
    """Writes drafts; whether one goes out on its own or to a consultant is the caller's call."""

    settings: Settings
    sla: SlaBook
    drafter: Drafter

    def draft(self, session: Session, ticket: Ticket, situation: str, now: datetime,
              extra: dict | None = None, in_reply_to: str | None = None,
              automatic: bool = False) -> Draft:
        """Render `situation` for the ticket, check its tone, and keep it as a draft.

        A letter a consultant reviews is signed by them; one that may go out on its own
        carries their name only when they already know the ticket, else the team's.
        """
        named = not automatic or promises.knows(session, ticket.id, ticket.assignee)
        ctx = context_for(session, self.settings, self.sla, ticket, now, extra or {},
                          quote_first=situation == "acknowledgement",
                          sign_as=ticket.assignee if named else None)
        rendered = self.drafter.draft(situation, ctx)
        draft = Draft(ticket_id=ticket.id, situation=situation, language=rendered.language,
                      template=rendered.template, subject=rendered.subject, text=rendered.text,
                      html=rendered.html, findings=approval.findings_json(rendered.findings),
                      token=approval.new_token(), consultant=ticket.assignee,
                      automatic=automatic, in_reply_to=in_reply_to, created_at=now,
                      next_contact_at=ctx.next_contact_at if situation != "resolved" else None)
        session.add(draft)
        session.flush()
        return draft
