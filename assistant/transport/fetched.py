"""What reading the mailbox hands back: a folder's cursor, fetched messages, batches, back-off."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Cursor:
    """How far a folder has been read: valid only while the folder keeps its UIDVALIDITY."""

    uidvalidity: int
    last_uid: int = 0


@dataclass(frozen=True)
class Fetched:
    """One message as fetched. Small ones carry `raw`; large ones live in the file at `path`."""

    folder: str
    uid: int
    uidvalidity: int
    size: int
    raw: bytes | None = None
    path: Path | None = None

    @property
    def source(self) -> str:
        """Where it came from, e.g. "imap:INBOX:1700000000:42" (kept on the message row)."""
        return f"imap:{self.folder}:{self.uidvalidity}:{self.uid}"

    def read(self) -> bytes:
        """The whole message; for a large one this reads the file into memory."""
        return self.raw if self.raw is not None else self.path.read_bytes()

    def discard(self) -> None:
        """Remove the temporary file of a large message once it is stored elsewhere."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Batch:
    """What one `fetch_new` found. Store `cursor` once the messages' fates are committed.

    `reset` says the folder's UIDVALIDITY changed, so the folder is being read from the
    start again; `more` says further new messages wait beyond this batch.
    """

    folder: str
    uidvalidity: int
    messages: tuple[Fetched, ...]
    cursor: Cursor
    reset: bool = False
    more: bool = False


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: doubling from `first`, capped, jittered."""

    first: float = 1.0
    cap: float = 60.0
    attempts: int = 6

    def delay(self, attempt: int) -> float:
        # Jitter keeps several workers from hammering a server that just came back.
        return min(self.cap, self.first * 2 ** attempt) * random.uniform(0.5, 1.0)
