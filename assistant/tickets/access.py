"""Access requests wait for their business owner: we ask by mail, the owner's reply decides.

Rights are granted only on a request the owner approved. The owner needs no account and
no token to type: our request's Message-ID carries an HMAC of the ticket, their reply
names it in In-Reply-To, and only a reply from the owner's own address counts.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import Session

from assistant.config import Settings
from assistant.mail import quoting
from assistant.replies import approval
from assistant.tickets import conversation
from assistant.tickets import state as ticketstate
from assistant.store.models import Client, Ticket
from assistant.store.states import Fate, MailKind, Status
from assistant.replies.context import last_client_message
from assistant.replies.staff import StaffMail
from assistant.tickets.conversation import Signatures
from assistant.walk.passage import Outcome, Passage

log = logging.getLogger("assistant.tickets.access")

KIND = "o"      # the Message-ID kind of our requests to owners


class OwnerRequest:
    """Writes the request to the owner, after the walk that held the ticket has committed."""

    def __init__(self, staff: StaffMail, signatures: Signatures):
        self.staff = staff
        self.signatures = signatures
        self.domain = staff.settings.support.domain

    def ask(self, session: Session, ticket: Ticket, owner: str, now: datetime) -> None:
        """Mail the ticket's business owner the request, in the ticket's language."""
        ticket.approver = owner
        client = session.get(Client, ticket.client_id)
        signer = self.signatures(session)
        self.staff.send(session, (owner,), "access_request", ticket.language,
                        message_id=signer.message_id(ticket.id, self.domain, KIND),
                        kind=MailKind.ACCESS_REQUEST, ticket_id=ticket.id,
                        ticket=ticket, client=client, request=_first_words(session, ticket))
        log.info("access: %s waits for %s to approve", ticket.tag, owner)


class OwnerAnswer:
    """The walk's stage for the owner's answer: it releases or refuses the request;
    anyone else's answer does nothing."""

    def __init__(self, settings: Settings, signatures: Signatures):
        self.settings = settings
        self.signatures = signatures

    def __call__(self, passage: Passage) -> Outcome | None:
        session, mail, now = passage.session, passage.mail, passage.now
        signer = self.signatures(session)
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
        ticketstate.move(session, ticket, Status.OPEN, who=mail.from_address, why=why, now=now)
        return Outcome(Fate.SYSTEM, mail.message_id, ticket_id, why)


def _first_words(session: Session, ticket: Ticket) -> str:
    message = last_client_message(session, ticket)
    return quoting.own_words(message.visible_text or message.text) if message else ""
