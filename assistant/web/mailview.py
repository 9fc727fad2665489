"""A stored mail read again from its raw bytes: its HTML made safe, its attachments' bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from markupsafe import escape

from assistant.mail import intake
from assistant.errors import NotFound
from assistant.store.models import Attachment, Message
from assistant.store.raw import raw_bytes
from assistant.web.security import clean_mail_html


@dataclass(frozen=True)
class Download:
    filename: str
    data: bytes


def _parsed(app, message: Message) -> intake.Incoming:
    if not message.content_hash:
        raise NotFound(f"message {message.id} has no stored original")
    with app.store.session() as session:
        try:
            raw = raw_bytes(session, app.settings, message.content_hash)
        except (KeyError, OSError) as exc:
            raise NotFound(f"the original of message {message.id} is not kept") from exc
    limit = app.settings.storage.max_attachment_bytes
    return intake.parse(raw, own_addresses=app.settings.support_addresses,
                        max_attachment_bytes=limit)


def safe_html(app, message: Message) -> str:
    """The mail's HTML part sanitised, or its text in a <pre> when it had no HTML."""
    mail = _parsed(app, message)
    if mail.html:
        return clean_mail_html(mail.html)
    return f"<pre>{escape(mail.text)}</pre>"


def attachment(app, message: Message, row: Attachment) -> Download:
    """The bytes of one attachment, found in the raw mail by its hash, name and size."""
    mail = _parsed(app, message)
    for part in mail.attachments:
        if part.data is None:
            continue
        same = (hashlib.sha256(part.data).hexdigest() == row.sha256 if row.sha256
                else part.filename == row.filename and part.size == row.size)
        if same:
            return Download(row.filename, part.data)
    raise NotFound(f"attachment {row.filename!r} is too large to keep or no longer there")
