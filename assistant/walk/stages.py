"""The walk's own stages: drop duplicates, find the ticket, join or open it, assess it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import logging

from assistant.config import Settings
from assistant.mail.intake import Incoming
from assistant.store.models import TicketChange
from assistant.store.states import Fate, QuarantineKind
from assistant.tickets import conversation
from assistant.tickets.assessment import Assessor
from assistant.tickets import state as ticketstate
from assistant.tickets.conversation import Signatures
from assistant.walk.keep import quarantine
from assistant.walk.passage import Outcome, Passage
from assistant.walk.records import record_message

if TYPE_CHECKING:       # triage brings spaCy; the App hands it in
    from assistant.policy.triage import Triage

log = logging.getLogger("assistant.walk.stages")


class Deduplicate:
    """The same Message-ID already has a fate: another folder, a re-scan, a resend."""

    def __call__(self, passage: Passage) -> Outcome | None:
        if passage.known.has_message_id(passage.session, passage.mail.message_id):
            return Outcome(Fate.DUPLICATE, passage.mail.message_id, reason="Message-ID already stored")
        return None


class Thread:
    """Find the mail's ticket by signed headers or the subject tag. Bounces, auto-replies
    and list mail are kept beside their ticket and never answered; suspicious mail is held."""

    def __init__(self, settings: Settings, signatures: Signatures):
        self.settings = settings
        self.signatures = signatures

    def __call__(self, passage: Passage) -> Outcome | None:
        session, mail = passage.session, passage.mail
        match = conversation.find(mail, session, self.signatures(session), self.settings)
        if mail.is_system:
            ticket_id = match.ticket.id if match.ticket else None
            return Outcome(Fate.SYSTEM, mail.message_id, ticket_id, _system_reason(mail))
        if match.held:
            return quarantine(session, passage.digest, match.held, passage.source, passage.now,
                              mail=mail, kind=QuarantineKind.HELD,
                              ticket_id=match.ticket.id if match.ticket else None)
        passage.match = match
        return None


class Join:
    """A reply joins its ticket (reopening a finished one); anything else opens a ticket,
    with the client's record made on first contact. The message is stored with its fate."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def __call__(self, passage: Passage) -> Outcome | None:
        session, mail, now = passage.session, passage.mail, passage.now
        if passage.match.ticket is not None:
            ticket, fate = passage.match.ticket, Fate.REPLY
            conversation.reopen_if_done(ticket, session, now, mail.message_id)
            conversation.add_participants(session, ticket, (*mail.to, *mail.cc), self.settings)
        else:
            known = passage.known
            known.expect_clients(session, [mail.from_address])    # asks nothing if its group did
            client = conversation.client_for(mail, session, self.settings, now,
                                             seen=known.clients, ids=known.ids(session))
            ticket = conversation.open_ticket(mail, client, session, self.settings, now,
                                              known.ids(session))
            passage.client, fate = client, Fate.NEW_TICKET
        record_message(session, mail, fate, ticket.id, passage.source, now)
        passage.ticket, passage.fate = ticket, fate
        return None


class Assess:
    """Triage puts language, priority, category and deadlines on the ticket; a reply may
    raise them. A ticket that turns critical is marked for the on-call people."""

    def __init__(self, assessor: Assessor):
        self.assessor = assessor

    def __call__(self, passage: Passage) -> Outcome | None:
        client = passage.client or passage.known.client(passage.session, passage.ticket.client_id)
        passage.assessment = self.assessor(
            passage.session, passage.ticket, passage.mail, passage.fate, passage.now,
            passage.verdict, alert=passage.acknowledge, client=client)
        return None


class WorksNow:
    """«Спасибо, всё заработало!»: a reason to suggest resolving, not to reopen or chase."""

    def __init__(self, triage: Triage):
        self.triage = triage

    def __call__(self, passage: Passage) -> Outcome | None:
        if passage.fate is not Fate.REPLY:
            return None
        session, ticket, mail, now = passage.session, passage.ticket, passage.mail, passage.now
        said = passage.assessment
        if said is not None and said.language == ticket.language and not said.works_now:
            # Triage has read these words with these rules already (and the subject too).
            return None
        words = self.triage.works_now(mail.visible_text or mail.text, ticket.language)
        if not words:
            return None
        kept = ticketstate.undo_reopen(session, ticket, mail.message_id)
        if kept is not None:
            why = f"the client confirmed it works («{words}»); it stays {kept}"
        else:
            why = f"the client wrote «{words}»: suggest resolving (assistant tickets set " \
                  f"{ticket.id} status=resolved)"
        session.add(TicketChange(ticket_id=ticket.id, field="suggestion", new="resolve",
                                 why=why, at=now))
        log.info("stages: %s: %s", ticket.tag, why)
        return None


def _system_reason(mail: Incoming) -> str:
    kinds = [name for name, flag in (("bounce", mail.bounce), ("auto-reply", mail.auto_reply),
                                     ("mailing list", mail.mailing_list), ("our own mail", mail.loop))
             if flag]
    return ", ".join(kinds)
