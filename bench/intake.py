"""Mailbox → tickets throughput and memory, beside a ceiling measured in the same run.

    python bench/intake.py [--count 10000]

The ceiling is raw IMAP fetch (UID FETCH BODY.PEEK[] in batches of 200) plus the stdlib
parse of the same messages (policy.default, walking every part); the assistant's figure is
the daemon's real mail reading: fetch, walk (parse, thread, triage, acknowledgement draft),
commit, mark done. Each runs in its own process so peak memory is its own.
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


def assistant(port: int, password: str, folder: Path) -> dict:
    from assistant.app import App
    from assistant.config import defaults
    from assistant.daemon import Daemon
    secret = folder / "imap.secret"
    secret.write_text(password)
    settings = defaults().with_values(
        database__url=f"sqlite:///{folder / 'bench.db'}", storage__data_dir=str(folder / "data"),
        imap__host="127.0.0.1", imap__port=port, imap__security="none", imap__username=USER,
        imap__password_file=str(secret), support__address=USER)
    app = App(settings)
    # Build what a running daemon has built long before mail comes: pipelines, rules, templates.
    app.triage.assess("warm up", "прогрев", now=app.clock())
    app.walk.follow_ups, app.drafter.situations()
    daemon = Daemon(app)
    started = time.perf_counter()
    tally = daemon.read_mail()
    elapsed = time.perf_counter() - started
    daemon._close_inbox()
    app.understanding.close(wait=True)     # so the worker's peak shows in RUSAGE_CHILDREN
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    started = time.perf_counter()
    acknowledged = app.follow.acknowledge_due(limit=tally.read)
    ack_seconds = time.perf_counter() - started
    return {"messages": tally.read, "fates": tally.as_dict(), "seconds": elapsed,
            "acknowledged": acknowledged, "ack_seconds": ack_seconds, "peak_mb": peak_mb(),
            "worker_mb": worker_mb}


def child(kind: str, port: int, password: str, folder: str, count: int = 0) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--port", str(port),
               "--password", password, "--folder", folder, "--count", str(count)]
    result = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def fill(port: int, password: str, count: int) -> dict:
    """Runs in its own process: Linux keeps a process's peak memory across exec, so a
    parent that had held the corpus would make every child look as big as itself."""
    from imapclient import IMAPClient
    from corpus import message
    import random
    rng = random.Random(20261123)
    client = IMAPClient("127.0.0.1", port=port, ssl=False)
    client.login(USER, password)
    total = 0
    for number in range(count):
        raw = message(number, rng)
        total += len(raw)
        client.append("INBOX", raw)
    client.logout()
    return {"mean_kb": total / count / 1024}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--child")
    parser.add_argument("--port", type=int)
    parser.add_argument("--password")
    parser.add_argument("--folder")
    args = parser.parse_args()
    if args.child == "ceiling":
        print(json.dumps(ceiling(args.port, args.password)))
        return 0
    if args.child == "fill":
        print(json.dumps(fill(args.port, args.password, args.count)))
        return 0
    if args.child == "assistant":
        print(json.dumps(assistant(args.port, args.password, Path(args.folder))))
        return 0

    from assistant.mailserver import Dovecot
    with tempfile.TemporaryDirectory(prefix="bench-intake-") as tmp:
        Path(tmp).chmod(0o755)        # Dovecot's own users must be able to enter it
        with Dovecot(Path(tmp) / "dovecot") as dovecot:
            dovecot.add_user(USER, "bench")
            print(f"filling the mailbox with {args.count} messages…", flush=True)
            mean_kb = child("fill", dovecot.port, "bench", tmp, args.count)["mean_kb"]
            roof = child("ceiling", dovecot.port, "bench", tmp)
            ours = child("assistant", dovecot.port, "bench", tmp)
    roof_rate = roof["messages"] / roof["seconds"]
    our_rate = ours["messages"] / ours["seconds"]
    print(f"\n{args.count} messages, mean {mean_kb:.0f} KB")
    print(f"{'':34}{'msg/s':>9}{'ms/msg':>9}{'peak MB':>10}")
    print(f"{'ceiling: IMAP fetch + email parse':34}{roof_rate:9.0f}{1000 / roof_rate:9.2f}"
          f"{roof['peak_mb']:10.0f}")
    print(f"{'assistant: mailbox → tickets':34}{our_rate:9.0f}{1000 / our_rate:9.2f}"
          f"{ours['peak_mb']:10.0f}")
    ack_rate = ours["acknowledged"] / ours["ack_seconds"] if ours["ack_seconds"] else 0
    print(f"{'then acknowledgements (drafted,':34}{ack_rate:9.0f}{1000 / ack_rate if ack_rate else 0:9.2f}")
    print(f"{'  tone-checked, queued)':34}")
    print(f"{'  its parse + triage worker':34}{'':18}{ours['worker_mb']:10.0f}")
    print(f"\nassistant / ceiling = {our_rate / roof_rate:.2f} (target ≥ 0.50); "
          f"peak {ours['peak_mb']:.0f} MB in the daemon, {ours['worker_mb']:.0f} MB in its worker "
          f"(target < 300 each)")
    print("fates:", ours["fates"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
