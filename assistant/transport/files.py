"""Where `assistant import` reads mail from: .eml files, folders of them, mbox, Maildir."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from assistant.errors import Rejected


@dataclass(frozen=True)
class RawMail:
    source: str        # a path, or "path#3" for the third message of an mbox
    raw: bytes


def is_maildir(path: Path) -> bool:
    return path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def is_mbox(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(5) == b"From "
    except OSError:
        return False


def count(paths: list[Path]) -> int:
    """How many messages `read` will yield (for a progress bar); cheap for files and folders."""
    total = 0
    for path in paths:
        if is_maildir(path):
            total += len(mailbox.Maildir(path, create=False))
        elif path.is_dir():
            total += sum(1 for _ in _files_in(path))
        elif is_mbox(path):
            total += len(mailbox.mbox(path, create=False))
        else:
            total += 1
    return total


def read(paths: list[Path]) -> Iterator[RawMail]:
    """Every message under `paths`, in a stable order, as raw bytes."""
    for path in paths:
        if not path.exists():
            raise Rejected(f"{path}: no such file or folder")
        if is_maildir(path):
            box = mailbox.Maildir(path, factory=None, create=False)
            for key in sorted(box.keys()):
                yield RawMail(f"{path}#{key}", box.get_bytes(key))
        elif path.is_dir():
            for file in _files_in(path):
                yield from _one_file(file)
        else:
            yield from _one_file(path)


def _one_file(path: Path) -> Iterator[RawMail]:
    if is_mbox(path):
        box = mailbox.mbox(path, create=False)
        for number, key in enumerate(box.keys(), 1):
            yield RawMail(f"{path}#{number}", box.get_bytes(key))
    else:
        yield RawMail(str(path), path.read_bytes())


def _files_in(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            yield path


def arrived(mail, now: datetime) -> datetime:
    """When an imported mail counts as arrived: its own Date, unless missing or in the future.

    Imported history keeps its dates, so a mail of 23 November opens its ticket on
    23 November and its deadlines run from then, not from the day of the import.
    """
    sent = mail.date
    if sent is None or sent.tzinfo is None or sent > now:
        return now
    return sent.astimezone(timezone.utc)
