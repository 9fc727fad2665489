"""Who does what when several daemons share one database: leases with a heartbeat, and a
file lock that keeps a second daemon off a SQLite file.

A lease is a row naming a piece of work (`mailbox:<account>/<folder>`, `schedule`) and the process
holding it until `expires_at`. Taking one is a single conditional UPDATE (or an INSERT
when the row is new), so two daemons asking at once never both get it, on SQLite or
PostgreSQL. The holder renews its leases every third of their length from a heartbeat
thread, so a long batch never lets one lapse; a daemon killed with SIGKILL stops renewing,
and another takes the work over once the lease has expired: within `daemon.lease_seconds`.

Times here are the database's own clock (`Store.now`), neither the assistant's business
clock nor the machine's: a lease is about whether a process is alive, never about the
date, and daemons on machines whose clocks disagree still agree on when one has lapsed,
because they all ask the one database.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from assistant.errors import ConfigError
from assistant.store.models import Lease
from assistant.store.database import Store
from assistant.store.glance import PROCESS_PREFIX

log = logging.getLogger("assistant.daemon.leases")

SCHEDULE = "schedule"

_identity: tuple[int, str] | None = None


def process_id() -> str:
    """This process's name in leases and outbox claims, e.g. "mail1:4242:9f3a1c"."""
    global _identity
    # Worked out again after a fork: a worker process is not its parent.
    if _identity is None or _identity[0] != os.getpid():
        _identity = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}")
    return _identity[1]


class Leases:
    """The leases one process takes, renews and gives back."""

    def __init__(self, store: Store, seconds: float = 30, holder: str | None = None):
        self.store = store
        self.length = timedelta(seconds=seconds)
        self.holder = holder or process_id()
        self.held: set[str] = set()
        self._lock = threading.Lock()     # the heartbeat thread renews what the loop takes

    @property
    def presence(self) -> str:
        """The lease saying this process is alive (its outbox claims are not orphans)."""
        return PROCESS_PREFIX + self.holder

    def take(self, name: str) -> bool:
        """Take or renew `name`; True when this process holds it now."""
        with self._lock:
            got = self._update(name) or self._insert(name)
            if got and name not in self.held:
                log.info("leases: %s now held by %s", name, self.holder)
            elif not got and name in self.held:
                log.warning("leases: %s was taken over by another daemon", name)
            (self.held.add if got else self.held.discard)(name)
            return got

    def _update(self, name: str) -> bool:
        # One statement: it reads and writes the row under the database's own lock, so of
        # two daemons asking at the same moment only one sees the old holder's lease lapsed.
        with self.store.session() as session:
            result = session.execute(
                update(Lease).where(Lease.name == name)
                .where((Lease.holder == self.holder) | (Lease.expires_at < self.store.now()))
                .values(holder=self.holder, expires_at=self.store.now(self.length)))
            return result.rowcount == 1

    def _insert(self, name: str) -> bool:
        try:
            with self.store.session() as session:
                session.execute(insert(Lease).values(
                    name=name, holder=self.holder, acquired_at=self.store.now(),
                    expires_at=self.store.now(self.length)))
            return True
        except IntegrityError:     # another daemon holds it (or took it a moment ago)
            return False

    def share(self, names: Sequence[str]) -> list[str]:
        """Take this process's fair part of `names`, work any daemon may do but one at a time.

        With n daemons alive each holds at most ceil(len(names) / n): one holding more
        gives the rest back, so a daemon that has just started gets its part on its next
        round, and one that has died is no longer counted once its presence lease expires.
        Returns the names held now, in the order given.
        """
        part = -(-len(names) // max(1, len(self.alive() | {self.holder})))
        held = [name for name in names if name in self.held and self.take(name)]
        for name in held[part:]:
            log.info("leases: giving %s back for another daemon to take", name)
            self.release(name)
        held = held[:part]
        for name in names:
            if len(held) >= part:
                break
            if name not in held and self.take(name):
                held.append(name)
        return [name for name in names if name in held]

    def renew(self) -> list[str]:
        """Renew every lease held; returns the names lost to another daemon meanwhile."""
        return [name for name in sorted(self.held) if not self.take(name)]

    def release(self, name: str) -> None:
        with self._lock, self.store.session() as session:
            session.execute(delete(Lease).where(Lease.name == name, Lease.holder == self.holder))
            self.held.discard(name)

    def release_all(self) -> None:
        """Give everything back, so another daemon need not wait for the leases to expire."""
        for name in sorted(self.held):
            with contextlib.suppress(Exception):   # stopping anyway; expiry frees it later
                self.release(name)

    def forget_all(self) -> None:
        """Drop every lease, whoever holds it: only when no other daemon can be running."""
        with self._lock, self.store.session() as session:
            session.execute(delete(Lease))
            self.held.clear()

    def alive(self) -> set[str]:
        """The processes whose presence lease has not expired."""
        with self.store.session() as session:
            names = session.exec(select(Lease.name).where(
                Lease.name.startswith(PROCESS_PREFIX), Lease.expires_at >= self.store.now())).all()
        return {name.removeprefix(PROCESS_PREFIX) for name in names}


class Heartbeat:
    """A thread renewing a process's leases every third of their length until stopped."""

    def __init__(self, leases: Leases, on_lost: Callable[[list[str]], None] = lambda lost: None):
        self.leases = leases
        self.on_lost = on_lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _beat(self) -> None:
        every = self.leases.length.total_seconds() / 3
        while not self._stop.wait(every):
            try:
                lost = self.leases.renew()
            except Exception as exc:  # noqa: BLE001 - the database may be away for a moment
                log.warning("leases: could not renew (%s)", str(exc).splitlines()[0])
                continue
            if lost:
                self.on_lost(lost)


class SingleDaemon:
    """On SQLite, a lock file beside the database that only one daemon can hold.

    A POSIX record lock (`lockf`) belongs to this process: the kernel drops it when the
    process ends in any way, SIGKILL included, so a stale lock file never blocks a restart.
    Unlike `flock`, it is not shared with forked children, so a worker that outlives a
    killed daemon for a moment does not keep the next daemon out.
    """

    def __init__(self, database_url: str):
        path = database_url.partition(":///")[2]
        self.path = Path(path + ".lock") if database_url.startswith("sqlite") and path \
            and path != ":memory:" else None
        self._file: IO[str] | None = None

    def __enter__(self) -> "SingleDaemon":
        if self.path is None:
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.lockf(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                handle.close()
                raise
            handle.seek(0)
            other = handle.read().strip() or "another process"
            handle.close()
            raise ConfigError(
                f"another daemon ({other}) already runs on {self.path.with_suffix('')}; "
                f"stop it first, or use PostgreSQL to run several") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()     # closing drops the lock
            self._file = None
