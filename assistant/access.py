"""Access requests wait for their business owner: we ask by mail, the owner's reply decides.

Rights are granted only on a request the owner approved. The owner needs no account and
no token to type: our request's Message-ID carries an HMAC of the ticket, their reply
names it in In-Reply-To, and only a reply from the owner's own address counts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from assistant import approval, conversation, quoting
from assistant.intake import Incoming
from assistant.models import Client, Fate, Status, Ticket, TicketChange
from assistant.outbox import Letter
from assistant.walk import Outcome

log = logging.getLogger("assistant.access")

KIND = "o"      # the Message-ID kind of our requests to owners


class OwnerApproval:
    def __init__(self, follow):
        self.follow = follow
        self.settings = follow.settings

    def ask(self, session: Session, ticket: Ticket, owner: str, now: datetime) -> None:
        """Hold the ticket and mail its business owner the request, in the ticket's language."""
        ticket.approver = owner
        client = session.get(Client, ticket.client_id)
        last = _first_words(session, ticket)
        subject, text = self.follow.notices.render(
            "access_request", ticket.language, ticket=ticket, client=client, request=last)
        signer = self.follow.signer(session)
        letter = Letter(to=(owner,), subject=subject, text=text,
                        message_id=signer.message_id(ticket.id, self.follow.domain, KIND),
                        from_name=self.settings.support.name)
        self.follow.outbox.queue(session, letter, kind="access_request", ticket_id=ticket.id)
        log.info("access: %s waits for %s to approve", ticket.tag, owner)

    def from_mail(self, session: Session, mail: Incoming, now: datetime) -> Outcome | None:
        """The owner's answer releases or refuses the request; anyone else's does nothing."""
        signer = self.follow.signer(session)
        ticket_id = next(filter(None, (signer.named(i, KIND) for i in
                                       (mail.in_reply_to, *mail.references) if i)), None)
        if ticket_id is None:
            return None
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.status != Status.HELD.value:
            return Outcome(Fate.SYSTEM, mail.message_id, ticket_id, "access answer for a ticket not held")
        if mail.from_address != (ticket.approver or "") or \
                conversation.authentication(mail, self.settings).failed:
            log.warning("access: %s is not the owner of %s; answer ignored", mail.from_address,
                        ticket.tag)
            return Outcome(Fate.SYSTEM, mail.message_id, ticket_id,
                           f"access answer ignored: {mail.from_address} is not the owner")
        verdict = approval.read_verdict(mail.visible_text)
        if verdict.action in ("approve", "anyway"):
            why = "the owner approved access"
        elif verdict.action == "reject":
            why = "the owner refused access; tell the client why"
        else:
            return Outcome(Fate.SYSTEM, mail.message_id, ticket_id,
                           "the owner wrote without a yes or no; the request still waits")
        session.add(TicketChange(ticket_id=ticket.id, field="status", old=ticket.status,
                                 new=Status.OPEN.value, who=mail.from_address, why=why, at=now))
        ticket.status, ticket.updated_at = Status.OPEN.value, now
        return Outcome(Fate.SYSTEM, mail.message_id, ticket_id, why)


def _first_words(session: Session, ticket: Ticket) -> str:
    from assistant.followup import last_client_message
    message = last_client_message(session, ticket)
    return quoting.own_words(message.visible_text or message.text) if message else ""
