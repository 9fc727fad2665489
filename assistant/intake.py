"""Raw bytes to an incoming-mail value: headers, decoded text, attachments, visible part, flags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Part:
    """An attachment or inline image. `data` is None when it was over the size limit."""

    filename: str
    content_type: str
    size: int
    data: bytes | None
    inline: bool = False
    content_id: str | None = None


@dataclass(frozen=True)
class Incoming:
    """One mail as the rest of the walk sees it. Addresses are lower-case; ids without <>."""

    message_id: str
    content_hash: str                  # sha256 hex of the raw bytes
    size: int
    from_address: str
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None       # aware; None when missing or unreadable
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    text: str = ""                     # the whole body as text (HTML turned into text)
    html: str | None = None            # the HTML part as sent, when there was one
    visible_text: str = ""             # new text only: no quoted history, no signature
    attachments: tuple[Part, ...] = ()
    auto_reply: bool = False
    bounce: bool = False
    mailing_list: bool = False
    loop: bool = False                 # our own outgoing mail came back
    derived_message_id: bool = False   # the mail had none; this one is stable for its bytes
    importance: str | None = None      # "high" | "low" from Importance / X-Priority / Priority
    authentication_failed: bool = False  # Authentication-Results: dmarc or spf fail for From
    headers: dict[str, str] = field(default_factory=dict)  # a few raw headers, for triage
    notes: tuple[str, ...] = ()        # what intake had to guess or skip, said for people

    @property
    def is_system(self) -> bool:
        """Mail that is kept but never ticketed and never answered automatically."""
        return self.auto_reply or self.bounce or self.mailing_list or self.loop
