"""Letters to our own people (consultants, owners, on-call): in the reader's language, queued."""

from __future__ import annotations

from sqlmodel import Session

from assistant.config import Person, Settings
from assistant.replies.context import name_in
from assistant.replies.notices import Notices
from assistant.store.models import OutboxMail
from assistant.transport.outbox import AUTO_GENERATED, Letter, Outbox


class StaffMail:
    """Renders a notice of templates/notices/ for one reader and queues it in the outbox."""

    def __init__(self, settings: Settings, notices: Notices, outbox: Outbox):
        self.settings = settings
        self.notices = notices
        self.outbox = outbox
        self.people = {p.email: p for p in settings.consultants}

    def person(self, address: str | None) -> Person | None:
        return self.people.get(address or "")

    def language(self, address: str | None) -> str:
        """The reader's first language, or the support language for someone not configured."""
        person = self.person(address)
        return person.languages[0] if person else self.settings.support.language

    def greeting_name(self, address: str | None, lang: str) -> str:
        """The first name a notice greets its reader by ("Мария"), or "" for a stranger."""
        person = self.person(address)
        return name_in(person, lang).split()[0] if person else ""

    def send(self, session: Session, to: tuple[str, ...], notice: str, lang: str, *,
             message_id: str, kind: str, ticket_id: int | None = None,
             draft_id: int | None = None, scheduled: bool = False, **values) -> OutboxMail:
        """Queue the notice; `scheduled` marks it auto-generated (RFC 3834 §5)."""
        subject, text = self.notices.render(notice, lang, **values)
        letter = Letter(to=to, subject=subject, text=text, message_id=message_id,
                        from_name=self.settings.support.name,
                        extra_headers=AUTO_GENERATED if scheduled else ())
        return self.outbox.queue(session, letter, kind=kind, ticket_id=ticket_id, draft_id=draft_id)
