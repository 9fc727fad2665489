"""What the desk keeps between requests: sign-in links, browser sessions, who edits which draft.

Only hashes of links and session tokens are stored: a copy of the database lets nobody
sign in. A link is spent by a conditional UPDATE, so two clicks (or a mail scanner and a
person) cannot both use it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Column, Index, update
from sqlmodel import Field, Session, SQLModel, delete, select

from assistant.store.columns import UTCDateTime
from assistant.store.database import Store


def _when(nullable: bool = True):
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable))


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link mailed to a consultant or manager."""

    __table_args__ = (Index("ix_signinlink_email_created", "email", "created_at"),)

    token_hash: str = Field(primary_key=True)
    email: str
    created_at: datetime | None = _when(nullable=False)
    expires_at: datetime | None = _when(nullable=False)
    used_at: datetime | None = _when()


class WebSession(SQLModel, table=True):
    """A signed-in browser; the cookie holds the token, the row only its hash."""

    token_hash: str = Field(primary_key=True)
    email: str = Field(index=True)
    created_at: datetime | None = _when(nullable=False)
    expires_at: datetime | None = _when(nullable=False)


class DraftPresence(SQLModel, table=True):
    """Who has a draft open in the editor, and when their page last spoke to us."""

    __table_args__ = (Index("ix_draftpresence_draft_email", "draft_id", "email", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int
    email: str
    seen_at: datetime | None = _when(nullable=False)


TABLES = (SignInLink.__table__, WebSession.__table__, DraftPresence.__table__)
PRESENCE_WINDOW = timedelta(minutes=2)


def ensure_tables(store: Store) -> None:
    """Create the desk's tables when missing; the daemon's tables are the store's own."""
    SQLModel.metadata.create_all(store.engine, tables=list(TABLES))


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Signed:
    email: str
    token: str          # the cookie value; only its hash is kept


class Keeper:
    """Issues and checks links and sessions against the store, on the app's clock."""

    def __init__(self, store: Store, clock, link_minutes: int, session_hours: int):
        self.store = store
        self.clock = clock
        self.link_life = timedelta(minutes=link_minutes)
        self.session_life = timedelta(hours=session_hours)

    def links_since(self, email: str, since: datetime) -> int:
        """How many links went to `email` since then (the per-address rate limit)."""
        with self.store.session() as session:
            return len(session.exec(select(SignInLink.token_hash).where(
                SignInLink.email == email, SignInLink.created_at >= since)).all())

    def issue_link(self, email: str) -> str:
        """A fresh link token for `email`; returns the token (goes into the mail only)."""
        token, now = secrets.token_urlsafe(32), self.clock()
        with self.store.session() as session:
            session.add(SignInLink(token_hash=digest(token), email=email, created_at=now,
                                   expires_at=now + self.link_life))
        return token

    def link_email(self, token: str) -> str | None:
        """The address a link is for while it is unspent and fresh, else None."""
        with self.store.session() as session:
            row = session.get(SignInLink, digest(token))
        if row is None or row.used_at is not None or row.expires_at <= self.clock():
            return None
        return row.email

    def redeem(self, token: str) -> Signed | None:
        """Spend a link and open a session for its address; None when spent, old or unknown."""
        now = self.clock()
        with self.store.session() as session:
            spent = session.exec(update(SignInLink).where(
                SignInLink.token_hash == digest(token), SignInLink.used_at.is_(None),
                SignInLink.expires_at > now).values(used_at=now))
            if spent.rowcount != 1:
                return None
            email = session.get(SignInLink, digest(token)).email
            cookie = secrets.token_urlsafe(32)
            session.add(WebSession(token_hash=digest(cookie), email=email, created_at=now,
                                   expires_at=now + self.session_life))
        return Signed(email, cookie)

    def session_email(self, cookie: str) -> str | None:
        with self.store.session() as session:
            row = session.get(WebSession, digest(cookie))
        if row is None or row.expires_at <= self.clock():
            return None
        return row.email

    def close(self, cookie: str) -> None:
        with self.store.session() as session:
            session.exec(delete(WebSession).where(WebSession.token_hash == digest(cookie)))

    def seen_editing(self, draft_id: int, email: str) -> list[tuple[str, datetime]]:
        """Note that `email` has the draft open; returns the others who had it open lately."""
        now = self.clock()
        with self.store.session() as session:
            row = session.exec(select(DraftPresence).where(
                DraftPresence.draft_id == draft_id, DraftPresence.email == email)).first()
            row = row or DraftPresence(draft_id=draft_id, email=email)
            row.seen_at = now
            session.add(row)
            others = session.exec(select(DraftPresence.email, DraftPresence.seen_at).where(
                DraftPresence.draft_id == draft_id, DraftPresence.email != email,
                DraftPresence.seen_at >= now - PRESENCE_WINDOW)).all()
        return [(other, seen) for other, seen in others]
