"""What the operator does with the outbox: queue a letter that failed again.

The list itself (mail that failed, waits, or may have gone out, and letters that could not
be written) is read by store.glance, where `assistant outbox` reads it without the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from assistant.errors import NotFound, Rejected
from assistant.store.database import Store
from assistant.store.models import OutboxMail
from assistant.store.states import OutboxStatus

RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNCERTAIN, OutboxStatus.BLOCKED)


class OutboxDesk:
    def __init__(self, store: Store, clock: Callable[[], datetime]):
        self.store = store
        self.clock = clock

    def retry(self, number: int) -> str:
        """Queue a failed, uncertain or blocked mail again, to go out on the next send."""
        with self.store.session() as session:
            row = session.get(OutboxMail, number)
            if row is None:
                raise NotFound(f"no outgoing mail {number}")
            if row.status not in RETRYABLE:
                raise Rejected(f"mail {number} is {row.status}; only failed, uncertain or "
                               f"blocked mail can be sent again")
            old, row.status = row.status, OutboxStatus.QUEUED
            row.next_attempt_at, row.attempts = self.clock(), 0
            row.last_error = f"queued again by the operator (was {old})"
        return f"mail {number} ({old}) is queued again"
