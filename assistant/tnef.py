"""Outlook's winmail.dat (application/ms-tnef) unpacked into its files and its body text."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tnefparse.tnef import TNEF, TNEFAttachment

log = logging.getLogger("assistant.intake")


@dataclass(frozen=True)
class TnefFile:
    filename: str
    data: bytes


@dataclass(frozen=True)
class Unpacked:
    """What a winmail.dat held. `body_text`/`body_html` are None when it carried none."""

    files: tuple[TnefFile, ...] = ()
    body_text: str | None = None
    body_html: str | None = None
    notes: tuple[str, ...] = ()


def unpack(data: bytes) -> Unpacked | None:
    """The files and body inside TNEF bytes, or None when they are not readable TNEF.

    Only the parts a person would see are kept: attached files by their long (Unicode)
    names and the plain or HTML body. A body in compressed RTF alone is reported in
    `notes`, not read.
    """
    try:
        tnef = TNEF(data, do_checksum=False)
        files = tuple(_file(attachment, n) for n, attachment in enumerate(tnef.attachments, 1))
        codepage = tnef.codepage or "cp1252"
        body_text = _text(tnef.body, codepage)
        body_html = _text(tnef.htmlbody, codepage)
        rtf_only = tnef.has_body() and not (body_text or body_html)
    # tnefparse reads untrusted binary with struct offsets and raises whatever it meets
    # (struct.error, IndexError, ValueError, TypeError, UnicodeDecodeError...): any of them
    # means "not readable TNEF", and the caller keeps winmail.dat as it came.
    except Exception as error:  # noqa: BLE001
        log.info("winmail.dat not readable: %s", error)
        return None
    notes = ("winmail.dat body is RTF only; not read",) if rtf_only else ()
    return Unpacked(files, body_text or None, body_html or None, notes)


def _file(attachment: TNEFAttachment, number: int) -> TnefFile:
    try:
        name = attachment.long_filename()
    except UnicodeDecodeError:  # a short 8.3 title in the OEM codepage, not UTF-8
        name = ""
    if isinstance(name, bytes):
        name = name.decode("cp1252", "replace")
    name = name.strip("\x00").strip() or f"winmail-{number}.bin"
    data = attachment.data if isinstance(attachment.data, bytes) else b""
    return TnefFile(name, data)


def _text(value: str | bytes | list | None, codepage: str) -> str:
    """A TNEF body property as text: tnefparse hands back str, bytes, or a list of either."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bytes):
        try:
            value = value.decode(codepage, "replace")
        except LookupError:
            value = value.decode("cp1252", "replace")
    return (value or "").replace("\x00", "").strip()
