"""Moves a Python subprocess's wall clock ahead when the suite runs with --clock-shift.

The test session puts this folder on PYTHONPATH and sets ASSISTANT_TEST_CLOCK_SHIFT_DAYS, so
an `assistant` command a test starts lives on the same shifted date as the test itself.
Only Python processes read it: Dovecot and PostgreSQL keep the real clock, as they would.
"""

import os

_days = os.environ.get("ASSISTANT_TEST_CLOCK_SHIFT_DAYS")
if _days:
    from datetime import datetime, timedelta, timezone

    import time_machine

    time_machine.travel(datetime.now(timezone.utc) + timedelta(days=float(_days)), tick=True).start()
