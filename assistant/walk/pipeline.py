"""The walk, written once as data: PIPELINE lists the stages in order; raw bytes in, one fate out.

Each stage is an object with one verb: it reads the message's Passage and either settles
its fate (returns an Outcome, which ends the walk) or passes it on (returns None). The
first stages keep the bytes and read them; then mail meant for us rather than about a
ticket (bounces of our letters, consultants' verdicts on drafts, owners' answers to
access requests, consultants' own notes) is settled; everything else finds or opens its
ticket, is assessed, and may be owed an acknowledgement. Letters the walk decides on are
only marked due; they are written after its transaction commits (`after_commit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import hashlib
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from assistant.config import Settings
from assistant.errors import BatchIncomplete, crash_reason
from assistant.mail.intake import Incoming
from assistant.policy.sla import SlaBook
from assistant.replies.acknowledge import Acknowledge
from assistant.replies.review import Review
from assistant.replies.staff import StaffMail
from assistant.store.database import Store
from assistant.clock import utcnow
from assistant.store.models import RawMessage
from assistant.store.states import Fate
from assistant.tickets.access import OwnerAnswer
from assistant.tickets.assessment import Assessor
from assistant.tickets.conversation import Signatures
from assistant.walk.approval_mail import ApprovalByMail
from assistant.walk.bounces import Bounces
from assistant.walk.consultant_mail import ConsultantMail
from assistant.store.raw import keep_raw
from assistant.walk.keep import Keep, Understand, quarantine
from assistant.clock import Clock
from assistant.walk.passage import Known, Outcome, Passage, Stage
from assistant.walk.records import record_message
from assistant.walk.stages import Assess, Deduplicate, Join, Thread, WorksNow
from assistant.walk.workers import CHUNK, Understood

if TYPE_CHECKING:       # triage brings spaCy; the App hands it in
    from assistant.policy.triage import Triage

log = logging.getLogger("assistant.walk.pipeline")

# Messages understood ahead of the walk, whose hashes, Message-IDs and senders are then
# looked up a query each (three a message cost more than the rest of opening its ticket,
# and on PostgreSQL each is a round trip): as many as a worker hands over at once, so
# the walk never waits for more than the worker's first chunk.
LOOKAHEAD = CHUNK


@dataclass(frozen=True)
class WalkParts:
    """What the stages are built from; each stage takes only the parts it uses."""

    settings: Settings
    signatures: Signatures
    triage: Triage
    assessor: Assessor
    sla: SlaBook
    staff: StaffMail
    review: Review


# The order of the walk. A stage returning an Outcome settles the message's fate.
PIPELINE: tuple[tuple[str, Callable[[WalkParts], Stage]], ...] = (
    ("keep", lambda p: Keep(p.settings)),                    # raw bytes stored first
    ("understand", lambda p: Understand(p.settings)),        # parsed, or quarantined with why
    ("deduplicate", lambda p: Deduplicate()),                # this Message-ID has a fate already
    ("bounces", lambda p: Bounces(p.settings, p.staff, p.signatures, p.sla)),  # our letter bounced
    ("approvals", lambda p: ApprovalByMail(p.settings, p.review)),  # a verdict on a draft
    ("owner answers", lambda p: OwnerAnswer(p.settings, p.signatures)),  # an owner's yes or no
    ("consultant mail", lambda p: ConsultantMail(p.settings, p.signatures)),  # notes, alert replies
    ("thread", lambda p: Thread(p.settings, p.signatures)),  # its ticket; system mail; held
    ("join", lambda p: Join(p.settings)),                    # joins its ticket or opens one
    ("assess", lambda p: Assess(p.assessor)),                # priority, deadlines, on-call mark
    ("works now", lambda p: WorksNow(p.triage)),             # «всё заработало»: suggest resolving
    ("acknowledge", lambda p: Acknowledge()),                # a new ticket is owed its letter
)


class Walk:
    """Runs the stages for each message. Holds no connection: the caller owns the session."""

    def __init__(self, settings: Settings, store: Store, parts: WalkParts, *,
                 clock: Clock = utcnow, after_commit: Iterable[Callable[[], object]] = ()):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.stages: tuple[tuple[str, Stage], ...] = tuple(
            (name, make(parts)) for name, make in PIPELINE)
        self.after_commit = tuple(after_commit)
        self.acknowledge = True
        self.max_message_bytes = settings.storage.max_message_bytes

    def stage(self, name: str) -> Stage:
        return dict(self.stages)[name]

    def read_history(self, dating: Callable[[Incoming, datetime], datetime],
                     acknowledge: bool = False) -> None:
        """Walk old mail (`assistant import`): dated by its own headers, and unless asked,
        nobody is written to about it."""
        self.stage("understand").dating = dating
        self.acknowledge = acknowledge

    def process(self, raw: bytes, source: str = "", *, retry: bool = False) -> Outcome:
        """Walk one message in its own transaction, then write what it made due."""
        with self.store.session() as session:
            outcome = self.process_in(session, raw, source, retry=retry)
        self.run_after_commit()
        return outcome

    def run_after_commit(self) -> None:
        """The letters the walk decided on (owner requests), once its fates are committed:
        after a single message (`process`) or an import's batch. The daemon writes them with
        its other letters instead (`App.write_letters_due`).

        Each hook guards its own letters; a hook that still fails is logged and tried again
        the next time letters are written, never charged to the mail that was walked.
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
        known = Known()
        savepoint = session.begin_nested()
        try:
            outcome = self._walk(session, raw, digest, source, retry, understood, known)
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
        known = Known()
        ahead = _Ahead(understood, LOOKAHEAD, on_read=lambda group: known.expect(session, group))
        walked: list[Understood | None] = []
        try:
            with session.begin_nested():
                outcomes = []
                for raw, source in messages:
                    walked.append(ahead.next())
                    digest = _digest(raw, walked[-1])
                    outcomes.append(self._walk(session, raw, digest, source, False, walked[-1], known))
        except Exception:  # noqa: BLE001 - replayed carefully below
            log.info("walk: a message in the batch failed; walking the %d one by one", len(messages))
            ahead.on_read = None
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
              known: Known | None = None) -> Outcome:
        passage = Passage(session, raw, digest, source, self.clock(), retry=retry,
                          understood=understood, known=known or Known(),
                          acknowledge=self.acknowledge)
        for _name, stage in self.stages:
            outcome = stage(passage)
            if outcome is not None:
                if outcome.fate is Fate.SYSTEM:
                    # Mail settled as ours or automatic is kept beside its ticket, if any.
                    record_message(session, passage.mail, outcome.fate, outcome.ticket_id,
                                   source, passage.now)
                return outcome
        return Outcome(passage.fate, passage.mail.message_id, passage.ticket.id)

    def _quarantine_after_crash(self, session, raw, digest, source, exc) -> Outcome:
        if session.get(RawMessage, digest) is None:
            keep_raw(session, self.settings, raw, digest, self.max_message_bytes)
        return quarantine(session, digest, crash_reason(exc, "processing"), source, self.clock())


