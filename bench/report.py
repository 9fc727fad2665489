"""The manager summary over 10k, 100k and 1M tickets (5,000 open): it must stay flat as closed ones pile up.

    python bench/report.py [--sizes 10000,100000,1000000] [--open 5000] [--keep DIR]

Each database is built in a temporary folder with bulk inserts (executemany in one
transaction), then the summary is built three times and the median is printed beside a
ceiling measured in the same run: the bare SQL query for the open tickets and their
clients. Absolute figures drift on shared machines; the ratio and the flatness across
sizes are what to read.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.app import App  # noqa: E402
from assistant.config import Person, defaults  # noqa: E402
from assistant.policy.timetable import Readers  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
OPEN = ("new", "open", "waiting", "held")
CLIENTS = 20_000
CONSULTANTS = [Person(f"Консультант {n}", f"c{n}@example.com", ("ru", "en")) for n in range(20)]


def stamp(moment: datetime) -> str:
    """How SQLAlchemy keeps a UTC datetime in SQLite."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(path: Path, total: int, open_count: int, seed: int = 7) -> App:
    """A database of `total` tickets, `open_count` of them open, with work logs and promises."""
    settings = defaults().with_values(database__url=f"sqlite:///{path}")
    app = App(settings.__class__(settings.values, consultants=tuple(CONSULTANTS),
                                 managers=(Person("Олег", "oleg@example.com", ("ru",)),),
                                 base_dir=path.parent), clock=lambda: NOW)
    app.store  # creates the schema
    rng = random.Random(seed)
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany("INSERT INTO client (id, email, name, internal, created_at) VALUES (?,?,?,?,?)",
                         [(n, f"user{n}@{'example.com' if n % 10 == 0 else f'client{n % 500}.example'}",
                           f"Клиент {n}", int(n % 10 == 0), stamp(NOW - timedelta(days=900)))
                          for n in range(1, CLIENTS + 1)])
        columns, filler = _ticket_columns(conn)
        open_ids = set(rng.sample(range(1, total + 1), open_count))
        conn.executemany(f"INSERT INTO ticket ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         (_ticket(n, n in open_ids, rng, filler) for n in range(1, total + 1)))
        conn.executemany("INSERT INTO worklogentry (ticket_id, author, text, kind, client_visible, at, source) "
                         "VALUES (?,?,?,?,?,?,?)",
                         ((n, "c1@example.com", f"Сделали шаг {k} по обращению {n}", "done", int(k != 2),
                           stamp(NOW - timedelta(hours=k * 9 if n in open_ids else 24 * 400)), "cli")
                          for n in range(1, total + 1) if n in open_ids or n % 10 == 0 for k in range(3)))
        conn.executemany("INSERT INTO promise (ticket_id, due, promised_by, made_at, state) VALUES (?,?,?,?,?)",
                         ((n, stamp(NOW + timedelta(hours=rng.randint(-30, 30)) if n in open_ids
                                    else NOW - timedelta(days=rng.randint(30, 1000))),
                           "c1@example.com", stamp(NOW - timedelta(days=1)),
                           ("open" if rng.random() < 0.8 else "missed") if n in open_ids else "kept")
                          for n in range(1, total + 1)))
    conn.execute("ANALYZE")
    conn.close()
    return app


def _ticket_columns(conn) -> tuple[list[str], dict[str, object]]:
    # Columns added later by other parts of the assistant get a neutral value, so the
    # bench keeps working as the ticket table grows.
    known = ["id", "subject", "client_id", "status", "priority", "critical", "priority_reasons",
             "category", "language", "assignee", "created_at", "updated_at", "first_response_due",
             "resolution_due", "first_response_at", "client_last_heard_at", "resolved_at"]
    filler = {}
    for _cid, name, kind, notnull, default, _pk in conn.execute("PRAGMA table_info(ticket)"):
        if name not in known and notnull and default is None:
            filler[name] = 0 if kind.upper() in ("INTEGER", "BOOLEAN") else "none"
    return known + list(filler), filler


def _ticket(n: int, is_open: bool, rng: random.Random, filler: dict) -> tuple:
    if is_open:
        created = NOW - timedelta(minutes=rng.randint(10, 60 * 24 * 10))
        status, resolved = rng.choice(OPEN), None
    else:
        created = NOW - timedelta(days=rng.randint(11, 1000), minutes=rng.randint(0, 1440))
        status, resolved = rng.choice(("resolved", "closed")), stamp(created + timedelta(days=2))
    priority = rng.choice(("critical", "high", "normal", "normal", "low"))
    due = created + timedelta(hours={"critical": 4, "high": 12, "normal": 72, "low": 240}[priority])
    heard = stamp(created + timedelta(minutes=5))
    return (n, f"Обращение {n}: не проводится документ", rng.randint(1, CLIENTS), status, priority,
            int(priority == "critical"), "[]", "incident", "ru",
            CONSULTANTS[n % len(CONSULTANTS)].email, stamp(created), stamp(created),
            stamp(created + timedelta(hours=1)), stamp(due),
            None if is_open and rng.random() < 0.3 else heard, heard, resolved, *filler.values())


def ceiling(app: App) -> float:
    """The bare query: open tickets joined to their clients, rows fetched, nothing else.

    CROSS JOIN keeps SQLite's join order (tickets first, through the status index):
    with statistics it may otherwise start from the clients and read every ticket.
    """
    start = time.perf_counter()
    conn = sqlite3.connect(app.store.url.removeprefix("sqlite:///"))
    conn.execute("SELECT t.id, t.subject, t.status, t.resolution_due, c.email FROM ticket t "
                 "CROSS JOIN client c ON c.id = t.client_id WHERE t.status IN (?,?,?,?) "
                 "ORDER BY t.resolution_due", OPEN).fetchall()
    conn.close()
    return time.perf_counter() - start


def summary(app: App) -> tuple[float, float, int, int]:
    """Seconds to collect the rows and to render text and HTML; rows and HTML size."""
    checkpoints = app.checkpoints
    start = time.perf_counter()
    with app.store.session() as session:
        rows = checkpoints.summary.collect(session, NOW, NOW - timedelta(hours=12))
    collected = time.perf_counter()
    _subject, text, html = checkpoints.summary.render(rows, Readers("", (), "ru"), NOW,
                                                      NOW + timedelta(hours=7))
    return collected - start, time.perf_counter() - collected, len(rows), len(html) + len(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--open", type=int, default=5000)
    parser.add_argument("--keep", help="build the databases here and keep them")
    args = parser.parse_args()
    folder = Path(args.keep or tempfile.mkdtemp(prefix="summary-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'tickets':>9} {'open':>6} {'build s':>8} {'bare SQL ms':>12} {'rows ms':>8} "
          f"{'render ms':>10} {'summary ms':>11} {'x bare':>7} {'mail KB':>8}")
    for total in (int(s) for s in args.sizes.split(",")):
        started = time.perf_counter()
        app = build(folder / f"bench-{total}.db", total, min(args.open, total))
        built = time.perf_counter() - started
        app.checkpoints     # rules and templates are loaded once, as in the daemon
        summary(app)        # warm: SQLite pages and compiled templates, as in a running daemon
        bare = statistics.median(ceiling(app) for _ in range(3))
        runs = [summary(app) for _ in range(3)]
        rows_s = statistics.median(r[0] for r in runs)
        render_s = statistics.median(r[1] for r in runs)
        whole = statistics.median(r[0] + r[1] for r in runs)
        print(f"{total:>9,} {runs[0][2]:>6,} {built:>8.1f} {bare * 1000:>12.1f} {rows_s * 1000:>8.0f} "
              f"{render_s * 1000:>10.0f} {whole * 1000:>11.0f} {whole / bare:>7.0f} "
              f"{runs[0][3] / 1024:>8.0f}")
        app.store.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
