"""Drafts at the consultant's desk: list, show, write from a template, edit, approve, reject."""

from __future__ import annotations

import json

from sqlmodel import select

from assistant import approval
from assistant.errors import NotFound, Rejected
from assistant.models import Client, Draft, Ticket


class Drafts:
    def __init__(self, app):
        self.app = app

    def rows(self, include_done: bool = False) -> list[dict]:
        with self.app.store.session() as session:
            query = select(Draft, Ticket, Client).join(Ticket, Ticket.id == Draft.ticket_id).join(
                Client, Client.id == Ticket.client_id)
            if not include_done:
                query = query.where(Draft.status == "pending")
            rows = session.exec(query.order_by(Draft.id)).all()
        return [{"id": d.id, "ticket": t.id, "ref": t.ref, "situation": d.situation,
                 "language": d.language, "status": d.status, "client": c.email,
                 "subject": d.subject, "findings": len(json.loads(d.findings)),
                 "consultant": d.consultant} for d, t, c in rows]

    def show(self, number: int) -> dict:
        with self.app.store.session() as session:
            draft = approval.get_draft(session, number)
        return {"id": draft.id, "ticket": draft.ticket_id, "situation": draft.situation,
                "language": draft.language, "template": draft.template, "status": draft.status,
                "subject": draft.subject, "text": draft.text,
                "findings": json.loads(draft.findings), "consultant": draft.consultant,
                "edited_by": draft.edited_by, "decided_by": draft.decided_by}

    def new(self, ticket_id: int, situation: str, **extra) -> dict:
        """Draft `situation` for a ticket from its templates; the consultant is asked to approve."""
        now = self.app.clock()
        with self.app.store.session() as session:
            ticket = session.get(Ticket, ticket_id)
            if ticket is None:
                raise NotFound(f"no ticket #{ticket_id}")
            offered = self.app.drafter.reply_situations()
            if situation not in offered:
                raise Rejected(f"no such situation {situation!r}; one of: " + ", ".join(offered)
                               + ("" if situation != "manager_summary"
                                  else " (the manager summary is `assistant report`)"))
            follow = self.app.follow
            ticket.assignee = ticket.assignee or follow.pick_consultant(session, ticket)
            draft = follow.make_draft(session, ticket, situation, now, extra)
            follow.ask_approval(session, draft, None, now)
            number = draft.id
        return self.show(number)

    def edit(self, number: int, text: str, who: str) -> str:
        return self._decide(number, approval.Verdict("edit", text), who)

    def approve(self, number: int, who: str, anyway: bool = False) -> str:
        return self._decide(number, approval.Verdict("anyway" if anyway else "approve"), who)

    def reject(self, number: int, who: str) -> str:
        return self._decide(number, approval.Verdict("reject"), who)

    def _decide(self, number: int, verdict: approval.Verdict, who: str) -> str:
        with self.app.store.session() as session:
            draft = approval.get_draft(session, number)
            return self.app.follow.decide(session, draft, verdict, who, self.app.clock())
