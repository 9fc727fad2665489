"""Writing a mail into the store: the message row, its attachments, the client's language."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlmodel import Session

from assistant.mail.intake import Incoming
from assistant.store.models import Attachment, Message
from assistant.store.states import Direction, Fate


def record_message(session: Session, mail: Incoming, fate: Fate, ticket_id: int | None,
                   source: str, now: datetime, direction: Direction = Direction.IN) -> Message:
    """Store `mail` as a message row with its attachments; returns the row."""
    flags = [name for name, on in (("auto_reply", mail.auto_reply), ("bounce", mail.bounce),
                                   ("list", mail.mailing_list), ("loop", mail.loop)) if on]
    row = Message(
        message_id=mail.message_id, content_hash=mail.content_hash, ticket_id=ticket_id,
        direction=direction, fate=fate, from_address=mail.from_address,
        from_name=mail.from_name, to_addresses=", ".join(mail.to), cc_addresses=", ".join(mail.cc),
        subject=mail.subject, in_reply_to=mail.in_reply_to, references=" ".join(mail.references),
        visible_text=mail.visible_text, text=mail.text, flags=",".join(flags),
        notes="\n".join(mail.notes), size=mail.size, sent_at=mail.date, received_at=now,
        source=source)
    session.add(row)
    for part in mail.attachments:
        # Linked to the row rather than its id, which the batch's flush gives it.
        session.add(Attachment(
            message=row, filename=part.filename, content_type=part.content_type,
            size=part.size, inline=part.inline,
            sha256=part.sha256 or (_digest(part.data) if part.data is not None else None)))
    return row


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
