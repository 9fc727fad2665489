"""Letters to our own people that the walk decided on, written once its transaction commits.

The walk decides that a business owner must approve an access request while it holds the
message's transaction. Rendering and queueing that letter there would tie the client's
ticket to a template (a broken on-call template once quarantined a critical mail with no
ticket at all; on-call alerts are now marked and written the same way by oncall.py). So
the walk only records a PendingNotice, and `write_due` writes each in its own savepoint,
retrying a failure a few times before it is shown to the operator as failed. The daemon
runs it with the other letters the walk left due (`App.write_letters_due`: the
acknowledgements, the on-call alerts) once it has read its mail; a single walked message
(`Walk.process`) and an import run it after their commit. The on-call alert that oncall.py
could not write is recorded here as well, so `outbox list` and `status` read what failed
without loading a single template.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session, select

from assistant.store.models import PendingNotice, Setting, Ticket
from assistant.store.states import MailKind, NoticeState
from assistant.store.database import Store, claim_due, in_savepoint
from assistant.store.glance import UNWRITTEN_ALERT   # shown by `outbox list` and `status`

log = logging.getLogger("assistant.replies.pending")

MAX_ATTEMPTS = 5
# Setting key of the on-call alert that could not be written (oncall.py writes alerts and
# retries them every round): the operator sees it in `outbox list` and `status` until a
# round writes it (value: JSON with error, attempts, since, tickets, to).

# kind -> (session, ticket, detail, now) -> None: renders and queues the letter.
Writer = Callable[[Session, Ticket, str, datetime], None]


class PendingNotices:
    """Records notices inside the walk and writes them after it; one per process."""

    def __init__(self, store: Store, clock: Callable[[], datetime], writers: dict[MailKind, Writer]):
        self.store = store
        self.clock = clock
        self.writers = writers

    def record(self, session: Session, ticket: Ticket, kind: MailKind, now: datetime,
               detail: str = "") -> None:
        """Note inside the walk's transaction that `kind` is owed for `ticket`."""
        if kind not in self.writers:
            raise ValueError(f"no writer for notices of kind {kind!r}")
        session.add(PendingNotice(ticket_id=ticket.id, kind=kind, detail=detail, created_at=now))

    def write_due(self, limit: int = 200) -> int:
        """Write what is due, oldest first; returns how many were queued for sending."""
        written = 0
        with self.store.session() as session:
            # Several daemons on PostgreSQL: each notice is written by whoever locks it first.
            query = select(PendingNotice).where(PendingNotice.state == NoticeState.DUE) \
                .order_by(PendingNotice.id)
            for notice in claim_due(session, query, limit):
                written += self._write(session, notice)
        return written

    def _write(self, session: Session, notice: PendingNotice) -> bool:
        now = self.clock()
        failed = in_savepoint(session, lambda: self.writers[notice.kind](
            session, session.get(Ticket, notice.ticket_id), notice.detail, now))
        if failed is None:
            notice.state, notice.done_at = NoticeState.WRITTEN, now
            return True
        notice.attempts += 1
        notice.last_error = f"{type(failed).__name__}: {failed}".splitlines()[0][:500]
        if notice.attempts >= MAX_ATTEMPTS:
            notice.state, notice.done_at = NoticeState.FAILED, now
        log.error("pending: the %s for ticket #%d could not be written (attempt %d)",
                  notice.kind, notice.ticket_id, notice.attempts, exc_info=failed)
        return False


def alert_not_written(session: Session, tickets: list[int], addresses: list[str],
                      exc: Exception, now: datetime) -> None:
    """Keep why the on-call alert failed where `outbox list` and `status` show it."""
    row = session.get(Setting, UNWRITTEN_ALERT) or Setting(key=UNWRITTEN_ALERT, value="{}")
    before = json.loads(row.value or "{}")
    row.value = json.dumps({
        "error": f"{type(exc).__name__}: {exc}".splitlines()[0][:500],
        "attempts": before.get("attempts", 0) + 1, "since": before.get("since", now.isoformat()),
        "tickets": tickets, "to": ",".join(addresses)})
    session.add(row)


def alert_written(session: Session) -> None:
    """The on-call alert went out: nothing is left to show."""
    row = session.get(Setting, UNWRITTEN_ALERT)
    if row is not None:
        session.delete(row)
