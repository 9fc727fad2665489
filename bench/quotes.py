"""How often the visible text of a reply is what its writer actually wrote, on a JSONL corpus.

Run by hand: `python bench/quotes.py PATH.jsonl [PATH.jsonl ...] [--split dev|held|all]
[--verbose]`. Each line is one reply: `{id, body, format, expected_visible_text}` and
optionally `task`, `lang`, `client`, `expected_signature`. Every body goes through
`intake.parse` as a one-part mail (text/plain or text/html, as `format` says), so the bench
measures exactly what the product stores.

A reply counts as right when its visible text equals the expected one, or is a leading part
of it that covers at least 60 % of it (references may keep a signature that we drop).
Signature tasks (`task` naming a signature) need exact equality. Whitespace is normalised
before comparing. Where a row also gives `expected_signature`, the signature found is
scored apart, exactly.

The split sets about 30 % of the rows aside by a hash of their id, the same on every run:
develop on `dev`, and read `held` only as a figure (no --verbose there while developing).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

# Run from a source checkout without installing: the package sits beside bench/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.mail import intake  # noqa: E402

HELD_PERCENT = 30
LEADING_SHARE = 0.6


@dataclass(frozen=True)
class Outcome:
    row: dict
    file: str
    got: str
    signature: str
    right: bool
    signature_right: bool | None  # None: the row says nothing about its signature


def split_of(row_id: str) -> str:
    """ "held" for about 30 % of ids, "dev" for the rest; stable across runs and machines."""
    bucket = int(hashlib.sha256(row_id.encode("utf-8")).hexdigest()[:8], 16) % 100
    return "held" if bucket < HELD_PERCENT else "dev"


def normalised(text: str | None) -> str:
    return " ".join((text or "").split())


def is_signature_task(row: dict) -> bool:
    return "signature" in str(row.get("task") or "")


def judge(row: dict, got: str, signature: str) -> tuple[bool, bool | None]:
    """(visible text right?, signature right? or None when the row gives none)."""
    expected_signature = row.get("expected_signature", ...)
    signature_right = None
    if expected_signature is not ...:
        signature_right = normalised(signature) == normalised(expected_signature)
    if "expected_visible_text" not in row:  # a signature-only row
        return bool(signature_right), signature_right
    want, have = normalised(row["expected_visible_text"]), normalised(got)
    if want == have:
        return True, signature_right
    if is_signature_task(row) or not have:
        return False, signature_right
    leading = want.startswith(have) and len(have) >= LEADING_SHARE * len(want)
    return leading, signature_right


def as_mail(row: dict) -> bytes:
    """The body as a one-part mail, the way a mail program would send it."""
    message = EmailMessage()
    message["From"] = "client@example.com"
    message["To"] = "support@example.com"
    message["Subject"] = "Re: bench"
    message["Message-ID"] = f"<{hashlib.sha1(row['id'].encode()).hexdigest()}@bench>"
    subtype = "html" if row.get("format") == "html" else "plain"
    message.set_content(row["body"], subtype=subtype, charset="utf-8")
    return message.as_bytes()


def run(path: Path, split: str) -> list[Outcome]:
    outcomes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        row.setdefault("id", f"{path.stem}-{number}")
        if split != "all" and split_of(row["id"]) != split:
            continue
        mail = intake.parse(as_mail(row))
        right, signature_right = judge(row, mail.visible_text, mail.signature)
        outcomes.append(Outcome(row, path.name, mail.visible_text, mail.signature, right,
                                signature_right))
    return outcomes


def share(items: list[bool]) -> str:
    return f"{sum(items)}/{len(items)} ({sum(items) / len(items):.2f})" if items else "—"


def report(outcomes: list[Outcome], title: str) -> None:
    if not outcomes:
        return
    quotes = [o.right for o in outcomes if not is_signature_task(o.row)]
    signatures = [o.right for o in outcomes if is_signature_task(o.row)]
    found = [o.signature_right for o in outcomes if o.signature_right is not None]
    print(f"\n== {title}: {len(outcomes)} replies")
    print(f"   visible text right   {share(quotes)}")
    if signatures:
        print(f"   signature tasks      {share(signatures)}")
    if found:
        print(f"   signature found      {share(found)}")
    for key in ("lang", "format", "client"):
        groups: dict[str, list[bool]] = defaultdict(list)
        for o in outcomes:
            groups[str(o.row.get(key) or "-")].append(o.right)
        if len(groups) > 1:
            print(f"   by {key}: " + ", ".join(f"{k} {share(v)}" for k, v in sorted(groups.items())))


def show_misses(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.right and o.signature_right is not False:
            continue
        print(f"\n--- {o.file} {o.row['id']} ({o.row.get('lang', '-')}, {o.row.get('format')}, "
              f"{o.row.get('client', '-')})" + ("" if o.right else " VISIBLE WRONG"))
        print("BODY:\n" + o.row["body"])
        print("EXPECTED:\n" + str(o.row.get("expected_visible_text")))
        print("GOT:\n" + o.got)
        if o.signature_right is False:
            print(f"SIGNATURE expected {o.row.get('expected_signature')!r}\n      got {o.signature!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--split", choices=("dev", "held", "all"), default="all")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    everything: list[Outcome] = []
    for path in args.paths:
        outcomes = run(path, args.split)
        everything += outcomes
        report(outcomes, f"{path.name} [{args.split}]")
        if args.split == "all":
            for part in ("dev", "held"):
                report([o for o in outcomes if split_of(o.row["id"]) == part],
                       f"{path.name} [{part}]")
        if args.verbose:
            show_misses(outcomes)
    if len(args.paths) > 1:
        report(everything, f"all files [{args.split}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
