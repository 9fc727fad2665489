"""Import real-world mail nobody here wrote and check that every message got one fate.

    python bench/import_check.py PATH... [--workers N]

PATH is any mix of .eml files, folders, mbox files and Maildirs (for example CPython's
`Lib/test/test_email/data`, or a bounce corpus). The messages are counted the way
`assistant import` reads them, imported into a fresh SQLite database, and imported again:
the first run's `read` must equal the count, the second must find only duplicates.
Prints the fates of both runs, the quarantine reasons grouped, and the time taken.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--workers", type=int, default=0)
    args = parser.parse_args()

    from assistant.transport import files as sources
    from assistant.app import App
    from assistant.config import defaults

    given = sources.count(args.paths)
    with tempfile.TemporaryDirectory() as folder:
        settings = defaults().with_values(
            database__url=f"sqlite:///{folder}/bench.db", storage__data_dir=f"{folder}/data",
            performance__workers=args.workers)
        app = App(replace(settings, base_dir=Path(folder)))
        started = time.perf_counter()
        first = app.import_mail(sources.read(args.paths)).as_dict()
        elapsed = time.perf_counter() - started
        second = app.import_mail(sources.read(args.paths)).as_dict()
        reasons = Counter(row["reason"].split(":")[0][:80] for row in app.quarantine_rows())
    print(f"messages in the files: {given}")
    print(f"first import:  {first}  ({elapsed:.1f} s)")
    print(f"second import: {second}")
    for reason, count in reasons.most_common(10):
        print(f"  quarantined {count:4}  {reason}")
    whole = first["read"] == given and second["read"] == given and second["duplicates"] == given
    print("every message has exactly one fate, and a second import changes nothing" if whole
          else "MISMATCH: some messages have no fate, or the second import changed something")
    return 0 if whole else 1


if __name__ == "__main__":
    sys.exit(main())
