"""The daemon: reads the mailbox, sends what is approved, runs the schedules; stops cleanly."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence

import schedule
from sqlmodel import select

from assistant.errors import BatchIncomplete, MailboxUnavailable
from assistant.daemon.leases import SCHEDULE, Heartbeat, Leases, SingleDaemon
from assistant.store.glance import CONTACT, mailbox_lease
from assistant.store.models import MailboxCursor, OutboxMail, Setting
from assistant.transport.fetched import Cursor
from assistant.transport.imap import Inbox
from assistant.walk import heap
from assistant.walk.passage import Tally

log = logging.getLogger("assistant.daemon.runner")

SEND_EVERY_SECONDS = 20
MAX_WAIT_SECONDS = 60
ACKNOWLEDGE_ROUND = 20


class Daemon:
    """Wires the stages on its own `schedule.Scheduler` (never the library's global one).

    Several daemons may share one PostgreSQL database: each reads a folder of the mailbox
    and runs the schedule only under a lease (assistant.daemon.leases), sharing the folders
    out between the daemons alive, and claims outgoing mail row by row, so whatever runs
    where, each message is read once, each letter goes once and each scheduled slot runs
    once. On SQLite a second daemon refuses to start.
    """

    def __init__(self, app, *, inbox_factory: Callable | None = None):
        self.app = app
        self.settings = app.settings
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self._inbox_factory = inbox_factory or self._default_inbox
        self._inbox = None
        self.leases = Leases(app.store, seconds=self.settings.daemon.lease_seconds)
        self.mailbox = mailbox_lease(self.settings)
        # lease name -> folder, in the order of imap.folders; `reading` is this daemon's part.
        self.folder_leases = {mailbox_lease(self.settings, folder): folder
                              for folder in self.settings.imap.folders}
        self.reading: list[str] = []
        self.problems: list[str] = []       # what `run --once` could not reach
        self._stepping = False              # inside step(), where a long backlog may be cut short
        self._gained = False                # a folder became this daemon's during a step
        self._next_look = 0.0               # time.monotonic() of the next look at the leases
        # Months of mail with multi-megabyte attachments must not leave the heap in holes.
        heap.keep_large_blocks_apart()

    def run(self, once: bool = False) -> int:
        """Work until SIGTERM/SIGINT (or, with once, until nothing is waiting); returns 0.

        With once, raises MailboxUnavailable when the mailbox or the SMTP server could
        not be reached, after doing whatever else was waiting, so cron sees the failure.
        """
        self._install_signals()
        with SingleDaemon(self.app.settings.database_url) as single:
            if single.path is not None:
                # The file lock proves no other daemon runs on this SQLite file, so any
                # lease in it was left by one that was killed: no need to wait it out.
                self.leases.forget_all()
            self.leases.take(self.leases.presence)
            heartbeat = Heartbeat(self.leases, on_lost=self._lost).start()
            checkpoints = self.app.store.checkpoint_in_background()
            try:
                return self._run(once)
            finally:
                if checkpoints is not None:
                    checkpoints.stop()
                heartbeat.stop()
                self._close_inbox()
                self.leases.release_all()
                self.app.understanding.close()

    def _run(self, once: bool) -> int:
        self._recover()
        self.scheduler.every(SEND_EVERY_SECONDS).seconds.do(self.send)
        for job in getattr(self.app, "schedules", lambda: ())():
            job(self.scheduler, guard=self._under_schedule_lease)
        if once:
            self.step()
            self.scheduler.run_all()
            if self.problems:
                raise MailboxUnavailable("; ".join(dict.fromkeys(self.problems)))
            return 0
        log.info("daemon: started as %s; reading %s", self.leases.holder,
                 self.settings.imap.host or "no mailbox")
        while not self.stopping.is_set():
            self.step()
            self.scheduler.run_pending()
            if not self._gained:
                self._wait()
        log.info("daemon: stopped cleanly")
        return 0

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return

        def stop(signum, _frame):
            log.info("daemon: %s received; finishing the current step", signal.Signals(signum).name)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

    def step(self) -> Tally:
        """One round: new mail into tickets, their acknowledgements, then what is due to send."""
        self.problems.clear()
        self._gained = False
        self._stepping = True
        try:
            return self._step()
        finally:
            self._stepping = False

    def _step(self) -> Tally:
        reading = self._may_read()
        tally = self.read_mail(self.reading) if reading else Tally()
        if reading and self.settings.imap.host and self._inbox is None:
            self.problems.append(f"imap: {self.settings.imap.host} stopped answering while "
                                 f"the mail was read")
        self._note_contact()
        # In small rounds, so SIGTERM is heard between them even after a flood of new tickets.
        # Between rounds the daemon also looks whether a dead daemon's folder is its to read.
        while self.app.write_letters_due(limit=ACKNOWLEDGE_ROUND) >= ACKNOWLEDGE_ROUND \
                and not self._cut_short():
            pass
        self.send()
        return tally

    def _cut_short(self) -> bool:
        """True when the step should end now: the daemon is told to stop, or a folder it
        does not read yet has become its to read because the daemon reading it died.

        A step can spend minutes writing and sending a backlog of letters (a dead daemon's
        tickets among them); without this, nobody would read the dead daemon's folder until
        that backlog was through. The leases are looked at a third of a lease apart.
        """
        if self.stopping.is_set() or self._gained:
            return True
        if not self._stepping or not self.settings.imap.host or time.monotonic() < self._next_look:
            return False
        self._next_look = time.monotonic() + self.leases.length.total_seconds() / 3
        held = self.leases.share(list(self.folder_leases))
        self._gained = any(self.folder_leases[name] not in self.reading for name in held)
        if self._gained:
            log.info("daemon: a folder has become free to read; reading it before the letters")
        return self._gained

    # -- coordination -------------------------------------------------------------------
    def _may_read(self) -> bool:
        """True when this daemon holds the lease of some folder and the mailbox answers;
        `reading` then names the folders it reads this round."""
        if not self.settings.imap.host:
            return True
        held = self.leases.share(list(self.folder_leases))
        self.reading = [self.folder_leases[name] for name in held]
        if not self.reading:
            self._close_inbox()        # other daemons read them all; do not sit on a connection
            return False
        try:
            self._open_inbox()
            return True
        except MailboxUnavailable as exc:
            log.warning("daemon: mailbox unavailable (%s); will try again", exc)
            self.problems.append(str(exc))
            self._close_inbox()
            return False

    def _note_contact(self) -> None:
        """Remember when the mailbox last answered, for `assistant status`."""
        if self._inbox is None or not self._holds_a_folder():
            return
        key = CONTACT + self.mailbox
        with self.app.store.session() as session:
            row = session.get(Setting, key) or Setting(key=key, value="")
            row.value = self.app.clock().isoformat()
            session.add(row)

    def _under_schedule_lease(self, job: Callable) -> Callable:
        def guarded():
            if self.leases.take(SCHEDULE):
                return job()
            return None
        return guarded

    def _recover(self) -> None:
        recovered = self.app.outbox.recover(alive=self.leases.alive())
        if recovered:
            log.error("daemon: %d mails were caught mid-send by a daemon that stopped; "
                      "see the outbox", recovered)

    def _holds_a_folder(self) -> bool:
        return any(name in self.leases.held for name in self.folder_leases)

    def _lost(self, names: list[str]) -> None:
        for name in names:
            if name in self.folder_leases:
                log.warning("daemon: another daemon reads %s now", self.folder_leases[name])

    def _pause(self, seconds: float) -> None:
        """The inbox's wait between reconnects, cut short when the daemon is told to stop."""
        if self.stopping.wait(seconds):
            raise MailboxUnavailable("imap: not reconnecting, the daemon is stopping")

    # -- mail in ------------------------------------------------------------------------
    def read_mail(self, folders: Sequence[str] | None = None) -> Tally:
        """Every new message of `folders` (all of imap.folders unless told), batch by batch,
        each with exactly one fate. A folder whose lease was lost meanwhile is left alone."""
        tally = Tally()
        if not self.settings.imap.host:
            return tally
        try:
            inbox = self._open_inbox()
            for folder in self.settings.imap.folders if folders is None else folders:
                lease = mailbox_lease(self.settings, folder)
                while not self.stopping.is_set() and (folders is None or lease in self.leases.held):
                    more = self._one_batch(inbox, folder, tally)
                    if not more:
                        break
        except MailboxUnavailable as exc:
            log.warning("daemon: mailbox unavailable (%s); will try again", exc)
            self._close_inbox()
        return tally

    def _one_batch(self, inbox, folder: str, tally: Tally) -> bool:
        account = f"{self.settings.imap.username}@{self.settings.imap.host}"
        with self.app.store.session() as session:
            row = session.exec(select(MailboxCursor).where(
                MailboxCursor.account == account, MailboxCursor.folder == folder)).first()
            cursor = Cursor(row.uidvalidity, row.last_uid) if row else None
        batch = inbox.fetch_new(folder, cursor)
        if not batch.messages and not batch.reset and cursor == batch.cursor:
            return False
        # Order matters. The fates commit first; only then is the server told the messages
        # are done; only then does the cursor move. A crash before the cursor moves reads
        # the batch again, the walk calls each message a duplicate and it is marked done
        # this time, so nothing is lost, doubled, or left unmarked on the server.
        raws = [fetched.read() for fetched in batch.messages]
        messages = [(raw, fetched.source) for fetched, raw in zip(batch.messages, raws)]
        understood = self.app.understanding.understand(raws, self.app.clock())
        try:
            with self.app.store.session() as session:
                outcomes = self.app.walk.process_batch(session, messages, understood)
        except BatchIncomplete:
            raise
        except Exception:  # noqa: BLE001 - the batch's commit failed: one transaction each
            log.exception("daemon: the batch of %d from %s did not commit; walking them one by one",
                          len(messages), folder)
            outcomes = [self._walk_alone(raw, source) for raw, source in messages]
        done = [fetched.uid for fetched, outcome in zip(batch.messages, outcomes) if outcome]
        for outcome in filter(None, outcomes):
            tally.add(outcome)
        if done:
            inbox.mark_done(folder, done)
        # The cursor never passes a message without a committed fate: it is read again.
        last_uid = batch.cursor.last_uid
        stuck = [fetched.uid for fetched, outcome in zip(batch.messages, outcomes) if not outcome]
        if stuck:
            log.error("daemon: %d messages in %s could not be given a fate (UIDs %s); "
                      "they will be read again", len(stuck), folder, stuck[:10])
            last_uid = min(stuck) - 1
        with self.app.store.session() as session:
            row = session.exec(select(MailboxCursor).where(
                MailboxCursor.account == account, MailboxCursor.folder == folder)).first()
            row = row or MailboxCursor(account=account, folder=folder, uidvalidity=0)
            row.uidvalidity, row.last_uid = batch.cursor.uidvalidity, last_uid
            session.add(row)
        for fetched in batch.messages:
            fetched.discard()
        heap.give_back()
        return batch.more and not stuck

    def _walk_alone(self, raw: bytes, source: str):
        """One message in a transaction of its own; None if even that cannot commit."""
        try:
            return self.app.walk.process(raw, source)
        except Exception:  # noqa: BLE001 - the message stays unmarked and is read again
            log.exception("daemon: %s could not be given a fate", source)
            return None

    def _open_inbox(self):
        if self._inbox is None:
            self._inbox = self._inbox_factory()
            self._inbox.connect()
        return self._inbox

    def _default_inbox(self):
        return Inbox(self.settings, self.settings.secret("imap"), sleep=self._pause,
                     spool_dir=self.settings.storage.data_path / "spool")

    def _close_inbox(self) -> None:
        if self._inbox is not None:
            try:
                self._inbox.close()
            finally:
                self._inbox = None

    def _wait(self) -> None:
        seconds = min(MAX_WAIT_SECONDS, max(1, self.scheduler.idle_seconds or MAX_WAIT_SECONDS))
        if self.settings.imap.host and len(self.folder_leases) > 1:
            # Folders are shared between daemons: look again soon enough to take over one a
            # dead daemon read, or to hand one back to a daemon that has just started.
            seconds = min(seconds, self.leases.length.total_seconds() / 3)
        if self.settings.imap.host and self._inbox is not None and self.reading:
            try:
                self._inbox.wait(seconds, stop=self.stopping.is_set, folders=self.reading)
                return
            except MailboxUnavailable as exc:
                log.warning("daemon: %s", exc)
                self._close_inbox()
        self.stopping.wait(seconds)

    # -- mail out -----------------------------------------------------------------------
    def send(self) -> None:
        if not self.settings.smtp.host:
            return
        outbox = self.app.outbox
        self._recover()
        sent, failed = outbox.send_due(after_sent=self.app.dispatcher.after_sent, stop=self._cut_short)
        if outbox.unreachable:
            self.problems.append(outbox.unreachable)
        if sent or failed:
            log.info("daemon: sent %d, %d to retry", sent, failed)
        self.file_sent_copies()

    def file_sent_copies(self, limit: int = 200) -> int:
        """Copies of sent mail into the mailbox's Sent folder, by the daemon reading it.

        A copy that could not be filed (IMAP was down, or another daemon sent the mail)
        stays due and is filed on a later round. Returns how many were filed.
        """
        first = next(iter(self.folder_leases), None)
        if self._inbox is None or first not in self.leases.held:
            return 0       # the reader of the first folder files them, so each copy goes once
        with self.app.store.session() as session:
            due = session.exec(select(OutboxMail).where(OutboxMail.sent_copy == "due")
                               .order_by(OutboxMail.id).limit(limit)).all()
        filed = 0
        for row in due:
            try:
                self._inbox.append(self._inbox.sent_folder(), row.raw)
            except MailboxUnavailable as exc:
                log.warning("daemon: no copy of %s in Sent yet: %s", row.message_id, exc)
                break
            with self.app.store.session() as session:
                session.get(OutboxMail, row.id).sent_copy = "filed"
            filed += 1
        return filed
