"""bench/intake.py's scale modes: 1 and 2 daemons on one PostgreSQL, and memory over a long read.

Daemons: each daemon reads a mailbox of its own (a mailbox is read by one daemon at a
time, under its lease), all write to one PostgreSQL database; the bare chain runs the same
way, one process per mailbox. Each reader starts up, then all start reading at the same
moment; the rate is all messages over the time from the first start to the last end.

Memory: one daemon (with its worker, if any) reads a mailbox that is filled step by step;
after each step its resident memory and its worker's are printed. Acknowledgements are not
written in this mode: it measures reading mail.
"""

from __future__ import annotations

import time
from pathlib import Path

from assistant.demo.pgserver import PostgreSQL, binaries

SECOND = "support2@example.com"
START_DELAY = 30.0          # seconds for every reader to start up before they read together


def wait_until(at: float) -> None:
    if at:
        time.sleep(max(0.0, at - time.time()))


def together(results: list[dict]) -> dict:
    """Several readers' results as one: all messages over first start to last end."""
    return {"messages": sum(r["messages"] for r in results),
            "seconds": max(r["wall_end"] for r in results) - min(r["wall_start"] for r in results),
            "peak_mb": max(r["peak_mb"] for r in results),
            "late": max(0.0, max(r["wall_start"] for r in results) - min(r["wall_start"] for r in results))}


def daemons(port: int, tmp: str, count: int, senders: int, rounds: int, bench) -> dict:
    """Rounds of: bare chain ×1, ×2; assistant daemons ×1, ×2 on a fresh PostgreSQL database."""
    if binaries() is None:
        print("PostgreSQL is not installed: the daemons rows are left out")
        return {}
    bench.child("fill", port, "bench", tmp, count, senders=senders, user=SECOND, first=count)
    users = (bench.USER, SECOND)
    runs: dict[str, list[dict]] = {"bare×1": [], "bare×2": [], "daemons=1": [], "daemons=2": []}
    server = PostgreSQL().start()
    try:
        for number in range(rounds):
            for n in (1, 2):
                at = time.time() + START_DELAY
                steps = [bench.start_child("bare", port, "bench", f"{tmp}/pgbare{n}{k}r{number}",
                                           user=users[k], at=at) for k in range(n)]
                runs[f"bare×{n}"].append(together([bench.finish(step) for step in steps]))
                url = server.create_database(f"bench_{n}_{number}")
                bench.child("migrate", port, "bench", f"{tmp}/pgm{n}r{number}", url=url)
                at = time.time() + START_DELAY
                steps = [bench.start_child("assistant", port, "bench", f"{tmp}/pg{n}{k}r{number}",
                                           url=url, user=users[k], at=at) for k in range(n)]
                runs[f"daemons={n}"].append(together([bench.finish(step) for step in steps]))
            print(f"PostgreSQL round {number + 1} of {rounds} done", flush=True)
    finally:
        server.stop()
    return runs


def report_daemons(runs: dict, rate, median) -> None:
    if not runs:
        return
    print("\nOne PostgreSQL database, one mailbox per daemon, workers = 0 "
          "(bare chain: one process per mailbox, SQLite each)")
    print(f"{'':38}{'msg/s':>8}{'× one':>8}{'/ bare':>8}{'peak MB':>9}")
    for kind, label in (("bare", "bare chain"), ("daemons", "assistant")):
        for n in (1, 2):
            key = f"{kind}={n}" if kind == "daemons" else f"bare×{n}"
            one = f"{kind}=1" if kind == "daemons" else "bare×1"
            bare = rate(runs[f"bare×{n}"])
            unit = ("daemon" if kind == "daemons" else "process") + ("s" if n > 1 else "")
            unit = unit.replace("processs", "processes")
            print(f"{label + f', {n} {unit}':38}{rate(runs[key]):8.0f}"
                  f"{rate(runs[key]) / rate(runs[one]):8.2f}{rate(runs[key]) / bare:8.2f}"
                  f"{median(runs[key], 'peak_mb'):9.0f}")
    late = max(run["late"] for key in runs for run in runs[key])
    if late > 1:
        print(f"(a reader started up to {late:.0f} s after the others: raise START_DELAY)")
    print(f"the second daemon's gain: ×{rate(runs['daemons=2']) / rate(runs['daemons=1']):.2f} "
          f"(bare chain's second process: ×{rate(runs['bare×2']) / rate(runs['bare×1']):.2f}) "
          f"on this machine's cores")


def _rss_mb(pid: int | str = "self", field: str = "Rss:") -> float:
    """Resident memory; with field "Pss:" the pages shared with other processes are
    counted in proportion, so a daemon's and its worker's add up to what they use."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return 0.0


def memory(args, make_app, bench) -> list[dict]:
    """One daemon reading a mailbox filled in steps; resident memory after each step."""
    from assistant.daemon.runner import Daemon
    folder = Path(args.folder)
    app = make_app(args.port, args.password, folder, args.workers)
    daemon = Daemon(app)
    rows, done = [], 0
    for step in (int(one) for one in args.memory.split(",")):
        bench.child("fill", args.port, args.password, str(folder / "fill"), step - done,
                    senders=args.senders, first=done)
        started = time.perf_counter()
        tally = daemon.read_mail()
        seconds = time.perf_counter() - started
        pool = app.understanding._pool       # noqa: SLF001 - the bench looks at the worker
        workers = [pid for pid in (pool._processes if pool else {})]  # noqa: SLF001
        rows.append({"messages": step, "read": tally.read, "rate": tally.read / seconds,
                     "daemon_mb": _rss_mb(), "worker_mb": sum(_rss_mb(pid) for pid in workers),
                     "pss_mb": _rss_mb(field="Pss:") + sum(_rss_mb(pid, "Pss:") for pid in workers)})
        done = step
    daemon._close_inbox()
    app.understanding.close(wait=True)
    return rows


def memory_report(args, bench) -> int:
    from assistant.demo.mailserver import Dovecot
    import tempfile
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        Path(tmp).chmod(0o755)
        with Dovecot(Path(tmp) / "dovecot") as dovecot:
            dovecot.add_user(bench.USER, "bench")
            rows = bench.child("memory", dovecot.port, "bench", f"{tmp}/m", workers=args.workers,
                               senders=args.senders, memory=args.memory)
    print(f"\nOne daemon, performance.workers = {args.workers}, reading as the mailbox grows")
    print(f"{'messages':>10}{'read':>8}{'msg/s':>8}{'daemon RSS':>12}{'worker RSS':>12}"
          f"{'sum RSS':>9}{'sum PSS':>9}  (MB; PSS counts shared pages once)")
    for row in rows:
        print(f"{row['messages']:10}{row['read']:8}{row['rate']:8.0f}{row['daemon_mb']:12.0f}"
              f"{row['worker_mb']:12.0f}{row['daemon_mb'] + row['worker_mb']:9.0f}{row['pss_mb']:9.0f}")
    return 0
