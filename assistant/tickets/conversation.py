"""Match a mail to its ticket (signed headers, subject tag, participants) or open a new one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import Session, select

from assistant.mail import authresults
from assistant.config import Settings
from assistant.tickets import state as ticketstate
from assistant.store.ids import Ids
from assistant.store.models import Client, Message, Participant, Setting, Ticket
from assistant.store.states import Status

if TYPE_CHECKING:       # the mail parser is loaded where mail is read
    from assistant.mail.intake import Incoming
from assistant.mail.subjects import without_reply_prefixes

# "[#1042]" anywhere in the subject survives "Re:", "AW:", "Ответ:" and mail programs that
# put their own prefixes in front; a bare "#1042" is too common in client text to trust.
TAG = re.compile(r"\[#(\d{1,10})\]")
# Our outgoing Message-IDs: t<ticket>.<signature>.<random>@<domain>. The signature is an
# HMAC of the ticket number, so nobody can write a References header that attaches their
# mail to somebody else's ticket without having received our mail.


@dataclass(frozen=True)
class Match:
    """What the headers say about a mail's ticket.

    `held` is a reason when the mail must wait for a consultant instead of joining.
    """

    ticket: Ticket | None
    how: str                      # "references", "subject tag", "new"
    held: str | None = None


class Signer:
    """Signs ticket numbers into our Message-IDs and checks them on the way back."""

    def __init__(self, key: bytes):
        self._key = key

    def signature(self, ticket_id: int, kind: str = "t") -> str:
        """The HMAC of "<kind><ticket>": "t" for replies, "o" for an owner's approval."""
        return hmac.new(self._key, f"{kind}{ticket_id}".encode(), hashlib.sha256).hexdigest()[:16]

    def message_id(self, ticket_id: int, domain: str, kind: str = "t") -> str:
        """A fresh Message-ID for mail about `ticket_id` (without angle brackets)."""
        return (f"{kind}{ticket_id}.{self.signature(ticket_id, kind)}."
                f"{secrets.token_hex(6)}@{domain}")

    def named(self, message_id: str, kind: str) -> int | None:
        """The ticket a Message-ID of ours of this kind names, or None when not ours or forged."""
        found = re.match(rf"^{kind}(\d{{1,10}})\.([0-9a-f]{{16}})\.[0-9a-z]+@", message_id, re.I)
        if not found:
            return None
        ticket_id = int(found.group(1))
        if hmac.compare_digest(found.group(2).lower(), self.signature(ticket_id, kind)):
            return ticket_id
        return None

    def ticket_of(self, message_id: str) -> int | None:
        """The ticket a Message-ID of ours names, or None when it is not ours or forged."""
        return self.named(message_id, "t")


class Signatures:
    """The process's one Signer: its key is read once, from the key file or the database.

    The key never changes once made, so every part that signs or checks a Message-ID
    shares this one instance instead of looking the key up again.
    """

    def __init__(self, settings: Settings):
        self.settings = settings
        self._signer: Signer | None = None

    def __call__(self, session: Session) -> Signer:
        if self._signer is None:
            self._signer = signer_for(self.settings, session)
        return self._signer


def signer_for(settings: Settings, session: Session) -> Signer:
    """The signer with the configured key, or one kept in the database since first start."""
    secret_file = settings.support.secret_file
    if secret_file:
        return Signer(Path(secret_file).read_bytes().strip())
    row = session.get(Setting, "signing_key")      # made by Store.migrate
    return Signer(bytes.fromhex(row.value))


def find(mail: Incoming, session: Session, signer: Signer, settings: Settings) -> Match:
    """Which ticket `mail` belongs to, by headers first, then the subject tag.

    RFC 5322 §3.6.4: In-Reply-To and References name the mail being answered; we trust
    our own signed ids and ids of mail we stored, never a bare number.
    """
    ticket = _by_references(mail, session, signer)
    how = "references"
    if ticket is None:
        ticket, how = _by_tag(mail.subject, session), "subject tag"
    if ticket is None:
        held = _authentication_hold(mail, settings)
        return Match(None, "new", held)
    if authentication(mail, settings).failed:
        return Match(ticket, how, _authentication_hold(mail, settings))
    if not is_participant(session, ticket, mail.from_address, settings):
        return Match(ticket, how, f"{mail.from_address} is not a participant of {ticket.tag}")
    return Match(ticket, how)


def authentication(mail: Incoming, settings: Settings) -> authresults.Authentication:
    """What our own receiving server says of the sender; other servers' claims are ignored."""
    return authresults.read(mail.authentication_results, settings.imap.authserv_ids,
                            mail.from_address)


