"""SQLite's write-ahead log folded into the database file by a thread, not inside a commit.

In WAL mode a commit that finds the log over 1,000 pages checkpoints before it returns:
it copies the log into the database file and syncs both. A daemon keeps the raw bytes of
every message, so each 200-message batch (15 MB of mail) paid that inside its commit,
about 50 ms, and the next batch waited for it. The daemon hands the log to this thread
instead: woken by each commit, it checkpoints (PASSIVE: it neither waits for nor blocks
anyone) while the walk goes on with the next batch; SQLite lets go of the GIL while it
copies and syncs. Nothing about durability changes: a checkpoint syncs the log before it
copies, as the commit's own would have.

Should the thread fall behind or die, the daemon's connections still checkpoint by
themselves once the log passes `backstop_pages`, so it never grows without bound. Other
processes on the same file (the web desk, a command) keep SQLite's default.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from sqlalchemy import event
from sqlalchemy.engine import Engine

log = logging.getLogger("assistant.store.wal")

BACKSTOP_PAGES = 16384          # 64 MB of 4 KB pages: four batches of large mail behind
IDLE_SECONDS = 2.0              # a commit whose wake-up came early is caught up this soon


class Checkpointer:
    """One thread checkpointing the log of one SQLite database; start() and stop() it."""

    def __init__(self, engine: Engine, *, backstop_pages: int = BACKSTOP_PAGES):
        self.engine = engine
        self.path = engine.url.database
        self.backstop_pages = backstop_pages
        self._due = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Checkpointer":
        event.listen(self.engine, "connect", self._leave_the_log)
        event.listen(self.engine, "commit", self._wake)
        self.engine.dispose()       # connections opened before now would still checkpoint
        self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is None:
            return
        event.remove(self.engine, "commit", self._wake)
        event.remove(self.engine, "connect", self._leave_the_log)
        self._stopping.set()
        self._due.set()
        self._thread.join()
        self._thread = None

    def _leave_the_log(self, dbapi_conn, _record) -> None:
        dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={int(self.backstop_pages)}")

    def _wake(self, _conn) -> None:
        # Called as the commit begins: what it writes is caught by the next wake-up or
        # within IDLE_SECONDS.
        self._due.set()

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
        try:
            while True:
                self._due.wait(IDLE_SECONDS)
                self._due.clear()
                self.checkpoint(connection)
                if self._stopping.is_set():
                    return
        finally:
            connection.close()

    @staticmethod
    def checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:       # the next wake-up tries again; the backstop holds
            log.warning("wal: a checkpoint failed (%s)", (str(exc).splitlines() or [type(exc).__name__])[0])
