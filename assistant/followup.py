"""What follows a ticket's change: the acknowledgement, approval requests, on-call alerts, sending."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

from sqlmodel import Session, select

from assistant import approval, conversation, quoting
from assistant.errors import Rejected
from assistant.intake import Incoming
from assistant.models import Client, Draft, Fate, Message, OutboxMail, Ticket
from assistant.notices import Notices
from assistant.outbox import Letter, Outbox
from assistant.severity import grades_of
from assistant.walk import Outcome

log = logging.getLogger("assistant.followup")


class FollowUps:
    """Holds the parts the follow-up steps need; built once by the App."""

    def __init__(self, app):
        self.app = app
        self.settings = app.settings
        self.outbox = Outbox(app.settings, app.store, app.clock)
        self.notices = Notices(app.settings.templates_dir)
        self._signer: conversation.Signer | None = None
        self._access = None

    def steps(self):
        return (self.acknowledge,)

    def interceptors(self):
        from assistant.worklog import WorkLog
        return (self.consultant_mail, self.access.from_mail, WorkLog(self.app).from_mail)

    @property
    def access(self):
        if self._access is None:
            from assistant.access import OwnerApproval
            self._access = OwnerApproval(self)
        return self._access

    def signer(self, session: Session) -> conversation.Signer:
        if self._signer is None:
            self._signer = conversation.signer_for(self.settings, session)
        return self._signer

    @property
    def domain(self) -> str:
        return self.settings["support.address"].rpartition("@")[2] or "localhost"

    # -- drafts ---------------------------------------------------------------------------
    def make_draft(self, session: Session, ticket: Ticket, situation: str, now: datetime,
                   extra: dict | None = None, in_reply_to: str | None = None,
                   automatic: bool = False) -> Draft:
        """Render `situation` for the ticket, check its tone, and keep it as a draft."""
        from assistant.replycontext import context_for
        ctx = context_for(session, self.app, ticket, now, extra or {},
                          quote_first=situation == "acknowledgement")
        rendered = self.app.drafter.draft(situation, ctx)
        draft = Draft(ticket_id=ticket.id, situation=situation, language=rendered.language,
                      template=rendered.template, subject=rendered.subject, text=rendered.text,
                      html=rendered.html, findings=approval.findings_json(rendered.findings),
                      token=approval.new_token(), consultant=ticket.assignee,
                      automatic=automatic, in_reply_to=in_reply_to, created_at=now,
                      next_contact_at=ctx.next_contact_at if situation != "resolved" else None)
        session.add(draft)
        session.flush()
        return draft

    def acknowledge(self, session: Session, ticket: Ticket, mail: Incoming, outcome: Outcome,
                    now: datetime) -> None:
        """Mark a new ticket as owed an acknowledgement; `acknowledge_due` writes it.

        The letter is written after the batch is committed, not inside the walk: a broken
        template or a slow tone check then never holds up, or undoes, the tickets.
        Imported history (`assistant import`) is not acknowledged: those clients wrote
        long ago.
        """
        if outcome.fate is Fate.NEW_TICKET and self.app.acknowledge_new_tickets:
            ticket.acknowledgement = "due"

    def acknowledge_due(self, limit: int = 500) -> int:
        """Acknowledge new tickets: sent at once when allowed, else drafted for approval."""
        done = 0
        with self.app.store.session() as session:
            # Locked and skipped by other daemons until this commits (PostgreSQL): each
            # new ticket is acknowledged by exactly one of them.
            due = session.exec(select(Ticket).where(Ticket.acknowledgement == "due")
                               .order_by(Ticket.id).limit(limit)
                               .with_for_update(skip_locked=True)).all()
            for ticket in due:
                savepoint = session.begin_nested()
                try:
                    ticket.acknowledgement = self._acknowledge(session, ticket, self.app.clock())
                    savepoint.commit()
                    done += 1
                except Exception:  # noqa: BLE001 - one ticket's letter never stops the others
                    savepoint.rollback()
                    log.exception("followup: no acknowledgement for %s", ticket.tag)
                    ticket.acknowledgement = "failed"
        return done

    def _acknowledge(self, session: Session, ticket: Ticket, now: datetime) -> str:
        ticket.assignee = ticket.assignee or self.pick_consultant(session, ticket)
        # The acknowledgement answers the mail that opened the ticket, even when the
        # client wrote again before it went out.
        first = last_client_message(session, ticket, first=True)
        auto = bool(self.settings["approval.auto_send_acknowledgement"])
        draft = self.make_draft(session, ticket, "acknowledgement", now,
                                in_reply_to=first.message_id if first else None, automatic=auto)
        if auto and draft.findings == "[]":
            approval._set(session, draft, "approved", "assistant", now)
            self.dispatch(session, draft, now)
            return "sent"
        self.ask_approval(session, draft, None, now)
        return "drafted"

    def pick_consultant(self, session: Session, ticket: Ticket) -> str | None:
        """Consultants who speak the ticket's language, taken in turn by ticket number."""
        people = [p for p in self.settings.consultants if ticket.language in p.languages]
        people = people or list(self.settings.consultants)
        return people[ticket.id % len(people)].email if people else None

    def dispatch(self, session: Session, draft: Draft, now: datetime) -> OutboxMail:
        """Queue an approved draft for the client."""
        signer = self.signer(session)
        consultant = next((p for p in self.settings.consultants
                           if p.email == (draft.decided_by or draft.consultant)), None)
        team = self.settings.support_name(draft.language)
        from_name = f"{consultant.name}, {team}" if consultant else team
        letter = approval.letter_for(session, draft, signer.message_id(draft.ticket_id, self.domain),
                                     from_name, automatic=draft.automatic)
        row = self.outbox.queue(session, letter, kind=draft.situation, ticket_id=draft.ticket_id,
                                draft_id=draft.id)
        session.add(Message(message_id=row.message_id, content_hash="", ticket_id=draft.ticket_id,
                            direction="out", fate="sent", from_address=self.settings["support.address"],
                            from_name=from_name, to_addresses=row.recipients, subject=draft.subject,
                            in_reply_to=letter.in_reply_to, visible_text=draft.text, text=draft.text,
                            received_at=now))
        return row

    def ask_approval(self, session: Session, draft: Draft, mail: Incoming | None,
                     now: datetime) -> None:
        """Mail the draft to its consultant; their reply approves, edits or rejects it."""
        if not draft.consultant:
            log.info("followup: draft %d waits in `assistant drafts` (no consultant configured)",
                     draft.id)
            return
        person = next(p for p in self.settings.consultants if p.email == draft.consultant)
        ticket = session.get(Ticket, draft.ticket_id)
        client = session.get(Client, ticket.client_id)
        if mail is None:
            last = last_client_message(session, ticket)
            client_text = quoting.own_words(last.visible_text or last.text) if last else ""
        else:
            client_text = mail.visible_text
        subject, text = self.notices.render(
            "approval_request", person.languages[0], ticket=ticket, client=client, draft=draft,
            consultant=person, client_text=client_text,
            findings=json.loads(draft.findings), code=f"d{draft.id}-{draft.token}")
        letter = Letter(to=(person.email,), subject=subject, text=text,
                        message_id=approval.approval_message_id(draft, self.domain),
                        from_name=self.settings["support.name"])
        self.outbox.queue(session, letter, kind="approval_request", ticket_id=ticket.id,
                          draft_id=draft.id)

    # -- consultants writing to the support address ------------------------------------------
    def consultant_mail(self, session: Session, mail: Incoming, now: datetime) -> Outcome | None:
        """An approval by mail; anything claiming to be one without the token is ignored."""
        draft, forged = approval.draft_for_reply(session, mail)
        if draft is None and forged is None:
            return None
        consultants = {p.email for p in self.settings.consultants}
        if forged or mail.from_address not in consultants:
            why = forged or f"{mail.from_address} is not a consultant"
            log.warning("followup: approval ignored (%s) in %s", why, mail.message_id)
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id if draft else None,
                           f"approval ignored: {why}")
        try:
            said = self.decide(session, draft, approval.read_verdict(mail.visible_text),
                               mail.from_address, now)
        except Rejected as exc:     # decided meanwhile by someone else: they won
            log.info("followup: approval by %s in %s not applied: %s", mail.from_address,
                     mail.message_id, exc)
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id, f"not applied: {exc}")
        return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id,
                       f"draft {draft.id} {said} by {mail.from_address}")

    def decide(self, session: Session, draft: Draft, verdict: approval.Verdict, who: str,
               now: datetime) -> str:
        """Apply a verdict to a draft; of several at once (mail, CLI, page) one wins.

        The draft's row is read again under a lock (SELECT ... FOR UPDATE): a second
        decision waits for the first to commit, then sees it and is refused with why.
        """
        status = draft.status
        session.refresh(draft, with_for_update=True)
        if draft.status == "approved" and verdict.action in ("approve", "anyway"):
            raise Rejected(f"draft {draft.id} was already approved by {draft.decided_by}")
        if draft.status != status and draft.status != "pending":
            raise Rejected(f"draft {draft.id} was {draft.status} by {draft.decided_by} meanwhile")
        said = approval.decide(session, draft, verdict, who, now, self.app.tone.check)
        if said == "approved":
            self.dispatch(session, draft, now)
        elif said.startswith("held") and verdict.action == "edit":
            self.ask_approval(session, draft, None, now)
        return said

    def on_critical(self, session: Session, ticket: Ticket, now: datetime) -> None:
        """Tell the on-call people at once; the ticket already sits on top of every list."""
        client = session.get(Client, ticket.client_id)
        reasons = json.loads(ticket.priority_reasons or "[]")
        for address in self.app.sla.oncall():
            lang = self.settings["support.language"]
            subject, text = self.notices.render("critical_alert", lang, ticket=ticket,
                                                client=client, reasons=reasons, **grades_of(reasons))
            signer = self.signer(session)
            letter = Letter(to=(address,), subject=subject, text=text,
                            message_id=signer.message_id(ticket.id, self.domain),
                            from_name=self.settings["support.name"])
            self.outbox.queue(session, letter, kind="alert", ticket_id=ticket.id)
        log.warning("followup: %s is critical: %s", ticket.tag,
                    "; ".join(dict.fromkeys(r["text"] for r in reasons if r["text"])) or "marked critical")

    def after_sent(self, row: OutboxMail) -> None:
        if row.draft_id is None or row.kind == "approval_request":
            return
        from assistant import promises
        with self.app.store.session() as session:
            draft = session.get(Draft, row.draft_id)
            approval.after_sending(session, draft, self.app.clock())
            # The time this letter names becomes a timer; earlier ones are kept or missed.
            promises.record(session, draft, self.app.clock())


