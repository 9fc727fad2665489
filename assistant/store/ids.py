"""Primary keys handed out before their rows are written, so a batch is written in one flush.

A ticket's number is needed the moment it is opened (its message, participants, history
and log lines name it), but asking the database for it by inserting the row costs a flush
per ticket, and every later change to the row an UPDATE. With the number handed out
here, the row is written once, with the batch, as the walk has left it.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session, SQLModel


class Ids:
    """New ids for the rows one transaction adds to a table.

    On PostgreSQL each comes from the table's own sequence, so daemons sharing the
    database never hand out the same one (a rolled-back id is a gap, as with any insert).
    On SQLite the first is one past the largest id in the table, which is the number SQLite
    itself would give: every transaction there holds the file's write lock from its first
    statement (`BEGIN IMMEDIATE`, see store/database.py), so nobody else can take these ids
    before this transaction commits.

    Make one per savepoint, after the rows before it are flushed (`begin_nested` does),
    and create every row of its tables in that savepoint through it.
    """

    def __init__(self, session: Session):
        self.session = session
        self._next: dict[str, int] = {}

    def new(self, model: type[SQLModel]) -> int:
        table = model.__tablename__
        with self.session.no_autoflush:         # the pending rows are this object's own
            if self.session.get_bind().dialect.name == "postgresql":
                return self.session.execute(
                    text("SELECT nextval(pg_get_serial_sequence(:table, 'id'))"),
                    {"table": table}).scalar_one()
            if table not in self._next:
                largest = self.session.execute(text(f"SELECT max(id) FROM {table}")).scalar()
                self._next[table] = (largest or 0) + 1
        self._next[table] += 1
        return self._next[table] - 1
