"""Hostile mails built in code: each one once broke or stalled understanding a message.

Shared by tests/test_hostile.py and bench/hostile.py. Every builder returns raw bytes;
`size` (where there is one) is the length of the hostile part, as in the cases found.
"""

from __future__ import annotations

import base64
import struct

ORDINARY = (
    "From: Иван Петров <ivan@client.ru>\n"
    "To: support@example.com\n"
    "Subject: Не печатает принтер\n"
    "Date: Mon, 23 Nov 2026 10:00:00 +0300\n"
    "Message-ID: <ordinary-1@client.ru>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain; charset=utf-8\n"
    "\n"
    "Добрый день!\n\nПринтер в бухгалтерии не печатает с утра, нужно до пятницы.\n\n"
    "> Старое письмо\n> в цитате\n\n--\nИван\n"
).encode()


def mail(body: bytes | str = "Hello", *, subject: str | bytes = "Hello",
         sender: str | bytes = "Anna <anna@client.example>",
         content_type: str = "text/plain; charset=utf-8", headers: str | bytes = "") -> bytes:
    """A one-part mail with these values written as they are (no encoding, no folding)."""
    def raw(value: str | bytes) -> bytes:
        return value if isinstance(value, bytes) else value.encode("utf-8")
    head = (b"From: " + raw(sender) + b"\nTo: support@example.com\nSubject: " + raw(subject)
            + b"\nDate: Mon, 23 Nov 2026 10:00:00 +0300\nMIME-Version: 1.0\nContent-Type: "
            + raw(content_type) + b"\n" + raw(headers))
    if not head.endswith(b"\n"):
        head += b"\n"
    return head + b"\n" + raw(body)


def html_mail(html: str) -> bytes:
    return mail(html, content_type="text/html; charset=utf-8")


