"""Run one daemon in its own process on a fixed clock: `python daemonproc.py CONFIG START`.

The clock starts at START (ISO 8601) and moves on with real time, so a test can place
a summary time a few seconds ahead. The schedule and the sender look every second
instead of every minute, so a test of a few seconds sees them run.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

from assistant import config
from assistant.daemon import runner as daemon
from assistant.schedule import jobs as checkpoints
from assistant.app import App


def main() -> int:
    start, began = datetime.fromisoformat(sys.argv[2]), time.monotonic()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    checkpoints.EVERY_SECONDS = 1
    daemon.SEND_EVERY_SECONDS = 1
    app = App(config.load(Path(sys.argv[1])),
              clock=lambda: start + timedelta(seconds=time.monotonic() - began))
    return daemon.Daemon(app).run()


if __name__ == "__main__":
    sys.exit(main())
