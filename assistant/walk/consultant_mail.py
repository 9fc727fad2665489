"""A consultant's own mail about a ticket: a work-log note, a reply to an alert, a letter to the client.

Three things reach the support address from a consultant's address, and each changes a
different part of the ticket:

- a reply to one of our alerts («Беру, разбираюсь.»): they take the ticket; their words
  go to the internal work log, never into a client's report;
- a letter written straight to the client with the support address in Cc: the client
  has heard from us, so the ticket counts it as contact and keeps its promises;
- a note about a tagged ticket ("[#12]" in the subject): ONE work-log entry, the greeting
  and the sign-off left out, that a progress report may quote after a consultant's review.

A From header is easy to forge, so none of this happens on the address alone: the mail
must answer one of our signed Message-IDs about that ticket, or our own receiving server
must vouch for the sender (DMARC pass in the Authentication-Results it wrote); a trusted
result that failed is always refused.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from sqlmodel import Session, select

from assistant.config import Settings
from assistant.replies import oncall
from assistant.tickets import conversation, promises
from assistant.tickets import state as ticketstate
from assistant.tickets.conversation import TAG, Signatures
from assistant.mail.intake import Incoming
from assistant.store.models import Client, Message, Participant, Ticket, TicketChange
from assistant.store.states import Fate, Status
from assistant.mail.verdict import without_sign_off
from assistant.walk.passage import Outcome, Passage
from assistant.tickets import worklog
from assistant.tickets.worklog import read_note

log = logging.getLogger("assistant.walk.consultant_mail")

# A first line that only greets: «Анна, добрый день!», «Коллеги, привет», "Hi team,".
_GREETING = re.compile(
    r"^([A-ZА-ЯЁ][a-zа-яё]+,?\s+)?(здравствуйте|добрый (день|вечер)|доброе утро|привет|коллеги|"
    r"hi|hello|hey|dear|good (morning|afternoon|evening)|all|team)\b[^.?]{0,30}[!,.]?$"
    r"|^[A-ZА-ЯЁ][a-zа-яё]+[,!]$", re.IGNORECASE)
# Words that take a ticket: «беру», «возьму», "mine", "on it".
_TAKING = re.compile(r"\b(беру|возьму|взял|взяла|забираю|занимаюсь|mine|on it|taking|i'll take|"
                     r"i will take)\b", re.IGNORECASE)


class ConsultantMail:
    """The walk's interceptor for consultants' own mail about tickets."""

    def __init__(self, settings: Settings, signatures: Signatures):
        self.settings = settings
        self.signatures = signatures
        self.consultants = {p.email for p in settings.consultants}

    def __call__(self, passage: Passage) -> Outcome | None:
        """Settle a consultant's mail about a ticket (fate: system); None for other mail."""
        session, mail, now = passage.session, passage.mail, passage.now
        if mail.from_address not in self.consultants or mail.is_system:
            return None
        refs = self.references(session, mail)
        tagged = [int(n) for n in TAG.findall(mail.subject)]
        said = conversation.authentication(mail, self.settings)
        if self._to_client(mail):
            return self._letter_to_client(session, mail, refs, tagged, said, now)
        alerted = [t for t, kind in refs.items() if kind == "alert"]
        if alerted:
            chosen = [t for t in alerted if t in tagged] or alerted
            return self._took(session, mail, chosen, said, now)
        if not tagged:
            return None
        ticket = session.get(Ticket, tagged[0])
        if ticket is None or _own_request(session, ticket, mail.from_address):
            return None
        if said.failed or not (ticket.id in refs or said.passed):
            why = said.reason(mail.from_address.rpartition("@")[2]) if said.failed else (
                "the mail answers none of our mails about it and our server did not vouch for the "
                "sender; reply to one of our mails about the ticket, or use `assistant note`")
            return self._refused(session, mail, ticket, why, now)
        return self._note(session, mail, ticket, now)

    # -- what the mail answers ---------------------------------------------------------------
    def references(self, session: Session, mail: Incoming) -> dict[int, str]:
        """Tickets the mail's In-Reply-To/References name through ids of ours: {id: kind},
        kind "alert" for our alerts and notices, "letter" for our mail to the client."""
        signer = self.signatures(session)
        found: dict[int, str] = {}
        for message_id in filter(None, (mail.in_reply_to, *mail.references)):
            for ticket_id in oncall.alerted_tickets(signer, message_id):
                found[ticket_id] = "alert"
            named = signer.named(message_id, "a")
            if named is not None:
                found[named] = "alert"
            named = signer.ticket_of(message_id)
            if named is not None:
                found.setdefault(named, "letter")
        return found

    def _to_client(self, mail: Incoming) -> bool:
        ours = self.settings.support_addresses | self.consultants
        return any(a not in ours for a in (*mail.to, *mail.cc) if a)

    # -- a reply to an alert -----------------------------------------------------------------
    def _took(self, session: Session, mail: Incoming, ticket_ids: list[int], said,
              now: datetime) -> Outcome:
        if said.failed:
            return Outcome(Fate.SYSTEM, mail.message_id, None, "reply to an alert refused: "
                           + said.reason(mail.from_address.rpartition("@")[2]))
        who, taken = mail.from_address, []
        text = _body(mail)
        for ticket in filter(None, (session.get(Ticket, i) for i in ticket_ids)):
            if ticket.assignee != who and (not ticket.assignee or _TAKING.search(text)
                                           or not promises.knows(session, ticket.id, ticket.assignee)):
                ticketstate.assign(session, ticket, who, by=who, now=now,
                                   why=f"took it by replying to our alert: «{_short(text)}»")
                taken.append(ticket.tag)
            if text:
                worklog.record(session, ticket, read_note(text, internal=True), who,
                               mail.message_id, now)
        log.info("consultantmail: %s answered an alert about %s%s", who,
                 ", ".join(f"#{i}" for i in ticket_ids), f"; took {', '.join(taken)}" if taken else "")
        return Outcome(Fate.SYSTEM, mail.message_id, ticket_ids[0] if len(ticket_ids) == 1 else None,
                       f"reply to an alert by {who}: internal note"
                       + (f"; took {', '.join(taken)}" if taken else ""))

    # -- a letter straight to the client ------------------------------------------------------
    def _letter_to_client(self, session: Session, mail: Incoming, refs: dict[int, str],
                          tagged: list[int], said, now: datetime) -> Outcome | None:
        ticket = self._thread_of(session, mail, refs) or (
            session.get(Ticket, tagged[0]) if tagged and said.passed else None)
        if ticket is None or said.failed:
            return None
        client = session.get(Client, ticket.client_id)
        if client.email == mail.from_address or not _addresses_participant(session, ticket, mail):
            return None
        if ticket.first_response_at is None:
            ticket.first_response_at = now
        ticket.client_last_heard_at = now
        promises.kept(session, ticket.id, now)
        if ticket.status == Status.NEW:
            ticketstate.move(session, ticket, Status.OPEN, who=mail.from_address, now=now,
                             why=f"wrote to the client ({mail.message_id})")
        ticketstate.assign_if_unowned(ticket, mail.from_address)
        ticket.updated_at = now
        session.add(TicketChange(ticket_id=ticket.id, field="contact", new=mail.from_address,
                                 who=mail.from_address, at=now,
                                 why=f"wrote to the client with support in Cc ({mail.message_id})"))
        log.info("consultantmail: %s wrote to the client of %s directly; counted as contact",
                 mail.from_address, ticket.tag)
        return Outcome(Fate.SYSTEM, mail.message_id, ticket.id,
                       f"{mail.from_address} wrote to the client (Cc to support): counted as contact")

    def _thread_of(self, session: Session, mail: Incoming, refs: dict[int, str]) -> Ticket | None:
        for ticket_id, kind in refs.items():
            if kind == "letter":
                return session.get(Ticket, ticket_id)
        ids = [i for i in (mail.in_reply_to, *mail.references) if i]
        if not ids:
            return None
        known = session.exec(select(Message.ticket_id).where(
            Message.message_id.in_(ids), Message.ticket_id.is_not(None))).first()
        return session.get(Ticket, known) if known else None

    # -- a work-log note ----------------------------------------------------------------------
    def _note(self, session: Session, mail: Incoming, ticket: Ticket, now: datetime) -> Outcome:
        text = _body(mail)
        entries = worklog.record(session, ticket, read_note(text), mail.from_address,
                                 mail.message_id, now)
        said = ", ".join(f"{e.kind}{'' if e.client_visible else ' (internal)'}" for e in entries)
        return Outcome(Fate.SYSTEM, mail.message_id, None,
                       f"work log for {ticket.tag} by {mail.from_address}: {said or 'nothing to log'}")

    def _refused(self, session: Session, mail: Incoming, ticket: Ticket, why: str,
                 now: datetime) -> Outcome:
        log.warning("consultantmail: %s: work log for %s from %s refused: %s", mail.message_id,
                    ticket.tag, mail.from_address, why)
        session.add(TicketChange(ticket_id=ticket.id, field="work log", at=now,
                                 why=f"a note by mail from {mail.from_address} was refused: {why}"))
        return Outcome(Fate.SYSTEM, mail.message_id, None,
                       f"work log for {ticket.tag} refused: {why}")


def _body(mail: Incoming) -> str:
    """The note a consultant wrote: no greeting line, no sign-off, paragraphs kept."""
    lines = (mail.visible_text or mail.text).replace("\r\n", "\n").split("\n")
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and _GREETING.match(lines[0].strip()):
        lines.pop(0)
    kept = list(lines)
    while kept and not kept[-1].strip():
        kept.pop()
    cut = without_sign_off(kept)
    if cut:
        last = max(i for i, line in enumerate(kept) if line.strip() == cut[-1].strip())
        kept = kept[:last + 1]
    else:
        kept = []
    return "\n".join(kept).strip()


def _own_request(session: Session, ticket: Ticket, address: str) -> bool:
    """A consultant writing about their own request is a client like any other."""
    client = session.get(Client, ticket.client_id)
    return client is not None and client.email == address


def _addresses_participant(session: Session, ticket: Ticket, mail: Incoming) -> bool:
    recipients = {a for a in (*mail.to, *mail.cc) if a}
    people = {p.email for p in session.exec(
        select(Participant).where(Participant.ticket_id == ticket.id)).all()}
    return bool(recipients & people)


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
