"""Draft states and the consultant's word on them: by command line or by replying to our mail."""

from __future__ import annotations

import enum
import hashlib
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from assistant.tickets import state as ticketstate
from assistant.errors import NotFound, Rejected, Stale
from assistant.store.models import Client, Draft, Message, Ticket, TicketChange
from assistant.store.states import DraftStatus, Status
from assistant.transport.outbox import Letter
from assistant.mail.verdict import Verdict, read_verdict  # noqa: F401  (approval.read_verdict)

if TYPE_CHECKING:       # the mail parser is loaded where mail is read
    from assistant.mail.intake import Incoming

log = logging.getLogger("assistant.replies.approval")

# The approval request's Message-ID carries the draft and its secret token; a consultant's
# reply names it in In-Reply-To, so the token never has to be typed. A random part after
# the token keeps every request unique: a draft edited into text the tone checker flags
# is put to the consultant again, and each mail needs a Message-ID of its own.
APPROVAL_ID = re.compile(r"^d(\d{1,10})\.([0-9a-f]{24})(?:\.[0-9a-z]{1,32})?@", re.IGNORECASE)
CODE_IN_TEXT = re.compile(r"\b(?:код|code)\s*[:：]?\s*d(\d{1,10})-([0-9a-f]{24})\b", re.IGNORECASE)

# A draft in these states takes no further verdict: it is on its way, gone, or dropped.
DECIDED = {DraftStatus.APPROVED: "was already approved and is being sent",
           DraftStatus.SENT: "was already sent", DraftStatus.REJECTED: "was rejected",
           DraftStatus.SUPERSEDED: "was replaced by a newer draft",
           DraftStatus.BLOCKED: "was not sent: the outbox refused it (see `assistant outbox`)",
           DraftStatus.FAILED: "could not be delivered (see `assistant outbox`)"}

HELD_FOR_TONE = "held: the text has tone findings; fix it or say «send anyway»"


class DecisionKind(enum.StrEnum):
    APPROVED = "approved"    # on its way to the client
    HELD = "held"            # tone findings and no «send anyway»: it waits
    REJECTED = "rejected"
    ASKED = "asked"          # the answer was unclear: the consultant is asked back
    BLOCKED = "blocked"      # approved, but the outbox refused it
    SAVED = "saved"          # an edited text kept without a decision (the review page)


@dataclass(frozen=True)
class Decision:
    """What a consultant's word did to a draft; `text` is what the CLI and mail say.

    >>> Decision(DecisionKind.HELD, HELD_FOR_TONE).text.split(":")[0]
    'held'
    """

    kind: DecisionKind
    text: str

    def __str__(self) -> str:
        return self.text


def new_token() -> str:
    return secrets.token_hex(12)


def approval_message_id(draft: Draft, domain: str) -> str:
    """A fresh Message-ID naming the draft and its token: "d12.<token>.<random>@domain"."""
    return f"d{draft.id}.{draft.token}.{secrets.token_hex(4)}@{domain}"


def draft_for_reply(session: Session, mail: Incoming) -> tuple[Draft | None, str | None]:
    """The draft a consultant's mail answers, checking its token; (None, why) when forged."""
    candidates = [mail.in_reply_to, *reversed(mail.references)]
    for message_id in filter(None, candidates):
        found = APPROVAL_ID.match(message_id)
        if found:
            return _checked(session, int(found.group(1)), found.group(2))
    code = CODE_IN_TEXT.search(mail.text)
    if code:
        return _checked(session, int(code.group(1)), code.group(2))
    return None, None


def _checked(session: Session, draft_id: int, token: str) -> tuple[Draft | None, str | None]:
    draft = session.get(Draft, draft_id)
    if draft is None or not secrets.compare_digest(draft.token, token.lower()):
        return None, f"the approval names draft {draft_id} with a wrong token"
    return draft, None


def get_draft(session: Session, number: int) -> Draft:
    draft = session.get(Draft, number)
    if draft is None:
        raise NotFound(f"no draft {number}")
    return draft


def version_of(draft: Draft) -> str:
    """A short fingerprint of what a consultant decides on: the text, the subject, the state.

    A page keeps the version it showed; `check_version` refuses a decision on a draft
    that someone else has changed since, so nobody approves words they have not read.
    """
    seen = "\x00".join((draft.subject, draft.text, draft.status, str(draft.send_anyway)))
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:16]


def check_version(draft: Draft, expected: str | None) -> None:
    """Raise Stale when `expected` (None: not asked) is not the draft's version now."""
    if expected is not None and not secrets.compare_digest(
            expected.encode("utf-8"), version_of(draft).encode("utf-8")):
        by = draft.decided_by or draft.edited_by or "someone"
        raise Stale(f"draft {draft.id} was changed by {by} after you opened it; "
                    f"read the new version, then decide")


