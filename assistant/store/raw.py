"""The raw bytes of every message, kept by content hash: in a row, or in a file when huge."""

from __future__ import annotations

import os
from pathlib import Path

from sqlmodel import Session

from assistant.config import Settings
from assistant.store.models import RawMessage


def keep_raw(session: Session, settings: Settings, raw: bytes, digest: str, limit: int) -> None:
    """Keep the bytes by their hash: in a row, or for huge mail in a file beside the database."""
    if len(raw) > limit:
        data_dir = settings.storage.data_path
        folder = data_dir / "raw" / digest[:2]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{digest}.eml"
        _write_durably(path, raw)
        session.add(RawMessage(content_hash=digest, size=len(raw), path=str(path.relative_to(data_dir))))
    else:
        session.add(RawMessage(content_hash=digest, size=len(raw), data=raw))


def raw_bytes(session: Session, settings: Settings, digest: str) -> bytes:
    """The kept bytes of a message, wherever they are."""
    row = session.get(RawMessage, digest)
    if row is None:
        raise KeyError(digest)
    if row.data is not None:
        return row.data
    return (settings.storage.data_path / row.path).read_bytes()


def _write_durably(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
