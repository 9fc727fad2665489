"""The desk's queue and ticket pages over 100,000 tickets (5,000 open, one of 200 messages).

    python bench/web.py [--tickets 100000] [--open 5000] [--messages 200] [--runs 20]

The database is built as bench/report.py builds it, plus a ticket of 200 messages and a
pending draft on every tenth open ticket. Each page is requested through the ASGI app
in-process; "server ms" is the time from the request entering the app to the last byte
of the response (median of the runs), printed beside the bare SQL the page needs
(sqlite3, rows fetched, nothing else) measured in the same run. Target: under 100 ms.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fastapi.testclient import TestClient  # noqa: E402

from report import NOW, OPEN, build, stamp  # noqa: E402

from assistant.web import create_app  # noqa: E402

OPEN_IDS = "ticket.id IN (SELECT t.id FROM ticket t WHERE t.status IN (?,?,?,?))"
DUE = ("CASE WHEN ticket.first_response_at IS NULL AND ticket.first_response_due IS NOT NULL "
       "THEN ticket.first_response_due ELSE ticket.resolution_due END")
PAGE_IDS = (f"SELECT ticket.id FROM ticket WHERE {OPEN_IDS}{{mine}} ORDER BY ticket.critical DESC, "
            f"{DUE} IS NULL, {DUE}, ticket.id LIMIT 50 OFFSET {{offset}}")


def queue_sql(offset: int = 0, mine: str | None = None) -> list:
    """The statements the queue page runs: count, one page of ids, their rows, their drafts."""
    where, extra = (" AND ticket.assignee = ?", (mine,)) if mine else ("", ())
    count = (f"SELECT count(*) FROM ticket WHERE {OPEN_IDS}{where}" if mine
             else "SELECT count(*) FROM ticket WHERE status IN (?,?,?,?)")
    return [(count, OPEN + extra), (PAGE_IDS.format(mine=where, offset=offset), OPEN + extra)]


def queue_rows(conn, ids: list[int]) -> None:
    marks = ",".join("?" * len(ids))
    conn.execute(f"SELECT * FROM ticket JOIN client ON client.id = ticket.client_id "
                 f"WHERE ticket.id IN ({marks})", ids).fetchall()
    conn.execute(f"SELECT id, ticket_id, situation, consultant, findings FROM draft "
                 f"WHERE ticket_id IN ({marks}) AND status = 'pending' ORDER BY id", ids).fetchall()


TICKET_SQL = [
    "SELECT * FROM ticket JOIN client ON client.id = ticket.client_id WHERE ticket.id = ?",
    "SELECT * FROM message WHERE ticket_id = ? ORDER BY received_at, id",
    "SELECT * FROM attachment WHERE message_id IN (SELECT id FROM message WHERE ticket_id = ?)",
    "SELECT * FROM ticketchange WHERE ticket_id = ? ORDER BY at, id",
    "SELECT * FROM worklogentry WHERE ticket_id = ? ORDER BY at, id",
    "SELECT * FROM promise WHERE ticket_id = ? ORDER BY due, id",
    "SELECT * FROM draft WHERE ticket_id = ? ORDER BY id DESC",
]


def add_conversation(path: Path, ticket_id: int, count: int) -> None:
    """`count` messages on one ticket, client and us in turn, each a few paragraphs long."""
    conn = sqlite3.connect(path)
    body = ("Добрый день! Документ всё ещё не проводится, ошибка та же самая, снимок во вложении. "
            "Мы проверили права и настройки, перезапустили обмен. ") * 6
    with conn:
        conn.executemany(
            "INSERT INTO message (message_id, content_hash, ticket_id, direction, fate, from_address, "
            "from_name, to_addresses, cc_addresses, subject, \"references\", visible_text, text, flags, "
            "notes, size, received_at, source) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(f"m{n}.{ticket_id}@bench", "", ticket_id, "in" if n % 2 == 0 else "out",
              "replies" if n % 2 == 0 else "sent", "client@client1.example", "Клиент", "support@example.com",
              "", f"Re: [#{ticket_id}] Обращение", "", body, body + "\n\n> " + body, "", "", 2000,
              stamp(NOW - timedelta(hours=count - n)), "bench") for n in range(count)])
    conn.close()


def add_drafts(path: Path, every: int = 10) -> None:
    conn = sqlite3.connect(path)
    with conn:
        ids = [row[0] for row in conn.execute(
            "SELECT id FROM ticket WHERE status IN (?,?,?,?)", OPEN)][::every]
        conn.executemany(
            "INSERT INTO draft (ticket_id, situation, language, template, subject, text, findings, "
            "status, token, consultant, send_anyway, automatic, created_at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(n, "need_info", "ru", "ru/need_info/1.txt.j2", f"[#{n}]", "Пришлите номер накладной.",
              "[]", "pending", "0" * 24, "c1@example.com", 0, 0, stamp(NOW)) for n in ids])
    conn.close()


def timed_app(asgi):
    """The ASGI app wrapped so each request's server time is recorded."""
    times: list[float] = []

    async def app(scope, receive, send):
        start = time.perf_counter()
        await asgi(scope, receive, send)
        if scope["type"] == "http":
            times.append(time.perf_counter() - start)
    return app, times