def save(draft: Draft, text: str, who: str, findings_of) -> list:
    """Keep an edited text without deciding on it; returns its tone findings (dicts)."""
    if draft.status in DECIDED:
        raise Rejected(f"draft {draft.id} {DECIDED[draft.status]}; nothing was changed")
    if not text.strip():
        raise Rejected("the reply is empty")
    if text.strip() + "\n" != draft.text:
        draft.text, draft.edited_by, draft.html = text.strip() + "\n", who, None
        draft.findings = findings_json(findings_of(draft.text, draft.language))
        draft.send_anyway = False
    return json.loads(draft.findings)


def decide(session: Session, draft: Draft, verdict: Verdict, who: str, now: datetime,
           findings_of) -> Decision:
    """Apply a consultant's verdict; returns what happened, e.g. Decision(APPROVED, "approved").

    `findings_of(text, lang)` re-checks an edited text: a draft with tone findings is not
    sent unless the consultant says "send anyway". A draft that was approved, is being sent
    or was sent takes no second verdict (Rejected, with when and by whom): a second
    approval would send the letter twice.
    """
    if draft.status in DECIDED:
        by = f" by {draft.decided_by}" if draft.decided_by else ""
        at = f" at {draft.decided_at:%Y-%m-%d %H:%M} UTC" if draft.decided_at else ""
        raise Rejected(f"draft {draft.id} {DECIDED[draft.status]} ({draft.status}{by}{at}); "
                       f"nothing was changed")
    if verdict.action == "unclear":
        return Decision(DecisionKind.ASKED, f"asked back: {verdict.text}")
    if verdict.action == "reject":
        _set(session, draft, DraftStatus.REJECTED, who, now)
        return Decision(DecisionKind.REJECTED, "rejected")
    if verdict.action == "edit":
        draft.text, draft.edited_by = verdict.text.strip() + "\n", who
        draft.findings = findings_json(findings_of(draft.text, draft.language))
        draft.html = None
    if verdict.action == "anyway":
        draft.send_anyway = True
    if json.loads(draft.findings) and not draft.send_anyway:
        draft.decided_by = who
        return Decision(DecisionKind.HELD, HELD_FOR_TONE)
    _set(session, draft, DraftStatus.APPROVED, who, now)
    return Decision(DecisionKind.APPROVED, "approved")


def _set(session: Session, draft: Draft, status: DraftStatus, who: str, now: datetime) -> None:
    old, draft.status = draft.status, status
    draft.decided_at, draft.decided_by = now, who
    session.add(TicketChange(ticket_id=draft.ticket_id, field=f"draft {draft.id}", old=old,
                             new=status, who=who, why=draft.situation, at=now))


def findings_json(findings) -> str:
    return json.dumps([{"rule": f.rule, "kind": f.kind, "start": f.start, "end": f.end,
                        "text": f.text, "suggestion": f.suggestion, "explain": f.explain}
                       for f in findings], ensure_ascii=False)


def letter_for(session: Session, draft: Draft, message_id: str, from_name: str,
               automatic: bool = False, extra_headers: tuple[tuple[str, str], ...] = ()) -> Letter:
    """The client's letter for an approved draft, threaded onto their last mail."""
    ticket = session.get(Ticket, draft.ticket_id)
    client = session.get(Client, ticket.client_id)
    chain = session.exec(select(Message.message_id).where(Message.ticket_id == ticket.id)
                         .order_by(Message.received_at, Message.id)).all()
    last_in = draft.in_reply_to or (chain[-1] if chain else None)
    return Letter(to=(client.email,), subject=draft.subject, text=draft.text, html=draft.html,
                  message_id=message_id, in_reply_to=last_in, references=tuple(chain),
                  from_name=from_name, automatic=automatic, extra_headers=extra_headers)


def after_sending(session: Session, draft: Draft, now: datetime) -> None:
    """The ticket learns that the client heard from us, and what state that leaves it in."""
    ticket = session.get(Ticket, draft.ticket_id)
    draft.status = DraftStatus.SENT
    ticket.client_last_heard_at = now
    if ticket.first_response_at is None and not draft.automatic:
        ticket.first_response_at = now
    new_status = {"need_info": Status.WAITING, "options": Status.WAITING,
                  "resolved": Status.RESOLVED}.get(draft.situation)
    if new_status is None and ticket.status == Status.NEW and not draft.automatic:
        new_status = Status.OPEN
    if new_status:
        ticketstate.move(session, ticket, new_status, who=draft.decided_by or "assistant",
                         why=f"sent the {draft.situation} reply", now=now)
    ticket.updated_at = now
