"""`assistant status`: what an operator or a container probe needs to know, in one look."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from assistant.store.glance import CONTACT, PROCESS_PREFIX, mailbox_lease

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
    facts = app.glance.facts()
    mailbox = mailbox_lease(settings) if settings.imap.host else None
    contact = facts.settings.get(CONTACT + mailbox) if mailbox else None
    oldest = facts.oldest
    health = Health(
        mailbox=mailbox.removeprefix("mailbox:") if mailbox else None,
        last_contact=datetime.fromisoformat(contact) if contact else None,
        queues=facts.queues,
        oldest_unsent=None if oldest is None else {
            "id": oldest.id, "kind": oldest.kind, "to": oldest.recipients,
            "created": oldest.created_at.isoformat(),
            "waiting_seconds": max(0, int((now - oldest.created_at).total_seconds())),
            "attempts": oldest.attempts, "error": oldest.last_error},
        leases=[{"name": row.name, "holder": row.holder, "expires": row.expires_at.isoformat(),
                 "live": row.live} for row in facts.leases])
    alert = facts.alert
    health.queues["alerts_unwritten"] = len(alert["tickets"]) if alert else 0
    if mailbox:
        live = {lease["name"]: lease["holder"] for lease in health.leases if lease["live"]}
        health.folders = {folder: live.get(mailbox_lease(settings, folder))
                          for folder in settings.imap.folders}
    health.problems = _problems(health, now)
    if facts.unacknowledged:
        health.problems.append(_not_acknowledged(facts.unacknowledged))
    if alert:
        shown = ", ".join(f"#{number}" for number in alert["tickets"][:10])
        health.problems.append(f"the on-call alert of {shown} could not be written "
                               f"({alert['attempts']} tries): {alert['error']} (`assistant outbox` lists it)")
    return health


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