_FIRST_SENTENCES = re.compile(r"^(.{20,300}?[.!?…])(\s|$)", re.DOTALL)
# A greeting says nothing about the problem; quoting it back reads like a form letter.
_GREETING = re.compile(
    r"^(добр(ый|ое|ого) (день|вечер|утро|дня)|здравствуйте|привет|коллеги|"
    r"hi|hello|hey|dear [^,!.\n]{1,40}|good (morning|afternoon|evening))\b[^.!?,\n]{0,40}[,.!]?\s*",
    re.IGNORECASE)


def client_words(text: str, limit: int = 300) -> str:
    """The client's own words about the problem: their first sentence or two, trimmed.

    >>> client_words("Добрый день! Отгрузка остановилась с утра. Помогите.")
    'Отгрузка остановилась с утра.'
    """
    flat = _GREETING.sub("", " ".join(text.split()), count=1)
    flat = flat[:1].upper() + flat[1:]
    found = _FIRST_SENTENCES.match(flat)
    words = found.group(1) if found else flat[:limit]
    return words if len(words) <= limit else words[: limit - 1].rsplit(" ", 1)[0] + "…"


def last_client_message(session: Session, ticket: Ticket, first: bool = False) -> Message | None:
    """The client's newest mail on the ticket (with first, the one that opened it)."""
    # Only the client's own mail: a consultant's approval reply is kept on the ticket too.
    query = select(Message).where(Message.ticket_id == ticket.id, Message.direction == "in",
                                  Message.fate.in_((Fate.NEW_TICKET.value, Fate.REPLY.value)))
    if first:
        return session.exec(query.order_by(Message.received_at, Message.id)).first()
    return session.exec(query.order_by(Message.received_at.desc(), Message.id.desc())).first()
