"""Helpers for the web desk's tests: a desk on a temporary store, people, signing in."""

from __future__ import annotations

import email
import re
from dataclasses import replace
from email.policy import default as default_policy
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.config import Person
from assistant.store.models import OutboxMail
from assistant.transport.files import RawMail
from assistant.web import create_app
from support import CONSULTANT, Clock, make_app, mail

PETR = Person("Пётр Орлов", "petr@example.com", ("en",))
OLEG = Person("Олег Смирнов", "oleg@example.com", ("ru",))
BOSS = Person("Ирина Ромашкина", "boss@romashka.example", ("ru",), companies=("romashka.example",))
OPERATOR = "ops@example.com"
ANNA = "Анна Соколова <anna@romashka.example>"
IVAN = "Ivan Petrov <ivan@lutik.example>"


def desk_app(folder: Path, clock: Clock | None = None, **changes):
    """An App with two consultants, our manager, a client's manager and an operator."""
    app = make_app(folder, clock, web__operators=[OPERATOR], **changes)
    app.settings = replace(app.settings, consultants=(CONSULTANT, PETR), managers=(OLEG, BOSS))
    return app


def load(app, *raws: bytes) -> None:
    app.import_mail([RawMail(f"test:{n}", raw) for n, raw in enumerate(raws)])


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def link_in_outbox(app, address: str) -> str:
    """The sign-in link of the newest sign-in mail queued for `address`."""
    with app.store.session() as session:
        row = session.exec(select(OutboxMail).where(OutboxMail.kind == "signin",
                                                    OutboxMail.recipients == address)
                           .order_by(OutboxMail.id.desc())).first()
    assert row is not None, f"no sign-in mail for {address}"
    text = email.message_from_bytes(row.raw, policy=default_policy).get_content()
    return re.search(r"https?://\S+/signin/\S+", text).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def sign_in(client: TestClient, app, address: str) -> TestClient:
    """Ask for a link, open it, press the button: the client is signed in as `address`."""
    page = client.get("/signin").text
    client.post("/signin", data={"email": address, "csrf": csrf_of(page)})
    confirm = client.get(path_of(link_in_outbox(app, address)))
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    done = client.post("/signin/link", data={"csrf": csrf_of(confirm.text), "token": token})
    assert done.status_code == 200, done.text[:500]
    return client


def browser(app) -> TestClient:
    return TestClient(create_app(app), follow_redirects=True)


def two_tickets(app) -> None:
    """#1 from Anna at romashka.example (Russian), #2 from Ivan at lutik.example."""
    load(app, mail(sender=ANNA, subject="Не проводятся накладные", msgid="a1@romashka.example",
                   body="Добрый день! С утра не проводятся накладные, отгрузка стоит."),
         mail(sender=IVAN, subject="Invoice question", msgid="i1@lutik.example",
              body="Hello, where can I download last month's invoice?"))
