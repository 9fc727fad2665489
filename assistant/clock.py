"""Where "now" comes from: every part takes a clock, and this is the one a real run passes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A time read back from the database, aware in UTC: SQLite keeps no zone, so a naive
    one is UTC as it was written."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
