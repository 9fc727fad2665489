"""How well triage finds critical incidents: scores a labelled JSONL file of support requests.

Run by hand: `python bench/priority.py PATH.jsonl [--misses]`. Each line holds at least
`id`, `lang`, `subject`, `body`, `priority` (critical | high | normal | low); `impact` and
`urgency` are scored too when present. Printed per language, for the whole file and for two
parts split by a stable hash of the id: "build" (about 70 %) and "held aside" (about 30 %).
Rules are written looking at the build part only; when the held-aside figures fall well
below the build ones, the rules fit the wording of the examples rather than the situations.
No assertions: figures are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

# Run from a source checkout without installing: the package sits beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.config import defaults
from assistant.policy.triage import Triage, TriageInput

PRIORITIES = ("critical", "high", "normal", "low")
HELD_ASIDE_PERCENT = 30
# A Wednesday morning, so "today" and "tomorrow" are working days; no record carries a date.
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))


def held_aside(record_id: str) -> bool:
    """True for about 30 % of ids, the same ones on every run and machine."""
    digest = hashlib.sha256(record_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % 100 < HELD_ASIDE_PERCENT


@dataclass
class Score:
    total: int = 0
    critical: int = 0
    found: int = 0                      # critical and called critical
    others: int = 0
    false_critical: int = 0             # not critical but called critical
    within_one: int = 0
    exact: int = 0
    impact: list[int] = field(default_factory=lambda: [0, 0])     # right, labelled
    urgency: list[int] = field(default_factory=lambda: [0, 0])

    def add(self, record: dict, verdict) -> None:
        truth, said = record["priority"], verdict.priority
        self.total += 1
        distance = abs(PRIORITIES.index(truth) - PRIORITIES.index(said))
        self.within_one += distance <= 1
        self.exact += distance == 0
        if truth == "critical":
            self.critical += 1
            self.found += said == "critical"
        else:
            self.others += 1
            self.false_critical += said == "critical"
        for name, counter in (("impact", self.impact), ("urgency", self.urgency)):
            if name in record:
                counter[1] += 1
                counter[0] += getattr(verdict, name).level == record[name]

    def row(self, label: str) -> str:
        ratio = lambda a, b: f"{a / b:5.2f} ({a}/{b})" if b else "   -  (0/0)"
        return (f"{label:<22}{self.total:>4}  {ratio(self.found, self.critical):<14}"
                f"{ratio(self.false_critical, self.others):<14}{ratio(self.within_one, self.total):<14}"
                f"{ratio(self.exact, self.total):<14}{ratio(*self.impact):<14}{ratio(*self.urgency):<14}")


HEADER = (f"{'part / language':<22}{'n':>4}  {'critical recall':<14}{'false critical':<14}"
          f"{'within 1 step':<14}{'exact':<14}{'impact':<14}{'urgency':<14}")


def read(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{path}:{number}: not JSON ({exc.msg})")
        missing = [k for k in ("id", "subject", "body", "priority") if k not in record]
        if missing or record["priority"] not in PRIORITIES:
            raise SystemExit(f"{path}:{number}: needs id, subject, body and a priority "
                             f"({', '.join(PRIORITIES)})")
        records.append(record)
    return records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--misses", action="store_true", help="list every request rated wrong")
    args = parser.parse_args()
    records = read(args.path)
    triage = Triage(defaults())
    verdicts = triage.assess_many([TriageInput(r["subject"], r["body"], NOW,
                                               default_language=r.get("lang", "ru")) for r in records])
    scores: dict[tuple[str, str], Score] = {}
    for record, verdict in zip(records, verdicts):
        part = "held aside" if held_aside(record["id"]) else "build"
        lang = record.get("lang") or verdict.language
        for key in ((part, lang), (part, "all"), ("whole file", lang), ("whole file", "all")):
            scores.setdefault(key, Score()).add(record, verdict)
        if args.misses and verdict.priority != record["priority"]:
            print(f"{record['id']:<8} {part:<10} said {verdict.priority:<8} "
                  f"({verdict.impact.level}×{verdict.urgency.level}) "
                  f"truth {record['priority']:<8} ({record.get('impact')}×{record.get('urgency')})  "
                  f"{record['subject'][:60]}")
    print(f"{args.path}: {len(records)} requests; held aside by hash of id: "
          f"{sum(held_aside(r['id']) for r in records)}")
    print(HEADER)
    for part in ("whole file", "build", "held aside"):
        for lang in sorted({k[1] for k in scores if k[0] == part}, key=lambda x: (x == "all", x)):
            print(scores[(part, lang)].row(f"{part} {lang}"))


if __name__ == "__main__":
    main()
