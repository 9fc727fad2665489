"""The support mailbox over IMAP: fetch new mail by UID, mark it done, wait for more.

Logging in and coming back after a dropped line is `imapconnection`.
"""

from __future__ import annotations

import logging
import os
import ssl
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Sequence

from imapclient import IMAPClient
from imapclient.imapclient import SENT

from assistant.config import Settings
from assistant.errors import ConfigError
from assistant.transport.fetched import Backoff, Batch, Cursor, Fetched
from assistant.transport.imapconnection import CONNECTION_LOST, ImapConnection, one_line_reason

log = logging.getLogger("assistant.transport.imap")

SEEN = b"\\Seen"
DELETED = b"\\Deleted"
# RFC 2177 section 3: a server may drop a client idle for 30 minutes, so IDLE is
# ended and issued again well before 29.
IDLE_RENEW_SECONDS = 25 * 60
# How often a wait asks whether the daemon was told to stop.
STOP_CHECK_SECONDS = 1.0
# Large messages come in pieces of this size, straight to a file on disk.
PIECE_BYTES = 1024 * 1024
DONE_CHOICES = ("keyword", "move")


class Inbox(ImapConnection):
    """The support mailbox. Public methods reconnect by themselves after a dropped line.

        with Inbox(settings, settings.secret("imap")) as inbox:
            batch = inbox.fetch_new("INBOX", cursor)
            ...
            inbox.mark_done("INBOX", [m.uid for m in batch.messages])
    """

    def __init__(self, settings: Settings, password: str, *, backoff: Backoff = Backoff(),
                 sleep: Callable[[float], None] = time.sleep, spool_dir: Path | None = None,
                 timeout: float = 60, ssl_context: ssl.SSLContext | None = None):
        super().__init__(settings, password, backoff=backoff, sleep=sleep, timeout=timeout,
                         ssl_context=ssl_context)
        self.folders = tuple(settings.imap.folders)
        self.done = settings.imap.done
        self.done_keyword = settings.imap.done_keyword
        self.done_folder = settings.imap.done_folder
        self.use_idle = bool(settings.imap.idle)
        self.poll_seconds = float(settings.imap.poll_seconds)
        self.batch = max(1, int(settings.imap.batch))
        self.large_bytes = settings.storage.max_message_bytes
        self._spool_dir = spool_dir
        self._sent_folder = settings.imap.sent_folder or None
        self._uidnext: dict[str, int] = {}   # per folder: UIDNEXT when we last looked
        if self.done not in DONE_CHOICES:
            raise ConfigError(f"imap.done must be keyword or move, not {self.done!r}")

    # -- reading ----------------------------------------------------------------------

    def fetch_new(self, folder: str, cursor: Cursor | None) -> Batch:
        """Up to imap.batch messages after `cursor`, oldest first, never marking them \\Seen.

        Messages carrying the done keyword are skipped. When the folder's UIDVALIDITY is
        not the cursor's (RFC 3501 section 2.3.1.1: the UIDs were reassigned), the folder
        is read from the start and `reset` is set; the caller drops duplicates by
        Message-ID or content hash.
        """
        return self.with_reconnect(lambda client: self._fetch_new(client, folder, cursor), f"fetch from {folder}")

    def _fetch_new(self, client: IMAPClient, folder: str, cursor: Cursor | None) -> Batch:
        selected = client.select_folder(folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        self._uidnext[folder] = int(selected.get(b"UIDNEXT", 0))
        reset = cursor is not None and cursor.uidvalidity != uidvalidity
        if reset:
            log.warning("imap: %s UIDVALIDITY changed from %d to %d; reading the whole folder again",
                        folder, cursor.uidvalidity, uidvalidity)
        last = cursor.last_uid if cursor is not None and not reset else 0
        # "N:*" always matches the highest UID even when it is below N (RFC 3501
        # section 6.4.8), hence the filter after the search.
        found = client.search(["UID", f"{last + 1}:*", "NOT", "KEYWORD", self.done_keyword])
        uids = sorted(uid for uid in found if uid > last)
        chunk = uids[:self.batch]
        messages = self._fetch_uids(client, folder, uidvalidity, chunk)
        if chunk:
            log.info("imap: fetched %d of %d new messages from %s (uids %d..%d)",
                     len(messages), len(uids), folder, chunk[0], chunk[-1])
        return Batch(folder, uidvalidity, tuple(messages), Cursor(uidvalidity, chunk[-1] if chunk else last),
                     reset=reset, more=len(uids) > len(chunk))

    def _fetch_uids(self, client: IMAPClient, folder: str, uidvalidity: int, uids: list[int]) -> list[Fetched]:
        if not uids:
            return []
        sizes = {uid: int(data[b"RFC822.SIZE"]) for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()}
        small = [uid for uid in uids if uid in sizes and sizes[uid] <= self.large_bytes]
        bodies = client.fetch(small, ["BODY.PEEK[]"]) if small else {}
        fetched = []
        for uid in uids:
            if uid in bodies and bodies[uid].get(b"BODY[]") is not None:
                raw = bodies[uid][b"BODY[]"]
                fetched.append(Fetched(folder, uid, uidvalidity, len(raw), raw=raw))
            elif uid in sizes and uid not in small:
                fetched.append(self._fetch_large(client, folder, uidvalidity, uid, sizes[uid]))
            # else: expunged by someone meanwhile; it is gone, so there is nothing to read.
        return fetched

    def _fetch_large(self, client: IMAPClient, folder: str, uidvalidity: int, uid: int, size: int) -> Fetched:
        """A message over storage.max_message_mb, fetched piece by piece into a file."""
        if self._spool_dir is not None:
            self._spool_dir.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f"imap-{uid}-", suffix=".eml", dir=self._spool_dir)
        path, written = Path(name), 0
        try:
            with os.fdopen(handle, "wb") as out:
                while True:
                    # RFC 3501 section 6.4.5: BODY[]<offset.length> returns a partial body.
                    key = f"BODY.PEEK[]<{written}.{PIECE_BYTES}>"
                    answer = client.fetch([uid], [key]).get(uid, {})
                    piece = answer.get(f"BODY[]<{written}>".encode()) or b""
                    out.write(piece)
                    written += len(piece)
                    if len(piece) < PIECE_BYTES:
                        break
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        log.info("imap: large message %s:%d (%d bytes) kept in %s", folder, uid, written, path)
        return Fetched(folder, uid, uidvalidity, written, path=path)

    # -- marking ----------------------------------------------------------------------

    def mark_done(self, folder: str, uids: Iterable[int]) -> None:
        """Mark processed messages per imap.done: the keyword, or a move to imap.done_folder.

        Nothing is ever deleted otherwise. The keyword is set in both cases, so a moved
        message is not read again even if the done folder is also one we read.
        """
        uids = sorted(set(uids))
        if uids:
            self.with_reconnect(lambda client: self._mark_done(client, folder, uids), f"mark done in {folder}")

    def _mark_done(self, client: IMAPClient, folder: str, uids: list[int]) -> None:
        client.select_folder(folder)
        for chunk in _chunks(uids, self.batch):
            client.add_flags(chunk, [self.done_keyword], silent=True)
        if self.done == "move":
            self._move(client, folder, uids)
        log.info("imap: marked %d messages done in %s (%s)", len(uids), folder, self.done)

    def _move(self, client: IMAPClient, folder: str, uids: list[int]) -> None:
        _ensure_folder(client, self.done_folder)
        if client.has_capability("MOVE"):
            for chunk in _chunks(uids, self.batch):
                client.move(chunk, self.done_folder)
        elif client.has_capability("UIDPLUS"):
            # UID EXPUNGE removes only these UIDs, never other mail a person flagged \Deleted.
            for chunk in _chunks(uids, self.batch):
                client.copy(chunk, self.done_folder)
                client.add_flags(chunk, [DELETED], silent=True)
                client.uid_expunge(chunk)
        else:
            log.warning("imap: %s offers neither MOVE nor UIDPLUS; done mail stays in %s with %s",
                        self.host, folder, self.done_keyword)

    def sent_folder(self) -> str:
        """Where copies of our mail go: imap.sent_folder when set, else the folder the
        server marks \\Sent (RFC 6154 SPECIAL-USE, e.g. "Sent Items"), else "Sent"."""
        if self._sent_folder is None:
            found = self.with_reconnect(lambda client: client.find_special_folder(SENT), "list folders")
            self._sent_folder = found or "Sent"
            log.info("imap: copies of sent mail go to %s", self._sent_folder)
        return self._sent_folder

    def append(self, folder: str, raw: bytes, flags: tuple[bytes, ...] = (SEEN,)) -> None:
        """Put a message into `folder` (made if missing), e.g. a copy of a sent reply.

        After a dropped connection the APPEND is sent again, which may leave a second
        copy: harmless for a Sent folder, and better than none.
        """
        def action(client: IMAPClient) -> None:
            _ensure_folder(client, folder)
            client.append(folder, raw, flags=flags)
        self.with_reconnect(action, f"append to {folder}")

    # -- waiting ----------------------------------------------------------------------

    def wait(self, timeout: float, stop: Callable[[], bool] = lambda: False,
             folders: Sequence[str] | None = None) -> bool:
        """Wait up to `timeout` seconds for new mail; True when some arrived (or may have).

        Uses IDLE (RFC 2177) on the first folder when the server offers it and imap.idle
        is on, else looks every imap.poll_seconds. With several folders, IDLE watches one
        only, so the wait is capped at imap.poll_seconds for the sake of the others.
        `folders` are the ones this daemon reads (all of imap.folders unless told).
        `stop` is asked about once a second: a daemon told to stop does not sit out the wait.
        """
        folders = tuple(folders or self.folders)
        folder = folders[0]
        if len(folders) > 1:
            timeout = min(timeout, self.poll_seconds)
        deadline = time.monotonic() + timeout
        use_idle = self.use_idle and self.with_reconnect(lambda c: c.has_capability("IDLE"), "capability")
        if not use_idle:
            return self._poll(folder, deadline, stop)
        if self.with_reconnect(lambda client: self._grew(client, folder), f"select {folder}"):
            return True
        try:
            return self._idle(self._client, deadline, stop)
        except CONNECTION_LOST as exc:
            # The next fetch reconnects with back-off; mail may have come meanwhile.
            self._drop()
            log.warning("imap: connection lost while idle (%s)", one_line_reason(exc))
            return True

    def _grew(self, client: IMAPClient, folder: str) -> bool:
        """True when UIDNEXT moved on since we last looked, i.e. mail was added."""
        uidnext = int(client.select_folder(folder, readonly=True).get(b"UIDNEXT", 0))
        known = self._uidnext.setdefault(folder, uidnext)
        return uidnext > known

    def _poll(self, folder: str, deadline: float, stop: Callable[[], bool]) -> bool:
        next_look = time.monotonic()
        while not stop():
            if time.monotonic() >= next_look:
                if self.with_reconnect(lambda client: self._grew(client, folder), f"look at {folder}"):
                    return True
                next_look = time.monotonic() + self.poll_seconds
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self._sleep(max(0.0, min(next_look - time.monotonic(), remaining, STOP_CHECK_SECONDS)))
        return False

    def _idle(self, client: IMAPClient, deadline: float, stop: Callable[[], bool]) -> bool:
        while time.monotonic() < deadline and not stop():
            segment_end = min(deadline, time.monotonic() + IDLE_RENEW_SECONDS)
            client.idle()
            try:
                if _arrived_while_idle(client, segment_end, stop):
                    return True
            finally:
                client.idle_done()
        return False


def _arrived_while_idle(client: IMAPClient, until: float, stop: Callable[[], bool]) -> bool:
    while (remaining := until - time.monotonic()) > 0 and not stop():
        piece = min(remaining, STOP_CHECK_SECONDS)
        started = time.monotonic()
        responses = client.idle_check(timeout=piece)
        if any(len(r) >= 2 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
            return True
        if not responses and time.monotonic() - started < piece - 0.25:
            # imapclient returns nothing early when the server closed the line;
            # ending IDLE then raises, which is what tells us.
            return False
    return False


def _ensure_folder(client: IMAPClient, folder: str) -> None:
    if not client.folder_exists(folder):
        client.create_folder(folder)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    # Chunks keep every command under the server's line limit (Dovecot: 64 KB).
    for start in range(0, len(items), size):
        yield items[start:start + size]