def bare(path: Path, statements: list) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(path)
    ids = []
    for sql, params in statements:
        ids = [row[0] for row in conn.execute(sql, params).fetchall()]
    if statements and statements[-1][0].startswith("SELECT ticket.id"):
        queue_rows(conn, ids)
    conn.close()
    return time.perf_counter() - start


def measure(client: TestClient, times: list, url: str, runs: int) -> tuple[float, int]:
    response = client.get(url)          # warm: templates compiled, pages in the cache
    assert response.status_code == 200, (url, response.status_code, response.text[:300])
    times.clear()
    for _ in range(runs):
        response = client.get(url)
    return statistics.median(times), len(response.content)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=5_000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    path = Path(tempfile.mkdtemp(prefix="web-bench-")) / "bench.db"
    started = time.perf_counter()
    app = build(path, args.tickets, args.open)
    big = sqlite3.connect(path).execute("SELECT min(id) FROM ticket WHERE status = 'open'").fetchone()[0]
    add_conversation(path, big, args.messages)
    add_drafts(path)
    sqlite3.connect(path).execute("ANALYZE").close()
    print(f"built {args.tickets:,} tickets ({args.open:,} open), ticket #{big} with "
          f"{args.messages} messages, in {time.perf_counter() - started:.0f} s")
    asgi, times = timed_app(create_app(app))
    client = TestClient(asgi)
    desk = app_state(asgi)
    signed = desk.keeper.redeem(desk.keeper.issue_link("c1@example.com"))
    client.cookies.set(desk.session_cookie, signed.token)
    rng = random.Random(1)
    print(f"{'page':<28} {'server ms':>10} {'bare SQL ms':>12} {'x bare':>7} {'KB':>6}")
    pages = [("queue, everyone's (p. 1)", "/queue?show=all", queue_sql()),
             ("queue, everyone's (p. 60)", "/queue?show=all&page=60", queue_sql(offset=2950)),
             ("queue, mine", "/queue?show=mine", queue_sql(mine="c1@example.com")),
             (f"ticket, {args.messages} messages", f"/tickets/{big}",
              [(sql, (big,)) for sql in TICKET_SQL]),
             ("ticket, one message", f"/tickets/{rng.randint(1, args.tickets)}",
              [(sql, (1,)) for sql in TICKET_SQL])]
    for name, url, statements in pages:
        server, size = measure(client, times, url, args.runs)
        sql = statistics.median(bare(path, statements) for _ in range(args.runs))
        print(f"{name:<28} {server * 1000:>10.1f} {sql * 1000:>12.1f} {server / sql:>7.1f} "
              f"{size / 1024:>6.0f}")
    return 0


def app_state(asgi):
    """The desk behind the timing wrapper (its closure holds the FastAPI app)."""
    inner = asgi.__closure__[0].cell_contents
    return inner.state.desk


if __name__ == "__main__":
    sys.exit(main())
