"""The daemon: reads the mailbox, sends what is approved, runs the schedules; stops cleanly."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

import schedule
from sqlmodel import select

from assistant.errors import BatchIncomplete, MailboxUnavailable
from assistant.models import MailboxCursor
from assistant.walk import Tally

log = logging.getLogger("assistant.daemon")

SEND_EVERY_SECONDS = 20
MAX_WAIT_SECONDS = 60


class Daemon:
    """Wires the stages on its own `schedule.Scheduler` (never the library's global one)."""

    def __init__(self, app, *, inbox_factory: Callable | None = None):
        self.app = app
        self.settings = app.settings
        self.scheduler = schedule.Scheduler()
        self.stopping = threading.Event()
        self._inbox_factory = inbox_factory or self._default_inbox
        self._inbox = None

    def run(self, once: bool = False) -> int:
        """Work until SIGTERM/SIGINT (or, with once, until nothing is waiting); returns 0."""
        self._install_signals()
        recovered = self.app.follow.outbox.recover()
        if recovered:
            log.error("daemon: %d mails were caught mid-send by the last stop; see the outbox",
                      recovered)
        self.scheduler.every(SEND_EVERY_SECONDS).seconds.do(self.send)
        for job in getattr(self.app, "schedules", lambda: ())():
            job(self.scheduler)
        try:
            if once:
                self.step()
                self.scheduler.run_all()
                return 0
            log.info("daemon: started; reading %s", self.settings["imap.host"] or "no mailbox")
            while not self.stopping.is_set():
                self.step()
                self.scheduler.run_pending()
                self._wait()
            log.info("daemon: stopped cleanly")
            return 0
        finally:
            self._close_inbox()
            self.app.understanding.close()

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
        tally = self.read_mail()
        self.app.follow.acknowledge_due()
        self.send()
        return tally

    # -- mail in ------------------------------------------------------------------------
    def read_mail(self) -> Tally:
        """Every new message of every folder, batch by batch, each with exactly one fate."""
        tally = Tally()
        if not self.settings["imap.host"]:
            return tally
        try:
            inbox = self._open_inbox()
            for folder in self.settings["imap.folders"]:
                while not self.stopping.is_set():
                    more = self._one_batch(inbox, folder, tally)
                    if not more:
                        break
        except MailboxUnavailable as exc:
            log.warning("daemon: mailbox unavailable (%s); will try again", exc)
            self._close_inbox()
        return tally

    def _one_batch(self, inbox, folder: str, tally: Tally) -> bool:
        from assistant.inbox import Cursor
        account = f"{self.settings['imap.username']}@{self.settings['imap.host']}"
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
        self.app.walk.run_after_commit()
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
        from assistant.inbox import Inbox
        return Inbox(self.settings, self.settings.secret("imap"),
                     spool_dir=self.settings.path("storage", "data_dir") / "spool")

    def _close_inbox(self) -> None:
        if self._inbox is not None:
            try:
                self._inbox.close()
            finally:
                self._inbox = None

    def _wait(self) -> None:
        seconds = min(MAX_WAIT_SECONDS, max(1, self.scheduler.idle_seconds or MAX_WAIT_SECONDS))
        if self.settings["imap.host"] and self._inbox is not None:
            try:
                self._inbox.wait(seconds, stop=self.stopping.is_set)
                return
            except MailboxUnavailable as exc:
                log.warning("daemon: %s", exc)
                self._close_inbox()
        self.stopping.wait(seconds)

    # -- mail out -----------------------------------------------------------------------
    def send(self) -> None:
        if not self.settings["smtp.host"]:
            return
        sent, failed = self.app.follow.outbox.send_due(after_sent=self._after_sent)
        if sent or failed:
            log.info("daemon: sent %d, %d to retry", sent, failed)

    def _after_sent(self, row) -> None:
        self.app.follow.after_sent(row)
        if self._inbox is not None and row.kind != "approval_request":
            try:
                self._inbox.append("Sent", row.raw)
            except MailboxUnavailable as exc:
                log.warning("daemon: no copy of %s in Sent: %s", row.message_id, exc)
