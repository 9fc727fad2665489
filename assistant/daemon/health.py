"""`assistant status`: what an operator or a container probe needs to know, in one look."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from assistant.daemon.leases import PROCESS_PREFIX, live_leases, mailbox_lease
from assistant.replies.pending import unwritten_alert
from assistant.store.models import Draft, Lease, OutboxMail, Quarantine, Setting, Ticket
from assistant.store.states import Acknowledgement, DraftStatus, OutboxStatus

CONTACT = "contact:"                    # Setting key prefix the daemon writes (daemon.CONTACT)
STALE_LETTER = timedelta(hours=1)       # a letter waiting longer than this is a problem


@dataclass
class Health:
    """The daemon's state as the database shows it; `problems` empty means healthy."""

    mailbox: str | None
    last_contact: datetime | None
    queues: dict[str, int]
    oldest_unsent: dict | None
    leases: list[dict]
    folders: dict[str, str | None] = field(default_factory=dict)   # folder -> its reader
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"healthy": not self.problems, "problems": self.problems,
                "mailbox": self.mailbox,
                "last_contact": self.last_contact.isoformat() if self.last_contact else None,
                "queues": self.queues, "oldest_unsent": self.oldest_unsent, "leases": self.leases,
                "folders": self.folders}


def check(app) -> Health:
    """Read the health from the database; needs no mail server and no language pipeline.

    Letters' ages are measured on the assistant's clock; leases on the database's, as the
    daemons that renew them do (assistant.daemon.leases).
    """
    settings, now = app.settings, app.clock()
    mailbox = mailbox_lease(settings) if settings.imap.host else None
    with app.store.session() as session:
        contact = session.get(Setting, CONTACT + mailbox) if mailbox else None
        health = Health(
            mailbox=mailbox.removeprefix("mailbox:") if mailbox else None,
            last_contact=datetime.fromisoformat(contact.value) if contact and contact.value else None,
            queues=_queues(session), oldest_unsent=_oldest(session, now),
            leases=[_lease(row, live) for row, live in live_leases(session, app.store)])
        unacknowledged = session.exec(select(Ticket.id).where(
            Ticket.acknowledgement == Acknowledgement.FAILED).order_by(Ticket.id)).all()
        alert = unwritten_alert(session)
    health.queues["alerts_unwritten"] = len(alert["tickets"]) if alert else 0
    if mailbox:
        live = {lease["name"]: lease["holder"] for lease in health.leases if lease["live"]}
        health.folders = {folder: live.get(mailbox_lease(settings, folder))
                          for folder in settings.imap.folders}
    health.problems = _problems(health, now)
    if unacknowledged:
        health.problems.append(_not_acknowledged(unacknowledged))
    if alert:
        shown = ", ".join(f"#{number}" for number in alert["tickets"][:10])
        health.problems.append(f"the on-call alert of {shown} could not be written "
                               f"({alert['attempts']} tries): {alert['error']} (`assistant outbox` lists it)")
    return health


def _queues(session: Session) -> dict[str, int]:
    counts = dict(session.exec(select(OutboxMail.status, func.count()).group_by(OutboxMail.status)).all())
    return {
        **{f"outbox_{status}": counts.get(status, 0) for status in (
            OutboxStatus.QUEUED, OutboxStatus.SENDING, OutboxStatus.FAILED,
            OutboxStatus.UNCERTAIN, OutboxStatus.BLOCKED)},
        "drafts_pending": _count(session, Draft.status == DraftStatus.PENDING),
        "quarantine": _count(session, Quarantine.resolved_at.is_(None)),
        "acknowledgements_due": _count(session, Ticket.acknowledgement == Acknowledgement.DUE),
        "acknowledgements_failed": _count(session, Ticket.acknowledgement == Acknowledgement.FAILED),
    }


def _count(session: Session, condition) -> int:
    table = condition.left.table
    return session.exec(select(func.count()).select_from(table).where(condition)).one()


def _oldest(session: Session, now: datetime) -> dict | None:
    row = session.exec(select(OutboxMail).where(OutboxMail.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENDING)))
                       .order_by(OutboxMail.created_at, OutboxMail.id).limit(1)).first()
    if row is None:
        return None
    return {"id": row.id, "kind": row.kind, "to": row.recipients, "created": row.created_at.isoformat(),
            "waiting_seconds": max(0, int((now - row.created_at).total_seconds())),
            "attempts": row.attempts, "error": row.last_error}


def _lease(row: Lease, live: bool) -> dict:
    return {"name": row.name, "holder": row.holder, "expires": row.expires_at.isoformat(),
            "live": bool(live)}


def _problems(health: Health, now: datetime) -> list[str]:
    problems = []
    live = {lease["name"] for lease in health.leases if lease["live"]}
    unread = [folder for folder, reader in health.folders.items() if reader is None]
    if not any(name.startswith(PROCESS_PREFIX) for name in live):
        problems.append("no daemon is running")
    elif unread:
        problems.append(f"no daemon reads {', '.join(unread)}")
    oldest = health.oldest_unsent
    if oldest and oldest["waiting_seconds"] > STALE_LETTER.total_seconds():
        why = f": {oldest['error']}" if oldest["error"] else ""
        problems.append(f"mail {oldest['id']} has waited {oldest['waiting_seconds'] // 60} minutes{why}")
    return problems


def _not_acknowledged(ids: list[int]) -> str:
    """"the acknowledgement of #3 was not sent (...)", or of several tickets at once."""
    if len(ids) == 1:
        return (f"the acknowledgement of #{ids[0]} was not sent (`assistant outbox` says why; "
                f"`assistant tickets acknowledge {ids[0]}` writes it again)")
    shown = ", ".join(f"#{number}" for number in ids[:10]) + (", ..." if len(ids) > 10 else "")
    return (f"{len(ids)} acknowledgements were not sent: {shown} (`assistant outbox` says why; "
            f"`assistant tickets acknowledge N` writes one again)")


def text(health: Health) -> str:
    """The health as an operator reads it on a terminal."""
    contact = health.last_contact.isoformat(timespec="seconds") if health.last_contact else "never"
    lines = [f"status: {'healthy' if not health.problems else 'needs attention'}"]
    lines += [f"  problem: {problem}" for problem in health.problems]
    if health.mailbox:
        lines.append(f"mailbox {health.mailbox}: last contact {contact}")
        lines += [f"  folder {folder}: " + (f"read by {reader}" if reader else "read by no daemon")
                  for folder, reader in health.folders.items()]
    lines.append("queues: " + ", ".join(f"{name.replace('_', ' ')} {count}"
                                        for name, count in health.queues.items()))
    oldest = health.oldest_unsent
    if oldest:
        lines.append(f"oldest unsent: mail {oldest['id']} ({oldest['kind']}) to {oldest['to']}, "
                     f"waiting {oldest['waiting_seconds'] // 60} min"
                     + (f", last error: {oldest['error']}" if oldest["error"] else ""))
    for lease in health.leases:
        state = "held until" if lease["live"] else "expired"
        lines.append(f"lease {lease['name']}: {lease['holder']}, {state} {lease['expires']}")
    return "\n".join(lines)
