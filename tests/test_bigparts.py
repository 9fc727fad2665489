"""A mail with large attachments reads exactly as the stdlib parser reads it, only faster."""

from __future__ import annotations

import email
import hashlib
from email.message import EmailMessage
from email.policy import SMTP, compat32

from hypothesis import HealthCheck, given, settings, strategies as st

from assistant.mail import bigparts
from assistant.mail.intake import parse
from assistant.mail.mimewalk import BoundedMessage


def _tree(message) -> list:
    """Every part's headers and decoded payload, in walking order."""
    return [(part.items(), part.get_payload(decode=True) if not part.is_multipart() else None,
             part.preamble, part.epilogue, part.defects and [type(d) for d in part.defects])
            for part in message.walk()]


def _mail(sizes: list[int], seed: int, nested: bool, crlf: bool, text: str) -> bytes:
    mail = EmailMessage(policy=SMTP if crlf else SMTP.clone(linesep="\n"))
    mail["From"] = "client@example.net"
    mail["Subject"] = "logs"
    mail.set_content(text)
    if nested:
        mail.add_alternative(f"<p>{text}</p>", subtype="html")
    for number, size in enumerate(sizes):
        data = hashlib.shake_256(f"{seed}-{number}".encode()).digest(size)
        mail.add_attachment(data, maintype="application", subtype="zip", filename=f"log-{number}.zip")
    return mail.as_bytes()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(0, 200_000), min_size=1, max_size=4), seed=st.integers(0, 99),
       nested=st.booleans(), crlf=st.booleans(), text=st.text(min_size=1, max_size=200))
def test_a_mail_with_large_attachments_parses_into_the_same_tree_as_the_stdlib_reads(
        sizes, seed, nested, crlf, text):
    raw = _mail(sizes, seed, nested, crlf, text)
    plain = email.message_from_bytes(raw, BoundedMessage, policy=compat32)
    assert _tree(bigparts.parse(raw, BoundedMessage)) == _tree(plain)


def test_the_attachment_of_a_large_mail_keeps_its_every_byte():
    raw = _mail([300_000, 150_000], 7, nested=True, crlf=True, text="Логи во вложении.")
    lighter, bodies = bigparts.set_aside(raw, "T")
    assert len(bodies) == 2 and len(lighter) < 5_000       # the bodies really were set aside
    mail = parse(raw)
    assert [part.size for part in mail.attachments] == [300_000, 150_000]
    assert mail.attachments[0].data == hashlib.shake_256(b"7-0").digest(300_000)
    assert mail.visible_text == "Логи во вложении."


def test_a_boundary_written_inside_a_text_part_is_read_as_the_stdlib_reads_it():
    # A text part quoting a line that looks like the next boundary: the scan must not
    # cut the mail where the parser does not.
    data = "QUJD" * 10_000
    raw = ("From: a@example.net\nContent-Type: multipart/mixed; boundary=\"b1\"\n\n"
           "--b1\nContent-Type: text/plain\n\nsee below\n--b1x\n"
           "Content-Transfer-Encoding: base64\n\n" + "\n".join([data[:76]] * 600) + "\n"
           "--b1\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\n"
           + "\n".join([data[:76]] * 600) + "\n--b1--\n").encode()
    plain = email.message_from_bytes(raw, BoundedMessage, policy=compat32)
    assert _tree(bigparts.parse(raw, BoundedMessage)) == _tree(plain)
