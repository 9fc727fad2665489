"""What follows a ticket's change: the acknowledgement, approval requests, on-call alerts, sending."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

from sqlmodel import Session, select

from assistant import approval, conversation, promises, quoting
from assistant.errors import Rejected
from assistant.intake import Incoming
from assistant.models import Client, Draft, Fate, Message, OutboxMail, Ticket, TicketChange
from assistant.notices import Notices
from assistant.outbox import Letter, Outbox
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
        from assistant.oncall import OnCall
        self.oncall = OnCall(self)

    def steps(self):
        return (self.acknowledge,)

    def interceptors(self):
        from assistant.bounces import Bounces
        from assistant.consultantmail import ConsultantMail
        return (Bounces(self).from_mail, self.consultant_mail, self.access.from_mail,
                ConsultantMail(self).from_mail)

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
        return self.settings.support.domain

    # -- drafts ---------------------------------------------------------------------------
    def make_draft(self, session: Session, ticket: Ticket, situation: str, now: datetime,
                   extra: dict | None = None, in_reply_to: str | None = None,
                   automatic: bool = False) -> Draft:
        """Render `situation` for the ticket, check its tone, and keep it as a draft.

        A letter a consultant reviews is signed by them; one that may go out on its own
        carries their name only when they already know the ticket, else the team's.
        """
        from assistant.replycontext import context_for
        named = not automatic or promises.knows(session, ticket.id, ticket.assignee)
        ctx = context_for(session, self.app, ticket, now, extra or {},
                          quote_first=situation == "acknowledgement",
                          sign_as=ticket.assignee if named else None)
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
        elif outcome.fate is Fate.REPLY:
            self._works_now(session, ticket, mail, now)

    def _works_now(self, session: Session, ticket: Ticket, mail: Incoming, now: datetime) -> None:
        """«Спасибо, всё заработало!»: a reason to suggest resolving, not to reopen or chase."""
        words = self.app.triage.works_now(mail.visible_text or mail.text, ticket.language)
        if not words:
            return
        reopened = session.exec(select(TicketChange).where(
            TicketChange.ticket_id == ticket.id, TicketChange.field == "status",
            TicketChange.why.contains(mail.message_id))).first()
        if reopened is not None and reopened.old in ("resolved", "closed"):
            session.delete(reopened)
            ticket.status, ticket.reopened_at = reopened.old, None
            why = f"the client confirmed it works («{words}»); it stays {reopened.old}"
        else:
            why = f"the client wrote «{words}»: suggest resolving (assistant tickets set " \
                  f"{ticket.id} status=resolved)"
        session.add(TicketChange(ticket_id=ticket.id, field="suggestion", new="resolve",
                                 why=why, at=now))
        log.info("followup: %s: %s", ticket.tag, why)

    def acknowledge_due(self, limit: int = 500) -> int:
        """Acknowledge new tickets (sent at once when allowed, else drafted for approval),
        then alert the on-call people of critical ones, whose consultant is known by now."""
        done = self._acknowledge_all(limit)
        try:
            with self.app.store.session() as session:
                self.oncall.send_due(session, self.app.clock())
        except Exception:  # noqa: BLE001 - alerts are retried next round; the log says why
            log.exception("followup: on-call alerts not sent; trying again next round")
        return done

    def _acknowledge_all(self, limit: int) -> int:
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
        auto = self.settings.approval.auto_send_acknowledgement
        draft = self.make_draft(session, ticket, "acknowledgement", now,
                                in_reply_to=first.message_id if first else None, automatic=auto)
        if auto and draft.findings == "[]":
            approval._set(session, draft, "approved", "assistant", now)
            self.dispatch(session, draft, now)
            return "blocked" if draft.status == "blocked" else "sent"
        self.ask_approval(session, draft, None, now)
        return "drafted"

    def pick_consultant(self, session: Session, ticket: Ticket) -> str | None:
        """Consultants who speak the ticket's language, taken in turn by ticket number."""
        people = [p for p in self.settings.consultants if ticket.language in p.languages]
        people = people or list(self.settings.consultants)
        return people[ticket.id % len(people)].email if people else None

    def dispatch(self, session: Session, draft: Draft, now: datetime) -> OutboxMail:
        """Queue an approved draft for the client.

        When the outbox refuses it (a cap, a no-reply address) the draft is "blocked", not
        left "approved": the client never got it, and nothing may later say they did.
        """
        signer = self.signer(session)
        from_name = self.from_name(session, draft)
        letter = approval.letter_for(session, draft, signer.message_id(draft.ticket_id, self.domain),
                                     from_name, automatic=draft.automatic)
        row = self.outbox.queue(session, letter, kind=draft.situation, ticket_id=draft.ticket_id,
                                draft_id=draft.id)
        if row.status == "blocked":
            approval._set(session, draft, "blocked", draft.decided_by or promises.ASSISTANT, now)
            log.warning("followup: draft %d for #%d blocked: %s", draft.id, draft.ticket_id,
                        row.last_error)
            return row
        session.add(Message(message_id=row.message_id, content_hash="", ticket_id=draft.ticket_id,
                            direction="out", fate="sent", from_address=self.settings.support.address,
                            from_name=from_name, to_addresses=row.recipients, subject=draft.subject,
                            in_reply_to=letter.in_reply_to, visible_text=draft.text, text=draft.text,
                            received_at=now))
        return row

    def from_name(self, session: Session, draft: Draft) -> str:
        """"Мария Иванова, Служба поддержки", or the team alone for a letter that went out on
        its own in the name of nobody who knows the ticket yet."""
        from assistant.replycontext import name_in
        people = {p.email: p for p in self.settings.consultants}
        consultant = people.get(draft.decided_by or "") or people.get(draft.consultant or "")
        if draft.decided_by == promises.ASSISTANT and not promises.knows(
                session, draft.ticket_id, draft.consultant):
            consultant = None
        team = self.settings.support_name(draft.language)
        return f"{name_in(consultant, draft.language)}, {team}" if consultant else team

    def ask_approval(self, session: Session, draft: Draft, mail: Incoming | None,
                     now: datetime) -> None:
        """Mail the draft to its consultant; their reply approves, edits or rejects it."""
        if not draft.consultant:
            log.info("followup: draft %d waits in `assistant drafts` (no consultant configured)",
                     draft.id)
            return
        person = next((p for p in self.settings.consultants if p.email == draft.consultant), None)
        if person is None:
            log.warning("followup: draft %d: %s is not a configured consultant; it waits in "
                        "`assistant drafts`", draft.id, draft.consultant)
            return
        ticket = session.get(Ticket, draft.ticket_id)
        client = session.get(Client, ticket.client_id)
        if mail is None:
            last = last_client_message(session, ticket)
            client_text = quoting.own_words(last.visible_text or last.text) if last else ""
        else:
            client_text = mail.visible_text
        from assistant.replycontext import name_in
        lang = person.languages[0]
        subject, text = self.notices.render(
            "approval_request", lang, ticket=ticket, client=client, draft=draft,
            consultant=person, person=name_in(person, lang).split()[0], client_text=client_text,
            findings=json.loads(draft.findings), code=f"d{draft.id}-{draft.token}")
        letter = Letter(to=(person.email,), subject=subject, text=text,
                        message_id=approval.approval_message_id(draft, self.domain),
                        from_name=self.settings.support.name)
        self.outbox.queue(session, letter, kind="approval_request", ticket_id=ticket.id,
                          draft_id=draft.id)

    # -- consultants answering an approval request -------------------------------------------
    def consultant_mail(self, session: Session, mail: Incoming, now: datetime) -> Outcome | None:
        """An approval by mail: it counts only with the draft's token, from the consultant's
        address, when our own server did not see the sender fail authentication.

        Refusals are settled as system mail with their reason, never as an internal error:
        a second "ok" on a draft already sent is a reason to tell the consultant, not a crash.
        """
        draft, forged = approval.draft_for_reply(session, mail)
        if draft is None and forged is None:
            return None
        if mail.is_system:
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id if draft else None,
                           "an automatic reply to an approval request; not a verdict")
        why = forged or self._not_trusted(mail)
        if why:
            log.warning("followup: approval refused (%s) in %s", why, mail.message_id)
            if draft is not None:
                self._note_refusal(session, draft, mail.from_address, why, now)
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id if draft else None,
                           f"approval refused: {why}")
        try:
            said = self.decide(session, draft, approval.read_verdict(mail.visible_text),
                               mail.from_address, now)
        except Rejected as exc:
            log.warning("followup: approval refused (%s) in %s", exc, mail.message_id)
            self._note_refusal(session, draft, mail.from_address, str(exc), now)
            self._tell(session, draft, "approval_refused", now, reason=str(exc))
            return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id, f"approval refused: {exc}")
        return Outcome(Fate.SYSTEM, mail.message_id, draft.ticket_id,
                       f"draft {draft.id} {said} by {mail.from_address}")

    def _not_trusted(self, mail: Incoming) -> str | None:
        if mail.from_address not in {p.email for p in self.settings.consultants}:
            return f"{mail.from_address} is not a consultant"
        said = conversation.authentication(mail, self.settings)
        if said.failed:
            return said.reason(mail.from_address.rpartition("@")[2])
        return None

    def _note_refusal(self, session: Session, draft: Draft, who: str, why: str,
                      now: datetime) -> None:
        # Recorded by the assistant, not in the sender's name: the sender may be a forger,
        # and a change in a consultant's name would count as them knowing the ticket.
        session.add(TicketChange(ticket_id=draft.ticket_id, field=f"draft {draft.id}",
                                 old=draft.status, new=draft.status,
                                 why=f"approval by mail from {who} refused: {why}", at=now))

    def decide(self, session: Session, draft: Draft, verdict: approval.Verdict, who: str,
               now: datetime) -> str:
        """Apply a verdict to a draft; of several at once (mail, CLI, page) one wins.

        The draft's row is read again under a lock (SELECT ... FOR UPDATE): a second
        decision waits for the first to commit, then sees it, and `approval.decide` refuses
        it with who decided and when.
        """
        session.refresh(draft, with_for_update=True)
        said = approval.decide(session, draft, verdict, who, now, self.app.tone.check)
        if said == "approved":
            self.dispatch(session, draft, now)
            if draft.status == "blocked":
                said = "blocked: the outbox refused it (see `assistant outbox`)"
        elif said.startswith("held") and verdict.action == "edit":
            self.ask_approval(session, draft, None, now)
        elif verdict.action == "unclear":
            self._tell(session, draft, "approval_question", now, reason=verdict.text)
        return said

    def _tell(self, session: Session, draft: Draft, notice: str, now: datetime, **values) -> None:
        """A short mail to the draft's consultant about their answer; replying to it still
        decides the draft (its Message-ID carries the token)."""
        person = next((p for p in self.settings.consultants if p.email == draft.consultant), None)
        if person is None:
            return
        from assistant.replycontext import name_in
        ticket = session.get(Ticket, draft.ticket_id)
        lang = person.languages[0]
        subject, text = self.notices.render(notice, lang, ticket=ticket, draft=draft,
                                            person=name_in(person, lang).split()[0], **values)
        letter = Letter(to=(person.email,), subject=subject, text=text,
                        message_id=approval.approval_message_id(draft, self.domain),
                        from_name=self.settings.support.name)
        self.outbox.queue(session, letter, kind="approval_request", ticket_id=ticket.id,
                          draft_id=draft.id)

    def on_critical(self, session: Session, ticket: Ticket, now: datetime) -> None:
        """Mark the ticket for the on-call people; `acknowledge_due` alerts them once its
        consultant is known. Imported history alerts nobody."""
        if self.app.acknowledge_new_tickets:
            self.oncall.mark(session, ticket, now)

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