def _authentication_hold(mail: Incoming, settings: Settings) -> str | None:
    said = authentication(mail, settings)
    if said.failed:
        return said.reason(mail.from_address.rpartition("@")[2])
    return None


def _by_references(mail: Incoming, session: Session, signer: Signer) -> Ticket | None:
    ids = [i for i in (mail.in_reply_to, *reversed(mail.references)) if i]
    for message_id in ids:
        ticket_id = signer.ticket_of(message_id)
        if ticket_id is None:
            known = session.exec(select(Message).where(Message.message_id == message_id)).first()
            ticket_id = known.ticket_id if known else None
        if ticket_id is not None:
            ticket = session.get(Ticket, ticket_id)
            if ticket is not None:
                return ticket
    return None


def _by_tag(subject: str, session: Session) -> Ticket | None:
    for number in TAG.findall(subject):
        ticket = session.get(Ticket, int(number))
        if ticket is not None:
            return ticket
    return None


def is_participant(session: Session, ticket: Ticket, address: str, settings: Settings) -> bool:
    if address in settings.support_addresses:
        return True
    if any(p.email == address for p in settings.consultants):
        return True
    return session.exec(select(Participant).where(
        Participant.ticket_id == ticket.id, Participant.email == address)).first() is not None


def client_for(mail: Incoming, session: Session, settings: Settings, now: datetime, *,
               seen: dict[str, Client], ids: Ids) -> Client:
    """The sender's client record, created on first contact from address and display name.

    `seen` holds the clients the caller has read or made so far, by address, the sender's
    among them if it has one: the caller looks senders up (a batch a group at a time,
    walk/passage.py), and a new client is not written until its flush. A new client takes
    its id from `ids`.
    """
    client = seen.get(mail.from_address)
    if client is None:
        client = Client(id=ids.new(Client), email=mail.from_address, name=mail.from_name,
                        internal=settings.is_internal(mail.from_address), created_at=now,
                        timezone=zone_of(mail.date, settings.support.timezone))
        session.add(client)
    elif mail.from_name and not client.name:
        client.name = mail.from_name
    seen[mail.from_address] = client
    return client


def zone_of(sent: datetime | None, support_zone: str) -> str | None:
    """The client's time zone as their Date header shows it, when it differs from ours.

    Only a whole-hour offset other than ours and other than UTC is taken: many servers
    stamp +0000 whatever the sender's clock says. "+0500" → "Etc/GMT-5" (the IANA name
    for UTC+5 has the sign turned round).
    """
    if sent is None or sent.utcoffset() is None:
        return None
    offset = sent.utcoffset()
    if offset == ZoneInfo(support_zone).utcoffset(sent.replace(tzinfo=None)):
        return None
    seconds = int(offset.total_seconds())
    if seconds == 0 or seconds % 3600 or abs(seconds) > 14 * 3600:
        return None
    return f"Etc/GMT{-seconds // 3600:+d}"


def open_ticket(mail: Incoming, client: Client, session: Session, settings: Settings,
                now: datetime, ids: Ids) -> Ticket:
    """A new ticket for `mail`, its number from `ids`; the sender and the other people on
    it become participants. Nothing is written until the caller's flush."""
    ticket = Ticket(id=ids.new(Ticket), subject=clean_subject(mail.subject), client_id=client.id,
                    status=Status.NEW, language=client.language or settings.support.language,
                    created_at=now, updated_at=now)
    session.add(ticket)
    # A new ticket has no participants yet, so there is nothing to look up first. Its
    # opening needs no history row: created_at and the first message record it.
    own = settings.support_addresses
    for address in dict.fromkeys((mail.from_address, *mail.to, *mail.cc)):
        if address and address not in own:
            session.add(Participant(ticket_id=ticket.id, email=address))
    return ticket


def add_participants(session: Session, ticket: Ticket, addresses, settings: Settings) -> None:
    own = settings.support_addresses
    existing = {p.email for p in session.exec(
        select(Participant).where(Participant.ticket_id == ticket.id))}
    for address in dict.fromkeys(addresses):
        if address and address not in own and address not in existing:
            session.add(Participant(ticket_id=ticket.id, email=address))
            existing.add(address)


def reopen_if_done(ticket: Ticket, session: Session, now: datetime, message_id: str) -> None:
    """A client writing to a resolved ticket means it is not resolved for them."""
    ticketstate.reopen(session, ticket, message_id, now)
    ticket.updated_at = now


def clean_subject(subject: str) -> str:
    """The subject without reply prefixes and our tag: "Re: AW: [#12] Отгрузка" → "Отгрузка"."""
    subject = TAG.sub("", subject)
    subject = without_reply_prefixes(subject)
    return " ".join(subject.split()) or "(no subject)"
