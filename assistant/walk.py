"""The order of the stages, written once: raw bytes in, exactly one fate out."""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from email.parser import BytesParser
from email.policy import compat32
from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from assistant import conversation, intake
from assistant.config import Settings
from assistant.budget import cpu_budget
from assistant.errors import BatchIncomplete, Unparseable, crash_reason
from assistant.intake import Incoming
from assistant.models import Fate, Message, Quarantine, RawMessage, Ticket, utcnow
from assistant.prework import Understood
from assistant.records import record_message
from assistant.store import Store

log = logging.getLogger("assistant.walk")

Clock = Callable[[], datetime]

# One message's walk. Each step either settles the fate or passes the message on;
# the first step that settles it ends the walk.
#   keep        the raw bytes are stored before anything else can go wrong
#   understand  intake.parse: decoded text, attachments, flags (quarantine if hopeless)
#   deduplicate the same Message-ID already has a fate (another folder, a re-scan)
#   intercept   a consultant's mail about a draft (approval by reply) is settled here
#   thread      conversation.find: its ticket by signed headers or tag; held when suspicious
#   sort        bounces, auto-replies, list mail: kept beside their ticket, never answered
#   ticket      a reply joins its ticket; anything else opens one (client record on first contact)
#   assess      triage: language, priority, category, deadlines (a reply may raise them)
#   follow      what comes after a ticket changed: the acknowledgement draft, alerts
STAGES = ("keep", "understand", "deduplicate", "intercept", "thread", "sort", "ticket", "assess", "follow")


# `quarantine retry` of a message that ran out of time gives it this many times as long.
RETRY_BUDGET_FACTOR = 10


@dataclass
class Outcome:
    """What became of one message."""

    fate: Fate
    message_id: str | None = None
    ticket_id: int | None = None
    reason: str = ""


@dataclass
class Tally:
    """The fates of a run, in the shape `import --json` prints."""

    fates: Counter = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.fates[outcome.fate] += 1

    @property
    def read(self) -> int:
        return sum(self.fates.values())

    def as_dict(self) -> dict[str, int]:
        return {"read": self.read, **{fate.value: self.fates[fate] for fate in Fate}}


# A step after a ticket gained a message: (session, ticket, mail, outcome, now) -> None.
FollowUp = Callable[[Session, Ticket, Incoming, Outcome, datetime], None]
# A step that may settle a message before threading: (session, mail, now) -> Outcome | None.
Interceptor = Callable[[Session, Incoming, datetime], "Outcome | None"]


