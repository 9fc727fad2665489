"""The MIME walk: texts and attachments of a message tree, in the order a reader meets them."""

from __future__ import annotations

import email.errors
import itertools
import mimetypes
import re
from dataclasses import dataclass
from email.message import Message

from assistant.mail import htmltext, quoting, tnef
from assistant.mail.charsets import Headers, clean, decode_bytes, decode_header, raw_text, unfold

_MAX_DEPTH = 30  # deeper MIME nesting is an attack or a loop, not a letter
# A forwarded message holding forwarded messages this deep is kept by its headers only:
# writing it back out recurses once per level (600 levels exhaust the interpreter's stack).
MAX_FORWARD_DEPTH = 20
# html.parser reads about a megabyte a second; nobody writes a longer letter by hand.
_MAX_HTML_READ = 500_000
MAX_PARAMS_CHARS = 8192
MAX_PARTS = 1000  # a letter with its attachments has tens; thousands are a bomb
_TNEF_TYPES = frozenset({"application/ms-tnef", "application/vnd.ms-tnef"})
_UNSAFE_IN_NAME = re.compile(r"[\x00-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


class BoundedMessage(Message):
    """compat32's Message that reads parameters from at most MAX_PARAMS_CHARS of a header.

    email.message._parseparam copies the rest of the value for every parameter it splits
    off, so a Content-Type of 100,000 parameters took seconds for each lookup (the parser
    itself looks up the boundary). Real headers carry their parameters in a kilobyte.
    """

    def _get_params_preserve(self, failobj, header):
        value = self.get(header)
        if value is None or len(str(value)) <= MAX_PARAMS_CHARS:
            return super()._get_params_preserve(failobj, header)
        text = str(value)
        shorter = Message()
        shorter[header] = text[:max(text.rfind(";", 0, MAX_PARAMS_CHARS), 0) or MAX_PARAMS_CHARS]
        return Message._get_params_preserve(shorter, failobj, header)


@dataclass(frozen=True)
class Part:
    """An attachment or inline image. `data` is None when it was over the size limit
    (or, with `sha256` set, when it was hashed where it was parsed and left behind)."""

    filename: str
    content_type: str
    size: int
    data: bytes | None
    inline: bool = False
    content_id: str | None = None
    sha256: str | None = None


class Body:
    """Texts and attachments of a MIME tree, in the order a reader meets them."""

    def __init__(self, limit: int, notes: list[str], numbers: itertools.count | None = None,
                 walked: itertools.count | None = None):
        self.limit = limit
        self.notes = notes
        self.numbers = numbers or itertools.count(1)  # for attachments that came unnamed
        self.walked = walked or itertools.count(1)    # parts met so far, in every branch
        self.plain: list[str] = []
        self.html: list[str] = []
        self.fallback: list[str] = []  # winmail.dat bodies: read only when nothing else is
        self.attachments: list[Part] = []

    def collect(self, part: Message, depth: int) -> None:
        if depth > _MAX_DEPTH:
            self.notes.append(f"MIME nesting deeper than {_MAX_DEPTH}; the rest skipped")
            return
        if (number := next(self.walked)) > MAX_PARTS:
            if number == MAX_PARTS + 1:
                self.notes.append(f"more than {MAX_PARTS} MIME parts; the rest skipped")
            return
        content_type = part.get_content_type()
        # get_payload() of a leaf decodes with the charset parameter and can raise on a
        # broken one: ask is_multipart() first, and read leaves with decode=True only.
        if not part.is_multipart():
            self._leaf(part, content_type)
        elif content_type.startswith("message/"):
            self._embedded(part, content_type)
        elif content_type == "multipart/alternative":
            self._alternative(part.get_payload(), depth)
        else:
            for child in part.get_payload():
                self.collect(child, depth + 1)

    def text_and_html(self) -> tuple[str, str | None]:
        html = "\n".join(self.html) or None
        text = "\n".join(self.plain).strip()
        if not text and html:
            if len(html) > _MAX_HTML_READ:
                self.notes.append(f"HTML of {len(html)} characters; only the first "
                                  f"{_MAX_HTML_READ} were turned into text")
            text = htmltext.to_text(html[:_MAX_HTML_READ])
        if not text and self.fallback:
            text = "\n\n".join(self.fallback)
        return text, html

    def _alternative(self, children: list[Message], depth: int) -> None:
        """The last plain text and the last HTML among the alternatives (RFC 2046 section
        5.1.4 puts the richest last); attachments of every alternative."""
        plain: list[str] = []
        html: list[str] = []
        for child in children:
            branch = Body(self.limit, self.notes, self.numbers, self.walked)
            branch.collect(child, depth + 1)
            plain, html = branch.plain or plain, branch.html or html
            self.attachments += branch.attachments
            self.fallback += branch.fallback
        self.plain += plain
        self.html += html

    def _leaf(self, part: Message, content_type: str) -> None:
        if content_type.startswith("multipart/"):
            self.notes.append(f"{content_type} without parts; read as plain text")
            content_type = "text/plain"
        disposition = _disposition(part)
        filename = _filename(part, self.notes)
        if content_type in _TNEF_TYPES or filename.lower() == "winmail.dat":
            self._tnef(_payload(part), filename, content_type)
        elif content_type in ("text/plain", "text/html") and not filename and (
            disposition != "attachment"
        ):
            texts = self.plain if content_type == "text/plain" else self.html
            texts.append(_part_text(part, content_type, self.notes))
        else:
            self._attach(filename, content_type, _payload(part), disposition, _content_id(part))

    def _embedded(self, part: Message, content_type: str) -> None:
        """A forwarded message or a delivery report, kept whole as one attachment."""
        inner = part.get_payload()
        subject = Headers(inner[0]).raw("subject") if inner else None
        name = _filename(part, self.notes) or (
            f"{_clean_filename(decode_header(subject or '', 'Subject', [])) or 'message'}.eml"
            if content_type == "message/rfc822" else f"{content_type.split('/')[1]}.txt"
        )
        depth = _depth(part, MAX_FORWARD_DEPTH)
        if depth > MAX_FORWARD_DEPTH:
            self.notes.append(f"{name!r} holds messages nested more than {MAX_FORWARD_DEPTH} "
                              f"deep; only its headers were kept")
            data = _headers_only(inner)
        else:
            data = _message_bytes(inner, content_type)
        self._attach(name, content_type, data, "attachment", None)

    def _tnef(self, data: bytes, filename: str, content_type: str) -> None:
        unpacked = tnef.unpack(data)
        if unpacked is None:
            self.notes.append("winmail.dat could not be unpacked; kept as it came")
            self._attach(filename or "winmail.dat", content_type, data, "attachment", None)
            return
        for file in unpacked.files:
            name = _clean_filename(file.filename)
            guessed_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
            self._attach(name, guessed_type, file.data, "attachment", None)
        self.notes.extend(unpacked.notes)
        body = unpacked.body_text or htmltext.to_text(unpacked.body_html or "")
        if body:
            self.fallback.append(body)

    def _attach(self, filename: str, content_type: str, data: bytes, disposition: str,
                content_id: str | None) -> None:
        number = next(self.numbers)
        name = filename or f"part-{number}{mimetypes.guess_extension(content_type) or '.bin'}"
        kept: bytes | None = data
        if len(data) > self.limit:
            self.notes.append(f"attachment {name!r} is {len(data)} bytes, over the "
                              f"{self.limit}-byte limit; kept by name and size only")
            kept = None
        inline = disposition == "inline" or (not disposition and content_id is not None)
        self.attachments.append(Part(name, content_type, len(data), kept, inline, content_id))


def _payload(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _part_text(part: Message, content_type: str, notes: list[str]) -> str:
    data = _payload(part)
    declared = param(part, "charset").strip().lower()
    if not declared and content_type == "text/html":
        declared = htmltext.declared_charset(data)
    what = "text" if content_type == "text/plain" else "HTML"
    text = decode_bytes(data, declared, what, notes)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
    if content_type == "text/plain" and "format" in _first_raw(part, "content-type").lower() \
            and param(part, "format").lower() == "flowed":
        text = quoting.unflow(text, delsp=param(part, "delsp").lower() == "yes")
    return text


def _message_bytes(inner: list[Message], content_type: str) -> bytes:
    if content_type != "message/delivery-status" and len(inner) == 1:
        try:
            return inner[0].as_bytes()
        except (LookupError, ValueError, TypeError, AttributeError, RecursionError,
                email.errors.MessageError):
            pass  # a message too broken to write back out: keep its headers below
    return _headers_only(inner)


def _headers_only(inner: list[Message]) -> bytes:
    blocks = ("\n".join(f"{name}: {value}" for name, value in block.raw_items())
              for block in inner if isinstance(block, Message))
    return "\n\n".join(blocks).encode("utf-8", "surrogateescape")


def _depth(part: Message, limit: int) -> int:
    """How deep parts nest under `part`, counted without recursion and up to `limit` + 1."""
    deepest = 0
    stack = [(part, 0)]
    while stack and deepest <= limit:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if node.is_multipart():  # get_payload() of a leaf decodes it, and may raise
            children = node.get_payload()
            stack.extend((child, depth + 1) for child in children if isinstance(child, Message))
    return deepest


def _disposition(part: Message) -> str:
    return _first_raw(part, "content-disposition").split(";", 1)[0].strip().lower()


def _content_id(part: Message) -> str | None:
    return raw_text(_first_raw(part, "content-id"), "Content-ID", []).strip("<> ") or None


def _first_raw(part: Message, name: str) -> str:
    """A part's header as it came, unfolded; compat32's get() would wrap 8-bit in Header."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return unfold(str(value))
    return ""


def _filename(part: Message, notes: list[str]) -> str:
    """The attachment's name: RFC 2231, RFC 2047 inside quotes (Outlook) and raw 8-bit."""
    raw = [(name, str(value)) for name, value in part.raw_items()
           if name.lower() in ("content-disposition", "content-type")]
    if not any("name" in value.lower() for _, value in raw):
        return ""        # neither filename= nor name= (nor their RFC 2231 pieces): no name
    if not all(value.isascii() for _, value in raw):
        # compat32 turns 8-bit parameters into replacement characters: decode them first.
        part = BoundedMessage()
        for name, value in raw:
            part[name] = raw_text(unfold(value), "Filename", notes)
    name = (param(part, "filename", "content-disposition") or param(part, "name")).strip()
    if not name:
        return ""
    if "=?" in name:
        name = decode_header(name, "Filename", notes)
    return _clean_filename(name)


def param(part: Message, name: str, header: str = "content-type") -> str:
    """A header parameter as text, "" when missing or unreadable.

    email.utils.decode_params raises TypeError when numbered and unnumbered RFC 2231
    pieces of one parameter are mixed (as a truncated mail leaves them): that is "unreadable".
    """
    try:
        value = part.get_param(name, header=header)
        if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text)
            charset, _, text = value
            data = bytes(text, "raw-unicode-escape")
            return decode_bytes(data, charset or None, "Parameter", []) if charset else text
    except (TypeError, ValueError, LookupError, IndexError):
        return ""
    return str(value or "")


def _clean_filename(name: str) -> str:
    """The last path component, without control characters or the marks that reverse
    text direction ("gpj.exe" shown as "exe.jpg"): names come from strangers."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return _UNSAFE_IN_NAME.sub("", clean(name)).strip()[:255]
