"""Large base64 bodies set aside while the MIME tree is parsed, then put back in place.

The stdlib parser reads a multipart body line by line, testing every line against the
boundary: a 2 MB attachment is 36,000 lines of that, and 5 % of support mail (the part
with attachments) took a third of all parsing. Here the bytes of each large base64 leaf
are found between its boundaries with bytes.find, replaced by a one-line token for the
parse, and handed back to their part as its payload afterwards.

The tree is the one the plain parse builds: a body of base64 characters holds no line
that could be a boundary or end a part, so the parser treats the token exactly as it
treats those lines. Should any token not come back as the whole payload of exactly one
leaf (a boundary this scan misread, a header block the parser reads differently), the
message is parsed again as it came.
"""

from __future__ import annotations

import email
import re
import secrets
from email.message import Message
from email.policy import compat32

# Smaller messages parse fast enough as they are; a body under this is left in place.
MIN_MESSAGE_BYTES = 64 * 1024
MIN_BODY_BYTES = 16 * 1024
_MAX_HEAD_BYTES = 8192          # a part's header block longer than this is not ours to read
_BASE64_AND_SPACE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n"
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))', re.I)
_BASE64_CTE = re.compile(rb"^content-transfer-encoding:[ \t]*base64[ \t]*\r?$", re.I | re.M)
_CONTAINER = re.compile(rb"^content-type:[ \t]*(multipart|message)/", re.I | re.M)


def parse(raw: bytes, message_class: type[Message]) -> Message:
    """`raw` parsed with compat32 into `message_class`, as email.message_from_bytes does."""
    if len(raw) < MIN_MESSAGE_BYTES:
        return email.message_from_bytes(raw, message_class, policy=compat32)
    token = f"ASIDE{secrets.token_hex(8).upper()}N"
    lighter, bodies = set_aside(raw, token)
    if not bodies:
        return email.message_from_bytes(raw, message_class, policy=compat32)
    message = email.message_from_bytes(lighter, message_class, policy=compat32)
    if _put_back(message, token, bodies):
        return message
    return email.message_from_bytes(raw, message_class, policy=compat32)


def set_aside(raw: bytes, token: str) -> tuple[bytes, list[str]]:
    """(`raw` with each large base64 leaf body replaced by token + its number, the bodies)."""
    delimiters = _delimiters(raw)
    pieces: list[bytes] = []
    bodies: list[str] = []
    done = 0
    for start, end in zip(delimiters, delimiters[1:]):
        span = _body_span(raw, start, end)
        if span is None:
            continue
        first, last = span
        pieces += [raw[done:first], f"{token}{len(bodies)}".encode()]
        bodies.append(raw[first:last].decode("ascii"))
        done = last
    if not bodies:
        return raw, []
    pieces.append(raw[done:])
    return b"".join(pieces), bodies


def _delimiters(raw: bytes) -> list[int]:
    """Where each line that opens with "--" and a declared boundary starts, in order."""
    boundaries = set()
    for spelling in (b"oundary", b"OUNDARY"):   # bytes.find is fast where a case-blind regex is not
        at = raw.find(spelling, 1)
        while at >= 0:
            if declared := _BOUNDARY.match(raw, at - 1):
                boundaries.add(declared.group(1) or declared.group(2))
            at = raw.find(spelling, at + 7)
    found: set[int] = set()
    for boundary in boundaries:
        mark = b"\n--" + boundary
        at = raw.find(mark)
        while at >= 0:
            after = raw[at + len(mark):at + len(mark) + 1]
            if after in (b"", b"-", b" ", b"\t", b"\r", b"\n"):
                found.add(at + 1)
            at = raw.find(mark, at + len(mark))
    return sorted(found)


def _body_span(raw: bytes, start: int, end: int) -> tuple[int, int] | None:
    """(first, last) byte of the base64 body between two delimiter lines, when it is large
    and its part is a leaf sent as base64; None otherwise."""
    if end - start < MIN_BODY_BYTES:
        return None
    line_end = raw.find(b"\n", start, end)
    if line_end < 0:
        return None
    head_end = raw.find(b"\n\r\n", line_end, min(end, line_end + _MAX_HEAD_BYTES))
    blank = 3
    plain = raw.find(b"\n\n", line_end, min(end, line_end + _MAX_HEAD_BYTES))
    if plain >= 0 and (head_end < 0 or plain < head_end):
        head_end, blank = plain, 2
    if head_end <= line_end:        # no header block, or none before the body
        return None
    head = raw[line_end + 1:head_end + 1]
    if not _BASE64_CTE.search(head) or _CONTAINER.search(head):
        return None
    first = head_end + blank
    last = end - 1                  # the line end before the next delimiter is the delimiter's
    if raw[last - 1:last] == b"\r":
        last -= 1
    if last - first < MIN_BODY_BYTES or raw[first:last].translate(None, _BASE64_AND_SPACE):
        return None
    return first, last


def _put_back(message: Message, token: str, bodies: list[str]) -> bool:
    """Each body back as the payload of the leaf holding its token; False unless every token
    was found once, alone, as a whole payload."""
    restored: set[int] = set()
    stack = [message]
    while stack:
        part = stack.pop()
        payload = part._payload       # noqa: SLF001 - read as the parser left it, undecoded
        if isinstance(payload, list):
            stack.extend(child for child in payload if isinstance(child, Message))
        elif isinstance(payload, str) and token in payload:
            number = payload.removeprefix(token)
            if not number.isdigit() or int(number) >= len(bodies) or int(number) in restored:
                return False
            part.set_payload(bodies[int(number)])
            restored.add(int(number))
    return len(restored) == len(bodies)
