"""Helpers for the scheduled half: an app with managers, tickets at a given priority, sending by hand."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

from sqlmodel import select

from assistant.app import App
from assistant.config import Person
from assistant.store.models import Draft, OutboxMail, Promise, Ticket
from support import Clock, settings_in

ROOT = Path(__file__).resolve().parent.parent
MANAGER = Person("Олег Смирнов", "oleg@example.com", ("ru",))


def rules_with(folder: Path, **changes: str) -> Path:
    """A copy of rules/ with lines of checkpoints.toml replaced: `send_critical='"auto"'`."""
    rules = folder / "rules"
    shutil.copytree(ROOT / "rules", rules)
    path = rules / "checkpoints.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    for key, value in changes.items():
        dotted = key.replace("_", ".", 1) if key.startswith("send_") else key
        lines = [f"{dotted} = {value}" if line.split("=")[0].strip() == dotted else line
                 for line in lines]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return rules


def make(folder: Path, clock: Clock, rules: Path | None = None, **changes) -> App:
    """An app on a fresh database with one consultant and one manager, no mail servers."""
    settings = settings_in(folder, **({"paths__rules": str(rules)} if rules else {}), **changes)
    return App(replace(settings, managers=(MANAGER,)), clock=clock)


def deliver(app: App) -> list[OutboxMail]:
    """What the daemon does after SMTP accepted each queued mail: mark it sent, then follow up."""
    with app.store.session() as session:
        rows = session.exec(select(OutboxMail).where(OutboxMail.status == "queued")).all()
        for row in rows:
            row.status, row.sent_at = "sent", app.clock()
    for row in rows:
        app.dispatcher.after_sent(row)
    return rows


def open_ticket(app: App, raw: bytes, priority: str | None = None) -> int:
    """Walk a client's mail, set its priority (deadlines follow), send the acknowledgement."""
    outcome = app.walk.process(raw)
    if priority:
        app.change_ticket(outcome.ticket_id, {"priority": priority}, who="test", why="test")
    app.write_letters_due()
    deliver(app)
    return outcome.ticket_id


def run(app: App, clock: Clock, hours: float, step_minutes: int = 5) -> list[OutboxMail]:
    """Let the schedule run for `hours`, sending everything as it is queued."""
    sent = []
    for _ in range(int(hours * 60 / step_minutes)):
        clock.advance(minutes=step_minutes)
        app.checkpoints.run_due()
        sent += deliver(app)
    return sent


def reports(rows: list[OutboxMail]) -> list[OutboxMail]:
    return [r for r in rows if r.kind == "progress"]


def promises_of(app: App, ticket_id: int) -> list[Promise]:
    with app.store.session() as session:
        return list(session.exec(select(Promise).where(Promise.ticket_id == ticket_id)
                                 .order_by(Promise.id)).all())


def drafts_of(app: App, ticket_id: int, situation: str = "progress") -> list[Draft]:
    with app.store.session() as session:
        return list(session.exec(select(Draft).where(Draft.ticket_id == ticket_id,
                                                     Draft.situation == situation)
                                 .order_by(Draft.id)).all())


def ticket(app: App, ticket_id: int) -> Ticket:
    with app.store.session() as session:
        return session.get(Ticket, ticket_id)
