"""An access request waits for its business owner; only the owner's reply releases it."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from sqlmodel import select

from assistant.store.models import OutboxMail, Ticket
from support import make_app, mail

REQUEST = mail(subject="Доступ к бухгалтерии",
               body="Прошу предоставить доступ к бухгалтерии новому сотруднику Ольге Морозовой.")


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def owner_request(app):
    with app.store.session() as session:
        row = session.exec(select(OutboxMail).where(OutboxMail.kind == "access_request")).one()
        return email.message_from_bytes(row.raw, policy=default_policy)


def answer(request, sender, text, msgid):
    reply = EmailMessage()
    reply["From"], reply["To"] = sender, "support@example.com"
    reply["Subject"] = "Re: " + request["Subject"]
    reply["Message-ID"] = f"<{msgid}>"
    reply["In-Reply-To"] = request["Message-ID"]
    reply["References"] = request["Message-ID"]
    reply.set_content(text + "\n\n> " + request.get_content().splitlines()[0])
    return reply.as_bytes()


def status(app, number=1):
    with app.store.session() as session:
        return session.get(Ticket, number).status


def test_an_access_request_is_held_and_its_owner_is_asked(app):
    outcome = app.walk.process(REQUEST)
    assert status(app, outcome.ticket_id) == "held"
    request = owner_request(app)
    assert request["To"] == "chief-accountant@example.com"
    assert "Ольге Морозовой" in request.get_content()


def test_the_owners_yes_releases_the_request_and_history_says_who(app):
    app.walk.process(REQUEST)
    request = owner_request(app)
    app.walk.process(answer(request, "chief-accountant@example.com", "Согласовано", "y1@example.com"))
    assert status(app) == "open"
    change = app.ticket_detail(1)["history"][-1]
    assert change["who"] == "chief-accountant@example.com" and "approved" in change["why"]


def test_a_yes_from_anyone_else_changes_nothing(app):
    app.walk.process(REQUEST)
    request = owner_request(app)
    app.walk.process(answer(request, "anna@romashka.example", "Согласовано", "y2@example.com"))
    # The owner's address with a signature that is not ours: "o1.<forged>.<random>@...".
    kind_and_ticket, _signature, rest = request["Message-ID"].strip("<>").split(".", 2)
    del request["Message-ID"]
    request["Message-ID"] = f"<{kind_and_ticket}.{'0' * 16}.{rest}>"
    outcome = app.walk.process(answer(request, "chief-accountant@example.com", "ok", "y3@example.com"))
    assert status(app) == "held"
    assert outcome.fate.value != "system" or "approved" not in outcome.reason
