"""Parsing and triage in a worker process, so the second core works while the first writes.

Understanding a message (MIME, charsets, lemmas) needs nothing from the database; writing
its fate needs nothing but the result. On a two-core machine the daemon therefore hands
batches to one worker process and walks the results as they come back, in order. With
`performance.workers = 0`, or for a handful of messages, everything stays in-process.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gc
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from datetime import datetime

from assistant.mail import intake
from assistant.walk import heap
from assistant.walk.budget import cpu_budget
from assistant.config import Settings
from assistant.errors import Unparseable, crash_reason
from assistant.mail.intake import Incoming

if TYPE_CHECKING:       # triage brings spaCy; it is handed in, built where it is needed
    from assistant.policy.triage import Assessment, Triage

log = logging.getLogger("assistant.walk.workers")

CHUNK = 20                   # messages per hand-over: small enough to overlap, big enough to amortise
PARENT_CHECK_SECONDS = 0.5   # how soon a worker notices its daemon is gone
IN_PROCESS_BELOW = 40        # a worker's start-up (spaCy, rules) costs more than this many messages


@dataclass(frozen=True)
class Understood:
    """One message as the worker understood it: the mail and its triage, or why not."""

    digest: str
    mail: Incoming | None = None
    verdict: Assessment | None = None      # triage as for a first message (see Assessor)
    error: str | None = None               # Unparseable's reason


class Understanding:
    """Turns raw messages into Understood values, in a worker when that pays."""

    def __init__(self, settings: Settings, workers: int | None = None,
                 triage: Callable[[], Triage] | None = None):
        """`triage` gives the process's own Triage, so reading in-process builds no second
        set of pipelines and rules beside the one the rest of the daemon uses."""
        self.settings = settings
        self.workers = settings.performance.workers if workers is None else workers
        self._pool: ProcessPoolExecutor | None = None
        self._local = None
        self._triage = triage

    def understand(self, raws: list[bytes], now: datetime) -> Iterator[Understood]:
        """One Understood value per raw message, in order; never raises, never stops short.

        Whatever goes wrong with one message (a parser bug, its CPU budget) is that
        message's error; whatever goes wrong with the worker (it died, it raised) sends its
        chunk to be read here instead, message by message.
        """
        if self.workers <= 0 or len(raws) < IN_PROCESS_BELOW:
            yield from self._in_process(raws, now)
            return
        futures = [self._submit(raws[start:start + CHUNK], now)
                   for start in range(0, len(raws), CHUNK)]
        for start, future in zip(range(0, len(raws), CHUNK), futures):
            chunk = raws[start:start + CHUNK]
            try:
                results = future.result()
                if len(results) != len(chunk):
                    raise RuntimeError(f"the worker returned {len(results)} of {len(chunk)} messages")
            except Exception as exc:  # noqa: BLE001 - a failed worker loses no mail
                log.warning("prework: the worker failed (%s: %s); reading %d messages in-process",
                            type(exc).__name__, exc, len(chunk))
                self.close()
                yield from self._in_process(chunk, now)
            else:
                yield from results

    def _submit(self, chunk: list[bytes], now: datetime) -> Future:
        try:
            if self._pool is None:
                return self._start_pool(chunk, now)
            return self._pool.submit(_work, chunk, now)
        except (BrokenProcessPool, RuntimeError):
            self.close()
            failed: Future = Future()
            failed.set_exception(BrokenProcessPool("the worker pool could not take work"))
            return failed

    def _start_pool(self, chunk: list[bytes], now: datetime) -> Future:
        """The pool, started with its first chunk. Where workers are forked, they inherit
        this process's reader (pipelines and rules already built) instead of building their
        own: its pages stay shared, and the daemon with its worker fits in far less memory.
        The collector is frozen meanwhile, so it does not write to (and so copy) every page
        of those objects in the workers."""
        global _inherited
        self._pool = ProcessPoolExecutor(max_workers=self.workers, initializer=_start_worker,
                                         initargs=(self.settings,))
        if multiprocessing.get_start_method() != "fork":
            return self._pool.submit(_work, chunk, now)
        _inherited = self._reader()
        gc.freeze()
        try:
            return self._pool.submit(_work, chunk, now)   # forks the workers
        finally:
            gc.unfreeze()
            _inherited = None

    def _reader(self) -> _Reader:
        if self._local is None:
            self._local = _Reader(self.settings, self._triage() if self._triage else None)
        return self._local

    def _in_process(self, raws: Iterable[bytes], now: datetime) -> Iterator[Understood]:
        reader = self._reader()
        for raw in raws:
            yield reader.read(raw, now)

    def close(self, wait: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
            self._pool = None


class _Reader:
    """Parse plus triage with the settings' defaults; one per process."""

    def __init__(self, settings: Settings, triage: Triage | None = None):
        # Lazy: each worker process builds its own pipelines (spaCy); the parent hands its own in.
        from assistant.policy.language import Pipelines
        from assistant.policy.triage import Triage
        self.settings = settings
        self.triage = triage or Triage(settings, Pipelines())
        self.own = settings.support_addresses
        self.max_attachment = settings.storage.max_attachment_bytes
        self.max_message = settings.storage.max_message_bytes
        self.budget = settings.performance.message_budget_seconds

    def read(self, raw: bytes, now: datetime) -> Understood:
        """The message understood, or the reason it could not be; never raises."""
        digest = hashlib.sha256(raw).hexdigest()
        if len(raw) > self.max_message:
            return Understood(digest)        # the walk reads its headers itself
        try:
            with cpu_budget(self.budget):
                mail, verdict = self._read(raw, now, digest)
        except Unparseable as exc:           # OverBudget included
            return Understood(digest, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - one message's crash is that message's fate
            log.exception("prework: reading %s failed", digest[:12])
            return Understood(digest, error=crash_reason(exc, "reading the message"))
        return Understood(digest, _lighter(mail), verdict)

    def _read(self, raw: bytes, now: datetime, digest: str) -> tuple[Incoming, Assessment | None]:
        mail = intake.parse(raw, own_addresses=self.own, max_attachment_bytes=self.max_attachment,
                            content_hash=digest)
        verdict = None
        if not mail.is_system:
            verdict = self.triage.assess(
                mail.subject, mail.visible_text or mail.text, importance=mail.importance, now=now,
                default_language=self.settings.support.language,
                tz=self.settings.support.timezone)
        return mail, verdict


def _lighter(mail: Incoming) -> Incoming:
    # Attachment bytes would cross the process boundary only to be hashed; hash them here.
    if not any(part.data for part in mail.attachments):
        return mail
    parts = tuple(replace(p, data=None, sha256=hashlib.sha256(p.data).hexdigest())
                  if p.data is not None else p for p in mail.attachments)
    return replace(mail, attachments=parts)


# The worker process's own reader, built once by the pool's initializer. It lives in the
# worker only; the main process never touches it.
_worker_reader: _Reader | None = None
# The daemon's reader while it forks its workers (see Understanding._start_pool).
_inherited: _Reader | None = None


def _start_worker(settings: Settings) -> None:
    global _worker_reader
    _leave_with(os.getppid())
    heap.keep_large_blocks_apart()      # the worker parses the large mail: see walk/heap.py
    inherited = _inherited if _inherited is not None and _inherited.settings == settings else None
    _worker_reader = inherited or _Reader(settings)


def _leave_with(daemon_pid: int) -> None:
    """End this worker soon after its daemon ends, SIGKILL included. A pool's worker waits
    on a queue whose other end it also holds, so it would never see the daemon go and
    would sit on its memory and open files for good."""
    def watch() -> None:
        while os.getppid() == daemon_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)

    threading.Thread(target=watch, name="leave-with-daemon", daemon=True).start()


def _work(chunk: list[bytes], now: datetime) -> list[Understood]:
    return [_worker_reader.read(raw, now) for raw in chunk]
