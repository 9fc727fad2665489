"""Whatever arrives, every message read ends in exactly one fate and its bytes are kept.

Hypothesis builds hostile mail: random bytes, random MIME trees, header values in odd
charsets, Turkish dotted and dotless i, combining marks, right-to-left text, lone
surrogates escaped into the text, NUL. Through `import` and through a real Dovecot, the
count of fates equals the count of messages, and the server marks done exactly those.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
from dataclasses import replace
from email.message import EmailMessage
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.transport import files as sources
from assistant.app import App
from assistant.daemon.runner import Daemon
from support import CONSULTANT, Clock, settings_in

HOSTILE_LETTERS = "ıİſiIéé\u0301\u0336\u200e\u200f\u202e\u05d0\u0627ДжЁ\ufeff\x00\x07«»!>"
CHARSETS = ["utf-8", "koi8-r", "windows-1251", "iso-8859-9", "utf-7", "x-unknown-42", "us-ascii"]

# Russian typed in Latin letters is read through a transliteration table: feed it letters
# that are not in the table, where a lookup would fail.
TRANSLIT_WORDS = ["otgruzka", "ostanovilas", "nichego", "ne", "rabotaet", "srochno", "segodnya",
                  "do", "pyatnitsy", "İ", "ı", "ſ", "frıday", "ᲀ", "ǅ", "ﬁ"]

hostile_text = st.one_of(
    st.text(alphabet=st.sampled_from(HOSTILE_LETTERS) | st.characters(), max_size=300),
    st.lists(st.sampled_from(TRANSLIT_WORDS), min_size=1, max_size=12).map(" ".join))
header_value = st.one_of(
    hostile_text,
    st.builds(lambda text, cs: f"=?{cs}?B?{__import__('base64').b64encode(text.encode('utf-8', 'surrogatepass')).decode()}?=",
              hostile_text, st.sampled_from(CHARSETS)),
    st.builds(lambda n: "(" * n + "a@b.example" + ")" * n, st.integers(0, 400)))


@st.composite
def mime_trees(draw, depth: int = 0) -> bytes:
    """A message built from random parts, rendered leniently (compat32 keeps bad bytes)."""
    message = EmailMessage(policy=compat32)
    for name in ("From", "To", "Subject", "Message-ID", "Date"):
        if draw(st.booleans()):
            value = draw(header_value).replace("\r", " ").replace("\n", " ")
            message[name] = value
    kind = draw(st.sampled_from(["text", "html", "multipart", "rfc822", "binary"]))
    charset = draw(st.sampled_from(CHARSETS))
    body = draw(hostile_text).encode("utf-8", "surrogatepass")
    if kind == "multipart" and depth < 3:
        message.set_type("multipart/mixed")
        message.set_boundary(f"=={depth}==")      # the stdlib would draw one at random
        for _ in range(draw(st.integers(0, 3))):
            child = EmailMessage(policy=compat32)
            child.set_payload(draw(mime_trees(depth + 1)).decode("latin-1"))
            message.attach(child)
    elif kind == "rfc822" and depth < 3:
        message.set_type("message/rfc822")
        inner = EmailMessage(policy=compat32)
        inner.set_payload(draw(mime_trees(depth + 1)).decode("latin-1"))
        message.set_payload([inner])
    else:
        message.set_type({"html": "text/html", "binary": "application/octet-stream"}.get(kind, "text/plain"))
        message.set_param("charset", charset)
        message.set_payload(body.decode("latin-1"))
    try:
        return message.as_bytes()
    except Exception:  # noqa: BLE001 - a tree the stdlib cannot render: send its raw text
        return str(message.get_payload())[:2000].encode("utf-8", "surrogatepass")


hostile_mail = st.one_of(mime_trees(), st.binary(min_size=1, max_size=2000))


@pytest.fixture(scope="module")
def importer(tmp_path_factory):
    """One App for every example: loading the language pipelines once keeps the test quick."""
    folder = tmp_path_factory.mktemp("import")
    app = App(replace(settings_in(folder, performance__workers=0), consultants=(CONSULTANT,)),
              clock=Clock())
    yield app
    app.store.dispose()


def kept(app: App, raws: set[bytes]) -> int:
    """How many of `raws` have their exact bytes stored."""
    with sqlite3.connect(app.settings.database_url.removeprefix("sqlite:///")) as db:
        return sum(db.execute("SELECT count(*) FROM rawmessage WHERE content_hash = ?",
                              (hashlib.sha256(raw).hexdigest(),)).fetchone()[0] for raw in raws)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_mail, min_size=1, max_size=12))
def test_import_gives_every_hostile_message_exactly_one_fate_and_keeps_its_bytes(importer, raws):
    with tempfile.TemporaryDirectory() as folder:
        inbox = Path(folder)
        for number, raw in enumerate(raws):
            (inbox / f"{number:03}.eml").write_bytes(raw)
        given_count = sources.count([inbox])
        first = importer.import_mail(sources.read([inbox])).as_dict()
        assert first["read"] == given_count
        assert sum(v for k, v in first.items() if k != "read") == given_count
        distinct = {m.raw for m in sources.read([inbox])}
        assert kept(importer, distinct) == len(distinct)
        again = importer.import_mail(sources.read([inbox])).as_dict()
        assert again["read"] == given_count and again["duplicates"] == given_count


def _deliverable(raw: bytes) -> bytes:
    """What an IMAP APPEND can carry: no NUL, CRLF line ends, not empty."""
    raw = raw.replace(b"\x00", b"").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    raw = raw.replace(b"\n", b"\r\n")
    return raw if raw.strip() else b"Subject: empty\r\n\r\n.\r\n"


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.lists(hostile_mail, min_size=1, max_size=8))
def test_through_imap_the_server_marks_done_exactly_the_messages_with_a_fate(dovecot, new_user, raws):
    user = new_user()
    for raw in raws:
        dovecot.append(user, _deliverable(raw))
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        secret = folder / "password"
        secret.write_text(dovecot.password(user), encoding="utf-8")
        settings = settings_in(folder, performance__workers=0, imap__host=dovecot.host,
                               imap__port=dovecot.port, imap__security="none",
                               imap__username=user, imap__password_file=str(secret),
                               support__address=user)
        app = App(replace(settings, consultants=(CONSULTANT,)), clock=Clock())
        daemon = Daemon(app)
        tally = daemon.read_mail()
        daemon._close_inbox()
        with dovecot.client(user) as client:
            client.select_folder("INBOX", readonly=True)
            flags = client.get_flags(client.search("ALL"))
        assert tally.read == len(flags) == len(raws)
        assert sum(b"$Ticketed" in f for f in flags.values()) == len(raws)
        app.store.dispose()