def blockquote_bomb(size: int) -> bytes:
    """HTML of `size` bytes: blockquotes opened inside each other, a line in each."""
    unit = "<blockquote>quoted line<br>\n"
    return html_mail(unit * (size // len(unit)))


def unclosed_tags(size: int, opener: str = "<a ") -> bytes:
    """HTML of `size` bytes of a tag (or comment) opened again and again, never closed."""
    return html_mail("<p>Hello</p>" + opener * (size // len(opener)))


def punctuation_subject(size: int, mark: str = "!") -> bytes:
    return mail("Please help", subject=mark * size)


def punctuation_body(size: int, mark: str = ">") -> bytes:
    return mail(mark * size, subject="Re: help")


def nested_rfc822(depth: int) -> bytes:
    """A forwarded message inside a forwarded message, `depth` times."""
    inner = b"From: deep@client.example\nSubject: deepest\n\nbottom\n"
    for level in range(depth):
        inner = (b"From: f%d@client.example\nSubject: fwd\nMIME-Version: 1.0\n"
                 b"Content-Type: message/rfc822\n\n" % level) + inner
    return (b"From: anna@client.example\nTo: support@example.com\nSubject: forwarded\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            b"Content-Type: text/plain\n\nsee below\n--b\nContent-Type: message/rfc822\n\n"
            + inner + b"\n--b--\n")


def nested_comments(depth: int, header: str = "From") -> bytes:
    value = "(" * depth + "x" + ")" * depth + " <anna@client.example>"
    extra = f"{header}: {value}\n" if header != "From" else ""
    sender = value if header == "From" else "anna@client.example"
    return mail("Hello", sender=sender, headers=extra)


# ---- TNEF (winmail.dat), written the way Outlook writes it --------------------------------

TNEF_SIGNATURE = 0x223E9F78
LVL_MESSAGE, LVL_ATTACHMENT = 1, 2
ATT_BODY, ATT_RENDDATA, ATT_MAPIPROPS, ATT_ATTACHMENT = 0x800C, 0x9002, 0x9003, 0x9005
ATT_ATTACHDATA, ATT_ATTACHTITLE, ATT_OEMCODEPAGE = 0x800F, 0x8010, 0x9007
PT_LONG, PT_UNICODE, PT_BINARY = 0x0003, 0x001F, 0x0102
PR_BODY, PR_BODY_HTML, PR_LONG_FILENAME, PR_ATTACH_DATA = 0x1000, 0x1013, 0x3707, 0x3701


def tnef_object(level: int, name: int, data: bytes, kind: int = 6) -> bytes:
    checksum = sum(data) & 0xFFFF
    return struct.pack("<BHHI", level, name, kind, len(data)) + data + struct.pack("<H", checksum)


def mapi_props(props: list[tuple[int, int, bytes | int]]) -> bytes:
    """MAPI properties as TNEF carries them: (type, id, value) each padded to 4 bytes."""
    out = struct.pack("<I", len(props))
    for kind, prop, value in props:
        out += struct.pack("<HH", kind, prop)
        if kind == PT_LONG:
            out += struct.pack("<i", value)
        else:
            data = value.encode("utf-16-le") + b"\0\0" if isinstance(value, str) else value
            out += struct.pack("<II", 1, len(data)) + data + b"\0" * (-len(data) % 4)
    return out


def tnef(body: str = "", files: tuple[tuple[str, bytes], ...] = (), padding: int = 0) -> bytes:
    """winmail.dat bytes: a body, attached files by long name, and `padding` tiny objects."""
    out = struct.pack("<IH", TNEF_SIGNATURE, 0x0001)
    out += tnef_object(LVL_MESSAGE, ATT_OEMCODEPAGE, struct.pack("<II", 1252, 0))
    out += tnef_object(LVL_MESSAGE, 0x8008, b"IPM.Microsoft Mail.Note\0", 7)
    out += b"".join(tnef_object(LVL_MESSAGE, 0x0004, b"\0") for _ in range(padding))
    if body:
        out += tnef_object(LVL_MESSAGE, ATT_MAPIPROPS, mapi_props([(PT_UNICODE, PR_BODY, body)]))
    for name, data in files:
        out += tnef_object(LVL_ATTACHMENT, ATT_RENDDATA, b"\0" * 14)
        out += tnef_object(LVL_ATTACHMENT, ATT_ATTACHDATA, data)
        out += tnef_object(LVL_ATTACHMENT, ATT_ATTACHMENT, mapi_props(
            [(PT_UNICODE, PR_LONG_FILENAME, name), (PT_BINARY, PR_ATTACH_DATA, data)]))
    return out


def tnef_mail(data: bytes) -> bytes:
    encoded = base64.encodebytes(data)
    return (b"From: olga@client.example\nTo: support@example.com\nSubject: report\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n"
            b"Content-Type: application/ms-tnef; name=winmail.dat\n"
            b"Content-Transfer-Encoding: base64\n\n" + encoded + b"--b--\n")


def tnef_bomb(size: int) -> bytes:
    """A winmail.dat of about `size` bytes made of tiny objects: each 12 bytes long."""
    return tnef_mail(tnef("Hello", padding=size // 12))


def attachment_mail(disposition: str, data: bytes = b"%PDF") -> bytes:
    """A mail with one PDF attached under this Content-Disposition, written as it is."""
    part = (b"--b\nContent-Type: application/pdf\nContent-Disposition: "
            + disposition.encode("utf-8") + b"\n\n" + data + b"\n--b--\n")
    return mail(part, content_type="multipart/mixed; boundary=b")


def many_parts(count: int) -> bytes:
    return (b"From: anna@client.example\nSubject: parts\nMIME-Version: 1.0\n"
            b"Content-Type: multipart/mixed; boundary=b\n\n"
            + b"--b\nContent-Type: text/plain\n\nx\n" * count + b"--b--\n")


def flowed(size: int) -> bytes:
    """format=flowed text of `size` bytes: one paragraph of soft line breaks."""
    return mail("a \n" * (size // 3), content_type="text/plain; charset=utf-8; format=flowed")


# ---- the cases, by the name a report uses ---------------------------------------------------

CASES = {
    "dotless i in transliterated Russian": lambda: mail(
        "privet, u nas ne rabotaet kassa, pomogite srochno ılı zavtra"),
    "dotted capital I in the subject only": lambda: mail(
        "", subject="PRİVET u nas ne rabotaet kassa srochno"),
    "long s beside an English deadline": lambda: mail(
        "Привет, ſrochno please fix it by frıday", subject="Касса ſtop"),
    "rare Cyrillic letter form in a deadline": lambda: mail("Нужно до ᲀторника, касса стоит"),
    "UTF-7 lone surrogate in the body": lambda: mail(
        b"Hello +2AA- world", content_type="text/plain; charset=utf-7"),
    "escaped lone surrogate in the body": lambda: mail(
        b"Hello \\ud800 world \\x00", content_type="text/plain; charset=unicode_escape"),
    "lone surrogates in the subject": lambda: mail(
        "x", subject="=?utf-7?Q?+2AA-?= =?unicode_escape?Q?=5Cud800?="),
    "NUL in the subject and the From name": lambda: mail(
        "x", subject=b"Help\0me", sender=b"An\0na <anna@client.example>"),
    "IDNA charset in an RFC 2231 file name": lambda: attachment_mail(
        "attachment; filename*=idna''xn--d1acufc.pdf"),
    "From nested 3000 comments deep": lambda: nested_comments(3000),
    "To nested 3000 comments deep": lambda: nested_comments(3000, "To"),
    "message/rfc822 nested 600 deep": lambda: nested_rfc822(600),
    "Date in year 9999 at -2359": lambda: mail(
        "x").replace(b"Mon, 23 Nov 2026 10:00:00 +0300", b"Fri, 31 Dec 9999 23:59:59 -2359"),
    "Message-ID with an angle bracket inside": lambda: mail("x", headers="Message-ID: a>b@x\n"),
    "blockquote bomb 265 KB": lambda: blockquote_bomb(265_000),
    "blockquote bomb 963 KB": lambda: blockquote_bomb(963_000),
    "unclosed <a> 117 KB": lambda: unclosed_tags(117_000),
    "unclosed <!-- 117 KB": lambda: unclosed_tags(117_000, "<!--"),
    "subject of 39 KB of !": lambda: punctuation_subject(39_000, "!"),
    "subject of 39 KB of >": lambda: punctuation_subject(39_000, ">"),
    "body of 195 KB of >": lambda: punctuation_body(195_000, ">"),
    "TNEF of 9 MB in tiny objects": lambda: tnef_bomb(9_000_000),
    "Content-Type of 100,000 parameters": lambda: mail(
        "x", content_type="text/plain; charset=utf-8" + "; a=b" * 100_000),
    "format=flowed of 2 MB soft breaks": lambda: flowed(2_000_000),
    "50,000 MIME parts": lambda: many_parts(50_000),
}
# Cases that take a good part of a second even when handled well: benched, not run whole
# in every test run (the tests try them smaller).
HEAVY = frozenset({"blockquote bomb 963 KB", "TNEF of 9 MB in tiny objects",
                   "format=flowed of 2 MB soft breaks", "50,000 MIME parts"})
