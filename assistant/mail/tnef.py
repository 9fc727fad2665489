"""Outlook's winmail.dat (application/ms-tnef) unpacked into its files and its body text.

Read here in one pass by offsets, after [MS-OXTNEF], rather than by tnefparse: tnefparse
copies the rest of the data for every attribute (a 9 MB winmail.dat of tiny attributes
took 38 s), loops as many times as a count in the data says, and parses embedded
messages recursively. Only what a person sees is read: files and the plain or HTML body.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass, field

from assistant.mail.charsets import clean, decode_bytes

log = logging.getLogger("assistant.mail.intake")

# Real winmail.dat files hold tens of attributes; this many is a bomb, not a letter.
MAX_OBJECTS = 10_000

_SIGNATURE = 0x223E9F78
_LEVEL_ATTACHMENT = 2
# Attribute ids ([MS-OXTNEF] 2.1.3.3), the low 16 bits.
_BODY, _ATTACH_DATA, _ATTACH_TITLE = 0x800C, 0x800F, 0x8010
_ATTACH_RENDERING, _MESSAGE_PROPS, _ATTACHMENT_PROPS, _OEM_CODEPAGE = 0x9002, 0x9003, 0x9005, 0x9007
# MAPI properties kept.
_PR_BODY, _PR_RTF, _PR_HTML, _PR_UNCOMPRESSED_BODY = 0x1000, 0x1009, 0x1013, 0x3FD9
_PR_DISPLAY_NAME, _PR_ATTACH_DATA, _PR_FILENAME, _PR_LONG_FILENAME = 0x3001, 0x3701, 0x3704, 0x3707
_PR_INTERNET_CODEPAGE = 0x3FDE
# MAPI value types: fixed sizes, and the types that carry counted values.
_FIXED = {0x0002: 2, 0x000B: 2, 0x0003: 4, 0x0004: 4, 0x000A: 4, 0x0005: 8, 0x0006: 8,
          0x0007: 8, 0x0014: 8, 0x0040: 8, 0x0048: 16}
_STRING8, _UNICODE, _OBJECT, _COUNTED = 0x001E, 0x001F, 0x000D, {0x0000, 0x001E, 0x001F, 0x000D, 0x0102}
_MULTI_VALUE, _NAMED = 0x1000, 0x8000
_CODEPAGES = {20127: "ascii", 20866: "koi8-r", 28591: "iso-8859-1", 65001: "utf-8"}


class _Broken(Exception):
    """The bytes are not TNEF this reader can follow."""


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


@dataclass
class _Attachment:
    title: bytes = b""
    data: bytes = b""
    props: dict[int, tuple[int, bytes]] = field(default_factory=dict)


def unpack(data: bytes) -> Unpacked | None:
    """The files and body inside TNEF bytes, or None when they are not readable TNEF.

    Attached files come by their long (Unicode) names, the body as plain text or HTML. A
    body in compressed RTF alone is reported in `notes`, not read.
    """
    try:
        return _unpack(data)
    except (_Broken, struct.error, ValueError, LookupError) as error:
        log.info("winmail.dat not readable: %s", error)
        return None


def _unpack(data: bytes) -> Unpacked:
    if len(data) < 6 or struct.unpack_from("<I", data)[0] != _SIGNATURE:
        raise _Broken("no TNEF signature")
    codepage = "cp1252"
    message: dict[int, tuple[int, bytes]] = {}
    attachments: list[_Attachment] = []
    for level, name, payload in _objects(data):
        if name == _OEM_CODEPAGE and len(payload) >= 4:
            codepage = _codec(struct.unpack_from("<I", payload)[0])
        elif level == _LEVEL_ATTACHMENT:
            if name == _ATTACH_RENDERING or not attachments:
                attachments.append(_Attachment())
            _attachment_object(attachments[-1], name, payload)
        elif name == _MESSAGE_PROPS:
            message.update(_properties(payload))
        elif name == _BODY:
            message.setdefault(_PR_BODY, (_STRING8, payload))
    notes: list[str] = []
    files = tuple(_file(one, number, codepage) for number, one in enumerate(attachments, 1))
    internet = message.get(_PR_INTERNET_CODEPAGE)
    body_codepage = (_codec(struct.unpack_from("<i", internet[1])[0])
                     if internet and len(internet[1]) >= 4 else codepage)
    body = message.get(_PR_BODY) or message.get(_PR_UNCOMPRESSED_BODY)
    text = _text(body, body_codepage, notes)
    html = _text(message.get(_PR_HTML), body_codepage, notes)
    if _PR_RTF in message and not (text or html):
        notes.append("winmail.dat body is RTF only; not read")
    return Unpacked(files, text or None, html or None, tuple(dict.fromkeys(notes)))


def _objects(data: bytes):
    """(level, attribute id, payload) of each TNEF object, in order."""
    offset, count = 6, 0
    while offset + 12 < len(data):
        count += 1
        if count > MAX_OBJECTS:
            raise _Broken(f"more than {MAX_OBJECTS} attributes")
        level, name, _, length = struct.unpack_from("<BHHI", data, offset)
        size = min(len(data) - offset, length + 11)
        yield level, name, data[offset + 9: offset + size - 2]
        offset += size


def _attachment_object(attachment: _Attachment, name: int, payload: bytes) -> None:
    if name == _ATTACH_TITLE:
        attachment.title = payload
    elif name == _ATTACH_DATA:
        attachment.data = payload
    elif name == _ATTACHMENT_PROPS:
        attachment.props.update(_properties(payload))


def _properties(block: bytes) -> dict[int, tuple[int, bytes]]:
    """{property id: (type, first value)} of a MAPI property block ([MS-OXTNEF] 2.1.3.4).

    Every count in the block is checked against the bytes left, so no count makes the
    loop run longer than the block is long. An unknown type ends the reading there.
    """
    found: dict[int, tuple[int, bytes]] = {}
    try:
        _read_properties(block, found)
    except struct.error:
        log.info("winmail.dat: a property block ends early; %d properties read", len(found))
    return found


def _read_properties(block: bytes, found: dict[int, tuple[int, bytes]]) -> None:
    offset, end = 4, len(block)
    count = struct.unpack_from("<I", block)[0] if end >= 4 else 0
    for _ in range(min(count, end // 4)):
        if offset + 4 > end:
            break
        kind, prop = struct.unpack_from("<HH", block, offset)
        offset += 4
        if prop >= _NAMED:
            offset += 16
            named_kind = struct.unpack_from("<I", block, offset)[0]
            offset += 4
            offset += 4 if named_kind == 0 else 4 + _padded(struct.unpack_from("<I", block, offset)[0])
        values = 1
        if kind & _MULTI_VALUE:
            kind ^= _MULTI_VALUE
            values = struct.unpack_from("<I", block, offset)[0]
            offset += 4
        elif kind in _COUNTED:
            values = struct.unpack_from("<I", block, offset)[0]
            offset += 4
        if values > end - offset:
            raise _Broken(f"property {prop:#06x} counts {values} values in {end - offset} bytes")
        first, offset = _values(block, offset, kind, values)
        if first is None:
            break
        found.setdefault(prop, (kind, first))


def _values(block: bytes, offset: int, kind: int, values: int) -> tuple[bytes | None, int]:
    """(the first value, the offset after all of them); None for a type not known."""
    if kind in _FIXED:
        size = _FIXED[kind]
        first = block[offset: offset + size]
        offset += size * values
        if values % 2 and size == 2:
            offset += 2  # 16-bit values are padded to four bytes
        return first, offset
    if kind not in _COUNTED:
        return None, offset
    first = None
    for _ in range(values):
        length = struct.unpack_from("<I", block, offset)[0]
        offset += 4
        if first is None:
            first = block[offset: offset + length]
        offset += _padded(length)
    return first or b"", offset


def _padded(length: int) -> int:
    return length + (-length % 4)


def _file(attachment: _Attachment, number: int, codepage: str) -> TnefFile:
    props = attachment.props
    data = props[_PR_ATTACH_DATA][1] if _PR_ATTACH_DATA in props else attachment.data
    if props.get(_PR_ATTACH_DATA, (0,))[0] == _OBJECT:
        data = data[16:]  # an embedded object begins with the 16-byte id of its interface
    name = ""
    for prop in (_PR_LONG_FILENAME, _PR_FILENAME, _PR_DISPLAY_NAME):
        if prop in props:
            name = _string(*props[prop], codepage)
            break
    if not name and attachment.title:
        name = _string(_STRING8, attachment.title, codepage)
    return TnefFile(name.strip("\x00").strip() or f"winmail-{number}.bin", data)


def _string(kind: int, value: bytes, codepage: str) -> str:
    if kind == _UNICODE:
        return clean(value.decode("utf-16-le", "replace").split("\x00", 1)[0])
    return decode_bytes(value.split(b"\x00", 1)[0], codepage, "winmail.dat", [])


def _text(value: tuple[int, bytes] | None, codepage: str, notes: list[str]) -> str:
    if value is None:
        return ""
    kind, data = value
    if kind == _UNICODE:
        text = clean(data.decode("utf-16-le", "replace"))
    else:
        text = decode_bytes(data, codepage, "winmail.dat body", notes)
    return text.replace("\r\n", "\n").strip()


def _codec(codepage: int) -> str:
    return _CODEPAGES.get(codepage, f"cp{codepage}")