class Walk:
    """Runs the stages for each message. Holds no connection: the caller owns the session."""

    def __init__(self, settings: Settings, store: Store, *, clock: Clock = utcnow,
                 assessor=None, follow_ups: Iterable[FollowUp] = (),
                 interceptors: Iterable[Interceptor] = (),
                 after_commit: Iterable[Callable[[], object]] = ()):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.assessor = assessor
        self.follow_ups = tuple(follow_ups)
        self.interceptors = tuple(interceptors)
        self.after_commit = tuple(after_commit)
        self._signer_cache: conversation.Signer | None = None
        self.dating: Callable[[Incoming, datetime], datetime] | None = None  # import: the mail's own time
        self.max_message_bytes = settings.storage.max_message_bytes
        self.max_attachment_bytes = settings.storage.max_attachment_bytes
        self.budget = settings.performance.message_budget_seconds

    def process(self, raw: bytes, source: str = "", *, retry: bool = False) -> Outcome:
        """Walk one message in its own transaction, then write what it made due."""
        with self.store.session() as session:
            outcome = self.process_in(session, raw, source, retry=retry)
        self.run_after_commit()
        return outcome

    def run_after_commit(self) -> None:
        """The letters the walk decided on (alerts, owner requests), once its fates are committed.

        Each hook guards its own letters; a hook that still fails is logged and tried again
        after the next batch, never charged to the mail that was walked.
        """
        for hook in self.after_commit:
            try:
                hook()
            except Exception:  # noqa: BLE001 - the fates are committed; letters wait
                log.exception("walk: writing the letters due after the commit failed")

    def process_in(self, session: Session, raw: bytes, source: str = "", *,
                   retry: bool = False, understood: Understood | None = None) -> Outcome:
        """Walk one message inside the caller's transaction; never raises for bad mail.

        A savepoint keeps one message's failure from undoing the rest of the batch; an
        unexpected error quarantines the message with its reason instead of losing it.
        """
        digest = _digest(raw, understood)
        savepoint = session.begin_nested()
        try:
            outcome = self._walk(session, raw, digest, source, retry, understood)
            savepoint.commit()
        except Exception as exc:  # noqa: BLE001 - one bad message never stops the loop
            savepoint.rollback()
            log.exception("walk: %s from %s failed; quarantined", digest[:12], source)
            outcome = self._quarantine_after_crash(session, raw, digest, source, exc)
        _log(outcome, source, digest)
        return outcome

    def process_batch(self, session: Session, messages: Sequence[tuple[bytes, str]],
                      understood: Iterable[Understood | None] = ()) -> list[Outcome]:
        """Walk a batch inside the caller's transaction: one outcome per message, in order.

        `messages` are (raw bytes, source) pairs; `understood` may be a generator of what a
        worker made of them, in the same order, so each message is walked as soon as it is
        understood while the worker reads the next ones. Should that generator fail or end
        early, the rest are understood here: the batch is never shortened.

        The batch first runs under a single savepoint, because a savepoint per message costs
        two statements and a flush each. Should any message fail, that savepoint is rolled
        back and the batch is walked again message by message, each in its own savepoint,
        so the failure is quarantined and the others keep their fates.

        Raises BatchIncomplete if, against all of the above, a message has no outcome: the
        caller must then not tell the mail server that anything is done.
        """
        ahead = _Ahead(understood)
        walked: list[Understood | None] = []
        known = _Known()
        try:
            with session.begin_nested():
                outcomes = []
                for raw, source in messages:
                    walked.append(ahead.next())
                    digest = _digest(raw, walked[-1])
                    outcomes.append(self._walk(session, raw, digest, source, False, walked[-1], known))
        except Exception:  # noqa: BLE001 - replayed carefully below
            log.info("walk: a message in the batch failed; walking the %d one by one", len(messages))
            walked.extend(ahead.next() for _ in range(len(messages) - len(walked)))
            outcomes = [self.process_in(session, raw, source, understood=pre)
                        for (raw, source), pre in zip(messages, walked)]
        else:
            for (raw, source), pre, outcome in zip(messages, walked, outcomes):
                _log(outcome, source, _digest(raw, pre))
        if len(outcomes) != len(messages):
            raise BatchIncomplete(f"{len(outcomes)} fates for {len(messages)} messages")
        return outcomes

    def _walk(self, session: Session, raw: bytes, digest: str, source: str,
              retry: bool, understood: Understood | None = None,
              known: "_Known | None" = None) -> Outcome:
        now = self.clock()
        known = known or _Known()
        kept = known.has_bytes(session, digest)
        if kept and not retry:
            return Outcome(Fate.DUPLICATE, reason="the same bytes were read before")
        if not kept:
            self._keep(session, raw, digest)
        try:
            mail = self._understand(raw, understood, retry)
        except Unparseable as exc:
            return quarantine(session, digest, str(exc), source, now)
        verdict = understood.verdict if understood else None
        now = self.dating(mail, now) if self.dating else now
        if known.has_message_id(session, mail.message_id):
            return Outcome(Fate.DUPLICATE, mail.message_id, reason="Message-ID already stored")
        for intercept in self.interceptors:
            settled = intercept(session, mail, now)
            if settled is not None:
                record_message(session, mail, settled.fate, settled.ticket_id, source, now)
                return settled
        match = conversation.find(mail, session, self._signer(session), self.settings)
        if mail.is_system:
            ticket_id = match.ticket.id if match.ticket else None
            record_message(session, mail, Fate.SYSTEM, ticket_id, source, now)
            return Outcome(Fate.SYSTEM, mail.message_id, ticket_id, _system_reason(mail))
        if match.held:
            return quarantine(session, digest, match.held, source, now, mail=mail, kind="held",
                              ticket_id=match.ticket.id if match.ticket else None)
        return self._ticket(session, mail, match, source, now, verdict)

    def _ticket(self, session: Session, mail: Incoming, match: conversation.Match,
                source: str, now: datetime, verdict=None) -> Outcome:
        if match.ticket is not None:
            ticket, fate = match.ticket, Fate.REPLY
            conversation.reopen_if_done(ticket, session, now, mail.message_id)
            conversation.add_participants(session, ticket, (*mail.to, *mail.cc), self.settings)
        else:
            client = conversation.client_for(mail, session, self.settings, now)
            ticket = conversation.open_ticket(mail, client, session, self.settings, now)
            fate = Fate.NEW_TICKET
        record_message(session, mail, fate, ticket.id, source, now)
        outcome = Outcome(fate, mail.message_id, ticket.id)
        if self.assessor is not None:
            self.assessor(session, ticket, mail, fate, now, verdict)
        for follow_up in self.follow_ups:
            follow_up(session, ticket, mail, outcome, now)
        return outcome

    def _signer(self, session: Session) -> conversation.Signer:
        # The key is made once and never changes, so one look-up serves the process.
        if self._signer_cache is None:
            self._signer_cache = conversation.signer_for(self.settings, session)
        return self._signer_cache

    def _keep(self, session: Session, raw: bytes, digest: str) -> None:
        if len(raw) > self.max_message_bytes:
            # Huge mail goes to a file beside the database rather than into a row.
            folder = self.settings.storage.data_path / "raw" / digest[:2]
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{digest}.eml"
            _write_durably(path, raw)
            relative = str(path.relative_to(self.settings.storage.data_path))
            session.add(RawMessage(content_hash=digest, size=len(raw), path=relative))
        else:
            session.add(RawMessage(content_hash=digest, size=len(raw), data=raw))

    def _understand(self, raw: bytes, understood: Understood | None,
                    retry: bool = False) -> Incoming:
        if understood is not None and understood.error:
            raise Unparseable(understood.error)
        if understood is not None and understood.mail is not None:
            return understood.mail
        own = self.settings.support_addresses
        budget = self.budget * (RETRY_BUDGET_FACTOR if retry else 1)
        with cpu_budget(budget):
            if len(raw) <= self.max_message_bytes:
                return intake.parse(raw, own_addresses=own,
                                    max_attachment_bytes=self.max_attachment_bytes)
            return _headers_only(raw, own, self.max_message_bytes)

    def _quarantine_after_crash(self, session, raw, digest, source, exc) -> Outcome:
        if session.get(RawMessage, digest) is None:
            self._keep(session, raw, digest)
        return quarantine(session, digest, crash_reason(exc, "processing"), source, self.clock())


