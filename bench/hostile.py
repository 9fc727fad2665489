"""Understanding each hostile mail (parse, triage, tone) beside an ordinary mail, same run.

    python bench/hostile.py [--timeout 120] [--memory-gb 4] [CASE ...]

Each case runs in its own process, so its peak memory is its own: the process first
understands an ordinary mail (building the pipelines and the reference time), then the
hostile one. Printed per case: the outcome (understood, or the one-line Unparseable
reason), seconds, and the growth of peak memory (MB) over the warmed-up process. A case
that goes past --timeout or --memory-gb is reported as such, not waited for.
Target: every case under about 1 s and 200 MB.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import hostile_mail  # noqa: E402  (tests/hostile_mail.py: the mails, built in code)

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def understand(raw: bytes, triage, tone) -> str:
    """Parse, assess and tone-check one mail; the outcome in a few words."""
    from assistant.mail import intake
    from assistant.errors import Unparseable
    try:
        mail = intake.parse(raw)
    except Unparseable as exc:
        return f"unparseable: {exc}"
    text = mail.visible_text or mail.text
    verdict = triage.assess(mail.subject, text, importance=mail.importance, now=NOW)
    findings = tone.check(text)
    return (f"understood: {len(mail.text)} chars of text, {len(mail.attachments)} attachments,"
            f" {verdict.priority}, {len(findings)} tone findings, {len(mail.notes)} notes")


def child(name: str) -> dict:
    from assistant.config import defaults
    from assistant.policy.language import Pipelines
    from assistant.policy.tone import ToneChecker
    from assistant.policy.triage import Triage
    settings = defaults()
    pipelines = Pipelines()
    triage, tone = Triage(settings, pipelines), ToneChecker(settings.rules_dir, pipelines)
    understand(hostile_mail.ORDINARY, triage, tone)       # warm up caches and matchers
    started = time.perf_counter()
    for _ in range(20):
        understand(hostile_mail.ORDINARY, triage, tone)
    ordinary = (time.perf_counter() - started) / 20
    raw = hostile_mail.CASES[name]()
    before = peak_mb()
    started = time.perf_counter()
    outcome = understand(raw, triage, tone)
    seconds = time.perf_counter() - started
    return {"case": name, "bytes": len(raw), "seconds": seconds, "peak_mb": peak_mb() - before,
            "ordinary_seconds": ordinary, "outcome": outcome}


def run(name: str, timeout: float, memory_gb: float) -> dict:
    def limit() -> None:
        size = int(memory_gb * 2**30)
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    try:
        done = subprocess.run([sys.executable, __file__, "--child", name], capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limit)
    except subprocess.TimeoutExpired:
        return {"case": name, "outcome": f"over {timeout:.0f} s"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        return {"case": name, "outcome": f"crashed: {last[:120]}"}
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cases", nargs="*", help="names of cases (default: all)")
    parser.add_argument("--timeout", type=float, default=120)
    parser.add_argument("--memory-gb", type=float, default=4)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    names = args.cases or list(hostile_mail.CASES)
    print(f"{'case':42} {'bytes':>9} {'seconds':>8} {'peak MB':>8} {'ordinary ms':>11}  outcome")
    for name in names:
        result = run(name, args.timeout, args.memory_gb)
        if "seconds" in result:
            print(f"{name:42} {result['bytes']:>9} {result['seconds']:>8.3f} "
                  f"{result['peak_mb']:>8.1f} {result['ordinary_seconds'] * 1000:>11.2f}  "
                  f"{result['outcome']}", flush=True)
        else:
            print(f"{name:42} {'':>9} {'':>8} {'':>8} {'':>11}  {result['outcome']}", flush=True)


if __name__ == "__main__":
    main()
