"""The column types the tables share: times that stay aware in UTC, states kept as their value."""

from __future__ import annotations

import enum
from datetime import timezone

from sqlalchemy.types import DateTime, TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from assistant.clock import as_utc


class StateColumn(TypeDecorator):
    """A string column that keeps a `StrEnum`'s value and gives back the member.

    Stored text is exactly the value ("pending"), as before the enums existed, so no data
    moves. SQLAlchemy's own Enum type stores member names and is not used for that reason.
    Writing a value the enum does not know raises ValueError before it reaches the
    database; reading one (a row written by a newer version) gives the plain string back.
    """

    impl = AutoString
    cache_ok = True

    def __init__(self, states: type[enum.StrEnum], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.states = states

    def process_bind_param(self, value, dialect):
        return None if value is None else self.states(value).value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        try:
            return self.states(value)
        except ValueError:
            return value


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in and out, whatever the database keeps.

    SQLite has no time zones: it would hand back naive datetimes that compare wrongly
    with aware ones. Everything is stored as UTC and comes back aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: use an aware one")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value, dialect):
        return None if value is None else as_utc(value)