class _Ahead:
    """What a worker understood, one message at a time; None once it has nothing more.

    Read `lookahead` at a time, each group shown to `on_read` before its first message is
    handed out (the batch looks up what it will ask of them: see Known.expect). A generator
    that raises is dead for good, so its failure is logged once and the remaining messages
    are read by the walk itself.
    """

    def __init__(self, understood: Iterable[Understood | None], lookahead: int = 1,
                 on_read: Callable[[list[Understood]], None] | None = None):
        self._values = iter(understood)
        self._done = False
        self._lookahead = lookahead
        self._buffer: deque[Understood] = deque()
        self.on_read = on_read

    def next(self) -> Understood | None:
        if not self._buffer:
            self._fill()
        return self._buffer.popleft() if self._buffer else None

    def _fill(self) -> None:
        while not self._done and len(self._buffer) < self._lookahead:
            try:
                self._buffer.append(next(self._values))
            except StopIteration:
                self._done = True
            except Exception:  # noqa: BLE001 - the walk reads the rest itself
                log.exception("walk: the worker's results ended early; reading the rest here")
                self._done = True
        if self._buffer and self.on_read is not None:
            self.on_read([item for item in self._buffer if item is not None])


def _digest(raw: bytes, understood: Understood | None) -> str:
    return understood.digest if understood else hashlib.sha256(raw).hexdigest()


def _log(outcome: Outcome, source: str, digest: str) -> None:
    log.info("walk: %s %s -> %s%s", source or "-", outcome.message_id or digest[:12],
             outcome.fate.value, f" {outcome.reason}" if outcome.reason else "")
