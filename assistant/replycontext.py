"""Gathers what a reply template needs about a ticket: names, the client's words, times."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from assistant.drafting import ReplyContext
from assistant.models import Client, Ticket
from assistant.quoting import own_words


def context_for(session: Session, app, ticket: Ticket, now: datetime, extra: dict,
                quote_first: bool = False) -> ReplyContext:
    """The ReplyContext for `ticket`; `extra` carries situation-specific values."""
    from assistant.followup import client_words, last_client_message
    client = session.get(Client, ticket.client_id)
    last = last_client_message(session, ticket, first=quote_first)
    consultant = next((p for p in app.settings.consultants if p.email == ticket.assignee), None)
    next_contact = extra.pop("next_contact_at", None) or _next_contact(app, ticket, client, now)
    return ReplyContext(
        ticket_id=ticket.id, tag=ticket.tag, subject=ticket.subject,
        language=ticket.language or app.settings["support.language"],
        client_name=_first_name(client.name), client_email=client.email,
        client_tz=client.timezone or app.settings["support.timezone"],
        client_words=client_words(own_words(last.visible_text or last.text)) if last else "",
        now=now, next_contact_at=next_contact, priority=ticket.priority,
        critical=ticket.critical, consultant_name=consultant.name if consultant else "",
        support_name=app.settings.support_name(ticket.language), extra=extra)


def _next_contact(app, ticket: Ticket, client: Client, now: datetime) -> datetime:
    """When the client hears from us next: the nearest deadline still ahead, else one
    reporting rhythm from now, so no letter that leaves the problem open lacks a time."""
    for due in (ticket.first_response_due, ticket.resolution_due):
        if due is not None and due > now:
            return due
    rhythm = app.sla.cadence(ticket.priority, client.email, client.internal)
    calendar = app.sla.terms(client.email, client.internal)[0].name
    return app.sla.add_business_time(calendar, now, rhythm)


def _first_name(name: str) -> str:
    """"Иванова Мария" stays as written; "Maria Ivanova" → "Maria"; a bare address → ""."""
    name = name.strip().strip('"')
    if not name or "@" in name:
        return ""
    return name.split()[0] if len(name.split()) <= 3 else name
