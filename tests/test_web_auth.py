"""Signing in to the desk by a mailed link: who gets one, how long it works, and signing out."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select

from assistant.store.models import OutboxMail
from support import CONSULTANT
from websupport import (BOSS, OPERATOR, browser, csrf_of, desk_app, link_in_outbox, path_of,
                        sign_in)


@pytest.fixture
def app(tmp_path):
    return desk_app(tmp_path)


def signin_mails(app) -> list[OutboxMail]:
    with app.store.session() as session:
        return list(session.exec(select(OutboxMail).where(OutboxMail.kind == "signin")).all())


def ask(client, address: str):
    page = client.get("/signin").text
    return client.post("/signin", data={"email": address, "csrf": csrf_of(page)})


def test_a_consultant_signs_in_with_the_link_from_their_mail_and_sees_the_queue(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    page = client.get("/queue")
    assert page.status_code == 200
    assert "Мария Иванова" in page.text and "Очередь" in page.text


def test_the_answer_is_the_same_for_a_stranger_and_for_a_consultant(app):
    client = browser(app)
    known, unknown = ask(client, CONSULTANT.email), ask(client, "mallory@evil.example")
    client_address = ask(client, "anna@romashka.example")
    strip = lambda page: re.sub(r'value="[0-9a-f]{64}"', "", page.text)  # noqa: E731
    assert known.status_code == unknown.status_code == client_address.status_code == 200
    assert strip(known) == strip(unknown) == strip(client_address)
    assert [m.recipients for m in signin_mails(app)] == [CONSULTANT.email]


def test_a_link_works_once(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    again = browser(app).get(path_of(link_in_outbox(app, CONSULTANT.email)))
    assert again.status_code == 410
    assert "больше не действует" in again.text
    assert client.get("/queue").status_code == 200


def test_a_link_older_than_its_minutes_does_not_work(app):
    client = browser(app)
    ask(client, CONSULTANT.email)
    app.clock.advance(minutes=16)
    page = client.get(path_of(link_in_outbox(app, CONSULTANT.email)))
    assert page.status_code == 410
    token = path_of(link_in_outbox(app, CONSULTANT.email)).rsplit("/", 1)[1]
    used = client.post("/signin/link", data={"csrf": csrf_of(page.text), "token": token})
    assert used.status_code == 410
    assert client.get("/queue").url.path == "/signin"


def test_a_mail_scanner_opening_the_link_does_not_spend_it(app):
    client = browser(app)
    ask(client, CONSULTANT.email)
    link = path_of(link_in_outbox(app, CONSULTANT.email))
    assert browser(app).get(link).status_code == 200     # the scanner
    assert "Войти как maria@example.com" in client.get(link).text


def test_the_session_is_bound_to_the_address_the_link_was_mailed_to(app):
    client = sign_in(browser(app), app, OPERATOR)
    assert client.get("/queue").status_code == 403       # an operator, not a consultant
    assert client.get("/outbox").status_code == 200


def test_the_session_cookie_is_httponly_and_samesite(app):
    client = browser(app)
    page = client.get("/signin").text
    client.post("/signin", data={"email": CONSULTANT.email, "csrf": csrf_of(page)})
    confirm = client.get(path_of(link_in_outbox(app, CONSULTANT.email)))
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    response = client.post("/signin/link", data={"csrf": csrf_of(confirm.text), "token": token},
                           follow_redirects=False)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("desk_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie                        # base_url is plain http here


def test_behind_https_the_cookie_is_secure_and_host_only(tmp_path):
    app = desk_app(tmp_path, web__base_url="https://desk.example.com")
    client = browser(app)
    client.base_url = "https://testserver"
    page = client.get("https://testserver/signin").text
    client.post("https://testserver/signin", data={"email": CONSULTANT.email, "csrf": csrf_of(page)})
    link = link_in_outbox(app, CONSULTANT.email)
    assert link.startswith("https://desk.example.com/signin/")
    confirm = client.get("https://testserver" + path_of(link))
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    response = client.post("https://testserver/signin/link", follow_redirects=False,
                           data={"csrf": csrf_of(confirm.text), "token": token})
    cookie = next(c for c in response.headers.get_list("set-cookie") if "desk_session=" in c)
    assert cookie.startswith("__Host-desk_session=") and "Secure" in cookie and "HttpOnly" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_the_session_expires(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    app.clock.advance(hours=13)
    assert client.get("/queue").url.path == "/signin"


def test_signing_out_ends_the_session_for_good(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    cookie = client.cookies.get("desk_session")
    page = client.get("/queue").text
    out = client.post("/signout", data={"csrf": csrf_of(page)})
    assert out.url.path == "/signin" and "Вы вышли" in out.text
    thief = browser(app)
    thief.cookies.set("desk_session", cookie)
    assert thief.get("/queue").url.path == "/signin"


def test_signing_in_needs_the_forms_csrf_token(app):
    client = browser(app)
    client.get("/signin")
    refused = client.post("/signin", data={"email": CONSULTANT.email})
    assert refused.status_code == 403
    assert signin_mails(app) == []


def test_a_flood_of_link_requests_is_slowed_down(app):
    client = browser(app)
    answers = [ask(client, f"someone{n}@example.com").status_code for n in range(12)]
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]


def test_one_address_gets_at_most_three_links_in_a_quarter_hour(app):
    for _ in range(5):
        ask(browser(app), CONSULTANT.email)
    assert len(signin_mails(app)) == 3
    app.clock.advance(minutes=16)
    ask(browser(app), CONSULTANT.email)
    assert len(signin_mails(app)) == 4


def test_a_clients_manager_may_sign_in_and_lands_on_the_summary(app):
    client = sign_in(browser(app), app, BOSS.email)
    assert client.get("/").url.path == "/summary"


def test_someone_removed_from_the_config_loses_their_session(app):
    from dataclasses import replace
    client = sign_in(browser(app), app, CONSULTANT.email)
    app.settings = replace(app.settings, consultants=())
    client.app.state.desk.app.settings = app.settings
    assert client.get("/queue").url.path == "/signin"


def test_the_language_can_be_switched(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    page = client.get("/queue").text
    switched = client.post("/language", data={"csrf": csrf_of(page), "lang": "en", "back": "/queue"})
    assert switched.url.path == "/queue" and "Queue" in switched.text and "Очередь" not in switched.text


def test_the_language_switch_never_sends_anyone_elsewhere(app):
    client = sign_in(browser(app), app, CONSULTANT.email)
    page = client.get("/queue").text
    moved = client.post("/language", data={"csrf": csrf_of(page), "lang": "en",
                                           "back": "//evil.example/"}, follow_redirects=False)
    assert moved.headers["location"] == "/"
