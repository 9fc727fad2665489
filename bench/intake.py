"""Mailbox → tickets throughput and memory, beside references measured in the same run.

    python bench/intake.py [--count 1500] [--rounds 1] [--postgres]
    python bench/intake.py --memory 4000,10000,40000 [--workers 1]
    python bench/intake.py --profile [--count 1500]

On one generated mailbox, each in its own process so peak memory is its own:
- the ceiling: raw IMAP fetch (UID FETCH BODY.PEEK[] in batches of 200) plus the stdlib
  parse of the same messages (policy.default, walking every part);
- the bare chain (bench/bare_chain.py): fetch → policy.default parse → spaCy ru/en with
  lemmas and matchers → SQLModel insert, commit per batch: the bar per core;
- the assistant with performance.workers = 0 and = 1: the daemon's real mail reading
  (fetch, walk: parse, thread, triage, letters marked due; commit, mark done), then the
  letters it left due (acknowledgements, owners' requests), timed on their own.
Each assistant run marks mail with its own keyword, so every run reads the whole mailbox.
With --rounds above 1 the runs alternate and the median of each is printed.
--postgres adds 1 and 2 daemons on one PostgreSQL, the bare chain beside; --memory
prints a daemon's memory as it reads a growing mailbox (bench/intake_scale.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import intake_scale as scale  # noqa: E402  (beside this file)

USER = "support@example.com"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ceiling(port: int, password: str) -> dict:
    from imapclient import IMAPClient
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(USER, password)
    client.select_folder("INBOX", readonly=True)
    uids = client.search("ALL")
    started = time.perf_counter()
    parts = 0
    for start in range(0, len(uids), 200):
        fetched = client.fetch(uids[start:start + 200], ["BODY.PEEK[]"])
        for data in fetched.values():
            mail = message_from_bytes(data[b"BODY[]"], policy=default_policy)
            for part in mail.walk():
                if not part.is_multipart():
                    part.get_content()
                    parts += 1
    elapsed = time.perf_counter() - started
    client.logout()
    return {"messages": len(uids), "seconds": elapsed, "peak_mb": peak_mb()}


def bare(port: int, password: str, folder: Path, user: str = USER, at: float = 0) -> dict:
    import bare_chain
    result = bare_chain.run("127.0.0.1", port, user, password, str(folder / "bare.db"),
                            ready=lambda: scale.wait_until(at))
    return {**result, "peak_mb": peak_mb()}


def assistant(port: int, password: str, folder: Path, workers: int, url: str = "",
              user: str = USER, letters: bool = True, at: float = 0) -> dict:
    from assistant.daemon.runner import Daemon
    app = _app(port, password, folder, workers, url, user)
    # Build what a running daemon has built long before mail comes: pipelines, rules, templates.
    app.triage.assess("warm up", "прогрев", now=app.clock())
    app.walk, app.drafter.situations()
    # ... and its worker processes, started once per daemon (the bare chain's start-up is
    # not timed either): enough tiny messages to go to them rather than stay in-process.
    from assistant.walk.workers import IN_PROCESS_BELOW
    warm = b"From: a@x.example\r\nSubject: warm up\r\n\r\nwarm up\r\n"
    list(app.understanding.understand([warm] * IN_PROCESS_BELOW, app.clock()))
    daemon = Daemon(app)
    checkpoints = app.store.checkpoint_in_background()     # as Daemon.run starts it
    scale.wait_until(at)         # several daemons start reading together
    wall = time.time()
    started = time.perf_counter()
    tally = daemon.read_mail()
    elapsed = time.perf_counter() - started
    daemon._close_inbox()
    if checkpoints is not None:
        checkpoints.stop()
    app.understanding.close(wait=True)     # so the worker's peak shows in RUSAGE_CHILDREN
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    started = time.perf_counter()
    acknowledged = app.write_letters_due(limit=tally.read) if letters else 0
    ack_seconds = time.perf_counter() - started
    return {"messages": tally.read, "fates": tally.as_dict(), "seconds": elapsed,
            "acknowledged": acknowledged, "ack_seconds": ack_seconds, "peak_mb": peak_mb(),
            "worker_mb": worker_mb, "wall_start": wall, "wall_end": wall + elapsed}


def _app(port: int, password: str, folder: Path, workers: int, url: str = "", user: str = USER):
    """The assistant as a daemon on this mailbox and database, with the defaults otherwise."""
    from assistant.app import App
    from assistant.config import defaults
    secret = folder / "imap.secret"
    secret.write_text(password)
    settings = defaults().with_values(
        database__url=url or f"sqlite:///{folder / 'bench.db'}",
        storage__data_dir=str(folder / "data"), imap__host="127.0.0.1", imap__port=port,
        imap__security="none", imap__username=user, imap__password_file=str(secret),
        support__address=user, performance__workers=workers,
        imap__done_keyword=f"$Bench{folder.name}")
    return App(settings)


def child(kind: str, port: int, password: str, folder: str, count: int = 0,
          workers: int = 0, senders: int = 0, **more) -> dict:
    return finish(start_child(kind, port, password, folder, count, workers, senders, **more))


def start_child(kind: str, port: int, password: str, folder: str, count: int = 0,
                workers: int = 0, senders: int = 0, **more) -> subprocess.Popen:
    """A bench step in its own process; `more`: url, user, first (see main's options)."""
    Path(folder).mkdir(exist_ok=True)
    command = [sys.executable, __file__, "--child", kind, "--port", str(port),
               "--password", password, "--folder", folder, "--count", str(count),
               "--workers", str(workers), "--senders", str(senders)]
    for name, value in more.items():
        command += [f"--{name}", str(value)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate()
    if process.returncode:
        raise RuntimeError(f"bench step failed ({process.returncode}): {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def fill(port: int, password: str, count: int, senders: int, user: str = USER,
         first: int = 0) -> dict:
    """Runs in its own process: Linux keeps a process's peak memory across exec, so a
    parent that had held the corpus would make every child look as big as itself.

    Every mailbox gets the same sample of mail (languages, sizes, attachments), so what
    two readers do is comparable to what one does. Messages are numbered from `first`
    (their Message-IDs and dates differ); a mailbox other than USER gets clients of its
    own, so two daemons never open the same client at once."""
    from imapclient import IMAPClient
    from corpus import message
    import random
    rng = random.Random(20261123)
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(user, password)
    total = 0
    for number in range(first, first + count):
        raw = message(number, rng, senders)
        if user != USER:
            raw = raw.replace(b"@company", b"@" + user.split("@")[0].encode() + b"-company")
        total += len(raw)
        client.append("INBOX", raw)
    client.logout()
    return {"mean_kb": total / count / 1024}


def _median(runs: list[dict], key: str) -> float:
    values = sorted(run[key] for run in runs)
    return values[len(values) // 2]


def _rate(runs: list[dict]) -> float:
    return _median([{"rate": run["messages"] / run["seconds"]} for run in runs], "rate")


def measure(count: int, rounds: int, senders: int, postgres: bool = False) -> int:
    from assistant.demo.mailserver import Dovecot
    runs: dict[str, list[dict]] = {"ceiling": [], "bare": [], "workers=0": [], "workers=1": []}
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        Path(tmp).chmod(0o755)        # Dovecot's own users must be able to enter it
        with Dovecot(Path(tmp) / "dovecot") as dovecot:
            dovecot.add_user(USER, "bench")
            print(f"filling the mailbox with {count} messages…", flush=True)
            mean_kb = child("fill", dovecot.port, "bench", tmp, count, senders=senders)["mean_kb"]
            for number in range(rounds):
                runs["ceiling"].append(child("ceiling", dovecot.port, "bench", tmp))
                runs["bare"].append(child("bare", dovecot.port, "bench", f"{tmp}/bare{number}"))
                for workers in (0, 1):
                    runs[f"workers={workers}"].append(child(
                        "assistant", dovecot.port, "bench", f"{tmp}/w{workers}r{number}",
                        workers=workers))
                print(f"round {number + 1} of {rounds} done", flush=True)
            if postgres:
                dovecot.add_user(scale.SECOND, "bench")
                daemons = scale.daemons(dovecot.port, tmp, count, senders, rounds,
                                        sys.modules[__name__])
    report(count, senders, mean_kb, runs)
    if postgres:
        scale.report_daemons(daemons, _rate, _median)
    return 0


def profile(count: int, senders: int, workers: int) -> int:
    """The assistant's read of the mailbox under cProfile: where the time of intake goes."""
    import cProfile
    import pstats
    from assistant.demo.mailserver import Dovecot
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        Path(tmp).chmod(0o755)
        with Dovecot(Path(tmp) / "dovecot") as dovecot:
            dovecot.add_user(USER, "bench")
            child("fill", dovecot.port, "bench", tmp, count, senders=senders)
            (Path(tmp) / "p").mkdir()
            profiler = cProfile.Profile()
            from assistant.daemon.runner import Daemon
            read_mail = Daemon.read_mail

            def profiled(daemon):          # only the timed part: the daemon reading its mail
                return profiler.runcall(read_mail, daemon)
            Daemon.read_mail = profiled
            result = assistant(dovecot.port, "bench", Path(tmp) / "p", workers)
    print(f"{result['messages']} messages in {result['seconds']:.1f} s (under the profiler); "
          f"stats in {Path(tempfile.gettempdir()) / 'intake.prof'}")
    profiler.dump_stats(Path(tempfile.gettempdir()) / "intake.prof")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(45)
    return 0


def report(count: int, senders: int, mean_kb: float, runs: dict[str, list[dict]]) -> None:
    bare_rate = _rate(runs["bare"])
    print(f"\n{count} messages from {senders} clients, mean {mean_kb:.0f} KB, median of {len(runs['bare'])} round(s)")
    print(f"{'':38}{'msg/s':>8}{'ms/msg':>8}{'/ bare':>8}{'peak MB':>9}{'worker MB':>11}")
    rows = [("ceiling: IMAP fetch + email parse", "ceiling"),
            ("bare chain: fetch→parse→spaCy→insert", "bare"),
            ("assistant, performance.workers = 0", "workers=0"),
            ("assistant, performance.workers = 1", "workers=1")]
    for label, key in rows:
        rate = _rate(runs[key])
        worker = f"{_median(runs[key], 'worker_mb'):11.0f}" if key == "workers=1" else ""
        print(f"{label:38}{rate:8.0f}{1000 / rate:8.2f}{rate / bare_rate:8.2f}"
              f"{_median(runs[key], 'peak_mb'):9.0f}{worker}")
    stages = runs["bare"][0]["stages"]
    per = {name: f"{1000 * seconds / runs['bare'][0]['messages']:.2f}" for name, seconds in stages.items()}
    print(f"bare chain ms/msg by stage (first round): {per}")
    for key in ("workers=0", "workers=1"):
        ours = runs[key][0]
        ack = ours["acknowledged"] / ours["ack_seconds"] if ours["ack_seconds"] else 0
        print(f"{key}: then {ack:.0f} letters/s (acknowledgements drafted, tone-checked and "
              f"queued; owners' requests); "
              f"fates {ours['fates']}")
    print(f"\nassistant / bare = {_rate(runs['workers=0']) / bare_rate:.2f} with one process, "
          f"{_rate(runs['workers=1']) / bare_rate:.2f} with a worker (target ≥ 1.0)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--child")
    parser.add_argument("--port", type=int)
    parser.add_argument("--password")
    parser.add_argument("--folder")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--url", default="", help="(a step's) database; default a new SQLite file")
    parser.add_argument("--user", default=USER, help="(a step's) mailbox")
    parser.add_argument("--first", type=int, default=0, help="(fill) number of the first message")
    parser.add_argument("--at", type=float, default=0, help="(a step) start reading at this time")
    parser.add_argument("--postgres", action="store_true",
                        help="also 1 and 2 daemons on one PostgreSQL, the bare chain beside")
    parser.add_argument("--memory", default="",
                        help="e.g. 4000,10000,40000: one daemon reads a mailbox filled step by "
                             "step and prints its resident memory after each step")
    parser.add_argument("--profile", action="store_true",
                        help="fill a mailbox, read it once under cProfile, print the top functions")
    parser.add_argument("--senders", type=int, default=500,
                        help="clients writing the mail; fewer than --count: some write again")
    args = parser.parse_args()
    if args.child == "ceiling":
        print(json.dumps(ceiling(args.port, args.password)))
        return 0
    if args.child == "fill":
        print(json.dumps(fill(args.port, args.password, args.count, args.senders, args.user,
                              args.first)))
        return 0
    if args.child == "bare":
        print(json.dumps(bare(args.port, args.password, Path(args.folder), args.user, args.at)))
        return 0
    if args.child == "assistant":
        print(json.dumps(assistant(args.port, args.password, Path(args.folder), args.workers,
                                   args.url, args.user, letters=not args.url, at=args.at)))
        return 0
    if args.child == "memory":
        print(json.dumps(scale.memory(args, _app, sys.modules[__name__])))
        return 0
    if args.child == "migrate":
        from assistant.store.database import open_store
        open_store(args.url).dispose()
        print("{}")
        return 0
    if args.memory:
        return scale.memory_report(args, sys.modules[__name__])
    if args.profile:
        return profile(args.count, args.senders, args.workers)
    return measure(args.count, args.rounds, args.senders, args.postgres)


if __name__ == "__main__":
    raise SystemExit(main())
