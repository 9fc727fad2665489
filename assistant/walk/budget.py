"""A CPU-time budget for understanding one message, so one mail cannot hold intake for all.

Crafted mail (an HTML blockquote bomb, megabyte lines, parts nested hundreds deep) can make
a parser work for minutes. The budget counts the process's CPU time with an interval timer
(POSIX `setitimer` with `ITIMER_VIRTUAL`) and raises `OverBudget` from inside the parser when it
runs out; the message is then quarantined with a note and can be retried with more time.

Signals reach only the main thread, so elsewhere (a test running the walk in a thread) the
budget is not enforced; the daemon and its worker processes run their work on their main
threads, where it is.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from assistant.errors import OverBudget

log = logging.getLogger("assistant.walk.budget")


@contextmanager
def cpu_budget(seconds: float | None, what: str = "reading the message") -> Iterator[None]:
    """Raise OverBudget inside the block once it has used `seconds` of CPU time.

    `None` or 0 means no limit. Nested budgets are not supported: the inner one wins.
    """
    if not seconds or threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "ITIMER_VIRTUAL"):
        yield
        return

    def over(_signum, _frame):
        raise OverBudget(f"{what} took more than {seconds:g} s of CPU time")

    previous = signal.signal(signal.SIGVTALRM, over)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