class _Known:
    """What a batch has already stored, so the duplicate checks need not flush.

    A query would first write every pending row of the batch (autoflush) one statement
    at a time; remembering this batch's own hashes and Message-IDs lets the queries run
    without flushing and the rows go out together.
    """

    def __init__(self):
        self.hashes: set[str] = set()
        self.message_ids: set[str] = set()

    def has_bytes(self, session: Session, digest: str) -> bool:
        return _stored_or_seen(session, self.hashes, RawMessage.content_hash, digest)

    def has_message_id(self, session: Session, message_id: str) -> bool:
        return _stored_or_seen(session, self.message_ids, Message.message_id, message_id)


def _stored_or_seen(session: Session, seen: set[str], column, value: str) -> bool:
    if value in seen:
        return True
    seen.add(value)
    with session.no_autoflush:
        return session.exec(select(column).where(column == value)).first() is not None


class _Ahead:
    """What a worker understood, one message at a time; None once it has nothing more.

    A generator that raises is dead for good, so its failure is logged once and the
    remaining messages are read by the walk itself.
    """

    def __init__(self, understood: Iterable[Understood | None]):
        self._values = iter(understood)
        self._done = False

    def next(self) -> Understood | None:
        if self._done:
            return None
        try:
            return next(self._values)
        except StopIteration:
            self._done = True
        except Exception:  # noqa: BLE001 - the walk reads the rest itself
            log.exception("walk: the worker's results ended early; reading the rest here")
            self._done = True
        return None


def _digest(raw: bytes, understood: Understood | None) -> str:
    return understood.digest if understood else hashlib.sha256(raw).hexdigest()


def _log(outcome: Outcome, source: str, digest: str) -> None:
    log.info("walk: %s %s -> %s%s", source or "-", outcome.message_id or digest[:12],
             outcome.fate.value, f" {outcome.reason}" if outcome.reason else "")


def quarantine(session: Session, digest: str, reason: str, source: str, now: datetime, *,
               mail: Incoming | None = None, kind: str = "unparseable",
               ticket_id: int | None = None) -> Outcome:
    """Set a message aside with its reason; its raw bytes are already kept."""
    session.add(Quarantine(
        content_hash=digest, message_id=mail.message_id if mail else None,
        from_address=mail.from_address if mail else "", subject=mail.subject if mail else "",
        kind=kind, reason=reason, ticket_id=ticket_id, source=source, created_at=now))
    session.flush()
    return Outcome(Fate.QUARANTINED, mail.message_id if mail else None, ticket_id, reason)


def raw_bytes(session: Session, settings: Settings, digest: str) -> bytes:
    """The kept bytes of a message, wherever they are."""
    row = session.get(RawMessage, digest)
    if row is None:
        raise KeyError(digest)
    if row.data is not None:
        return row.data
    return (settings.storage.data_path / row.path).read_bytes()


def _headers_only(raw: bytes, own: frozenset[str], limit: int) -> Incoming:
    """The mail's headers with a note for a body, for a message too big to read whole."""
    header_end = raw.find(b"\r\n\r\n")
    header_end = raw.find(b"\n\n") if header_end < 0 else header_end
    head = raw[:header_end] if header_end >= 0 else raw[:65536]
    note = (f"The message is {len(raw) / 2**20:.0f} MB, over the {limit / 2**20:.0f} MB limit: "
            f"it is kept as it came and was not read further.")
    stub = BytesParser(policy=compat32).parsebytes(head, headersonly=True)
    # The original Content-Type describes a body the stub does not carry.
    for name in ("Content-Type", "Content-Transfer-Encoding", "MIME-Version"):
        del stub[name]
    stub["Content-Type"] = "text/plain; charset=utf-8"
    stub.set_payload(note.encode())
    mail = intake.parse(stub.as_bytes(), own_addresses=own)
    return replace(mail, content_hash=hashlib.sha256(raw).hexdigest(), size=len(raw),
                   notes=(*mail.notes, note))


def _write_durably(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _system_reason(mail: Incoming) -> str:
    kinds = [name for name, flag in (("bounce", mail.bounce), ("auto-reply", mail.auto_reply),
                                     ("mailing list", mail.mailing_list), ("our own mail", mail.loop))
             if flag]
    return ", ".join(kinds)
