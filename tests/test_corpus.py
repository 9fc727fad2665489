"""No mail, however odd or damaged, stops intake with anything but a reasoned Unparseable."""

from __future__ import annotations

import email
import random
from pathlib import Path

import pytest

from assistant.mail import htmltext, quoting
from assistant.errors import Unparseable
from assistant.mail.intake import Incoming, parse

MAIL = Path(__file__).parent / "mail"
# CPython ships the MIME edge cases its own email package is tested against.
CPYTHON_MAIL = Path(email.__file__).parent.parent / "test" / "test_email" / "data"
DAMAGED_SOURCES = [
    "outlook-ru-reply.eml", "attachments-rfc2231.eml", "tnef-winmail.eml",
    "bounce-dsn.eml", "broken-subject.eml", "inline-image.eml", "utf8-really-cp1251.eml",
]


def cpython_messages() -> list[Path]:
    return sorted(CPYTHON_MAIL.glob("msg_*.txt")) if CPYTHON_MAIL.is_dir() else []


def parses_or_is_refused_with_a_reason(raw: bytes) -> Incoming | None:
    try:
        return parse(raw, max_attachment_bytes=4096)
    except Unparseable as refused:
        reason = str(refused)
        assert reason and "\n" not in reason, f"reason should be one line: {reason!r}"
        return None


@pytest.mark.skipif(not cpython_messages(),
                    reason=f"CPython's email test data is not installed at {CPYTHON_MAIL}")
@pytest.mark.parametrize("path", cpython_messages(), ids=lambda path: path.name)
def test_cpython_email_edge_cases_parse_or_are_refused_with_a_reason(path):
    mail = parses_or_is_refused_with_a_reason(path.read_bytes())
    if mail is not None:
        assert mail.message_id and mail.content_hash
        for value in (mail.subject, mail.from_name, mail.text, mail.visible_text, *mail.notes):
            value.encode("utf-8")  # no stray surrogates: the database must be able to store it


@pytest.mark.skipif(not cpython_messages(), reason="CPython's email test data is not installed")
def test_most_of_the_cpython_corpus_is_understood_as_mail():
    understood = [path for path in cpython_messages()
                  if parses_or_is_refused_with_a_reason(path.read_bytes())]
    assert len(understood) >= len(cpython_messages()) - 2


@pytest.mark.parametrize("name", DAMAGED_SOURCES)
def test_truncated_mail_parses_or_is_refused_with_a_reason(name):
    raw = (MAIL / name).read_bytes()
    rng = random.Random(f"truncate {name}")
    for end in sorted({0, 1, 2, len(raw) // 2, *(rng.randrange(len(raw)) for _ in range(60))}):
        parses_or_is_refused_with_a_reason(raw[:end])


@pytest.mark.parametrize("name", DAMAGED_SOURCES)
def test_mail_with_flipped_bytes_parses_or_is_refused_with_a_reason(name):
    raw = (MAIL / name).read_bytes()
    rng = random.Random(f"flip {name}")
    for _ in range(150):
        damaged = bytearray(raw)
        for _ in range(rng.randint(1, 25)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        parses_or_is_refused_with_a_reason(bytes(damaged))


@pytest.mark.parametrize("name", DAMAGED_SOURCES)
def test_mail_with_spliced_chunks_parses_or_is_refused_with_a_reason(name):
    """Chunks cut out or repeated, as a broken download or a bad mbox split leaves them."""
    raw = (MAIL / name).read_bytes()
    rng = random.Random(f"splice {name}")
    for _ in range(80):
        start, end = sorted(rng.randrange(len(raw)) for _ in range(2))
        if rng.random() < 0.5:
            damaged = raw[:start] + raw[end:]
        else:
            damaged = raw[:end] + raw[start:]
        parses_or_is_refused_with_a_reason(damaged)


def test_deeply_nested_multiparts_are_refused_or_cut_off_not_crashed():
    head = b"From: a@b.c\nSubject: nest\n"
    body = b"x\n"
    for level in range(200):
        boundary = f"b{level}".encode()
        body = (b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\n\n--" + boundary
                + b"\n" + body + b"\n--" + boundary + b"--\n")
    mail = parses_or_is_refused_with_a_reason(head + body)
    if mail is not None:
        assert any("nesting" in note for note in mail.notes)


def test_damaged_html_still_turns_into_text():
    """html.parser asserts on some malformed marks; a mail body must never make it fail."""
    html = parse((MAIL / "outlook-ru-reply.eml").read_bytes()).html
    rng = random.Random("html")
    for _ in range(300):
        damaged = list(html)
        for _ in range(rng.randint(1, 30)):
            damaged[rng.randrange(len(damaged))] = rng.choice("<>/![]-&;#\"' =pdivbr\n")
        text = "".join(damaged)
        if rng.random() < 0.3:
            text = "<![" + text
        quoting.visible_text(htmltext.to_text(text))
