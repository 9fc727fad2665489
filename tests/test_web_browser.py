"""The desk in a real browser (Debian's chromium) on real Dovecot and SMTP: sign in, approve, reply.

Screenshots of each step land in tmp/artefacts/ (not committed), for a person to look at.
"""

from __future__ import annotations

import email
import re
import shutil
import smtplib
import time
from dataclasses import replace
from email.message import EmailMessage
from email.policy import SMTP
from email.policy import default as default_policy
from pathlib import Path

import pytest

from assistant.app import App
from assistant.daemon.runner import Daemon
from assistant.demo.mailserver import free_port, wait_for_port
from support import CONSULTANT, mail

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = Path(__file__).resolve().parent.parent / "tmp" / "artefacts"
BAD = "Анна, добрый день!\n\nВы допустили ошибку в документе.\n\nПришлите, пожалуйста, номер накладной — посмотрю сегодня.\n"
PAYLOAD = "window.pwned=1"


def _require_browser():
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (Debian: apt-get install chromium; scripts/setup.sh does it)")
    return pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")


@pytest.fixture
def world(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    """The daemon's App on real servers, and the desk listening on a loopback port."""
    from assistant.web.server import start_beside
    support = new_user(prefix="support")
    port = free_port()
    settings = settings_for(dovecot, support, database__url=f"sqlite:///{tmp_path / 'a.db'}",
                            storage__data_dir=str(tmp_path / "data"), support__address=support,
                            smtp__host=smtp_sink.host, smtp__port=smtp_sink.port,
                            smtp__security="none", imap__idle=False, web__host="127.0.0.1",
                            web__port=port, web__base_url=f"http://127.0.0.1:{port}")
    consultant = replace(CONSULTANT, email=new_user(prefix="maria"))
    settings = replace(settings, consultants=(consultant,), base_dir=tmp_path)
    app = App(settings)
    server, thread = start_beside(app)
    assert wait_for_port("127.0.0.1", port, 20), "the desk did not start"
    yield app, Daemon(app), support, consultant.email, new_user(prefix="anna"), f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def page(request):
    sync_api = _require_browser()
    folder = ARTEFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
        tab = context.new_page()
        tab.dialogs = []
        tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
        tab.shots = iter(range(1, 100))
        tab.shoot = lambda name: tab.screenshot(path=str(folder / f"{next(tab.shots):02d}-{name}.png"),
                                                full_page=True)
        yield tab
        browser.close()


def deliver(sink, raw: bytes, to: str) -> None:
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.sendmail("someone@example.org", [to], raw)


def inbox_of(dovecot, user: str) -> list:
    return [email.message_from_bytes(raw, policy=default_policy) for raw in dovecot.messages(user)]


def sign_in(page, dovecot, base: str, consultant: str) -> None:
    """Ask for a link, read it from the consultant's real mailbox, open it, press the button."""
    page.goto(base + "/signin")
    page.shoot("sign-in")
    page.fill("input[name=email]", consultant)
    page.click("form[action='/signin'] button")
    page.wait_for_selector("text=Проверьте почту")
    page.shoot("link-sent")
    # The page answers first; the link is mailed right after, as a person would wait for it.
    letters: list = []
    deadline = time.monotonic() + 20
    while not letters and time.monotonic() < deadline:
        letters = [m for m in inbox_of(dovecot, consultant) if m["Subject"] == "Ссылка для входа"]
        time.sleep(0.1)
    assert letters, "no sign-in link in the consultant's mailbox"
    link = re.search(r"http://\S+/signin/\S+", letters[-1].get_content()).group(0)
    page.goto(link)
    page.shoot("link-opened")
    page.click("#signin")
    page.wait_for_selector("h1:has-text('Очередь')")


def test_a_consultant_signs_in_by_mail_fixes_the_tone_and_the_client_gets_the_reply(
        world, page, dovecot, smtp_sink):
    app, daemon, support, consultant, client, base = world
    deliver(smtp_sink, mail(sender=client, to=support, subject="Не проводятся накладные",
                            body="Добрый день! С утра не проводятся накладные, отгрузка стоит."),
            support)
    daemon.step()                                      # the ticket, and its acknowledgement
    sign_in(page, dovecot, base, consultant)
    page.shoot("queue")
    assert page.locator("a[href='/tickets/1']").first.is_visible()

    page.click("a[href='/tickets/1'] >> nth=0")
    page.select_option("select[name=situation]", "need_info")
    page.fill("textarea[name=items]", "номер накладной")
    page.click("form[action='/tickets/1/drafts'] button")
    page.wait_for_selector("#editor")
    page.fill("#text", BAD)                            # typed: the page re-checks as it goes
    mark = page.wait_for_selector("mark.finding", timeout=30000)
    assert mark.inner_text() == "Вы допустили ошибку"
    assert "Лучше так:" in page.inner_text("#findings")
    page.shoot("finding-highlighted")

    page.click("button.apply")
    page.wait_for_selector("text=Подсказка в тексте")
    assert "В документе ошибка" in page.input_value("#text")
    assert page.locator("mark.finding").count() == 0
    page.shoot("suggestion-applied")
    page.click("button[value=approve]")
    page.wait_for_selector("text=Согласовано")
    page.shoot("approved")

    daemon.send()
    replies = [m for m in inbox_of(dovecot, client) if "номер накладной" in m.get_body(("plain",)).get_content()]
    assert replies, "the client's mailbox has no reply"
    reply = replies[-1]
    acknowledgement = inbox_of(dovecot, client)[0]
    assert reply["In-Reply-To"] == acknowledgement["Message-ID"]      # the thread's last mail
    assert "<q1@romashka.example>" in reply["References"]
    assert reply["Subject"].startswith("[#1]")
    text = reply.get_body(("plain",)).get_content()
    assert "В документе ошибка" in text and "допустили" not in text
    assert page.dialogs == []


def test_words_typed_before_the_editor_script_arrives_are_still_checked(world, page, dovecot, smtp_sink):
    app, daemon, support, consultant, client, base = world
    deliver(smtp_sink, mail(sender=client, to=support, subject="Не проводятся накладные",
                            body="Добрый день! С утра не проводятся накладные."), support)
    daemon.step()
    app.drafts.new(1, "need_info", missing=["номер накладной"])
    sign_in(page, dovecot, base, consultant)
    arrived = []

    def slowly(route):
        page.wait_for_timeout(1500)                  # a slow line: the page is up, the script is not
        arrived.append(True)
        route.continue_()

    page.route("**/static/editor.js", slowly)
    page.goto(base + "/drafts/2", wait_until="commit")
    page.wait_for_selector("#text")
    page.fill("#text", BAD)
    assert not arrived, "the script came before the consultant typed; the test proves nothing"
    mark = page.wait_for_selector("mark.finding", timeout=30000)
    assert mark.inner_text() == "Вы допустили ошибку"


def hostile_mail(sender: str, to: str) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f'"<img src=x onerror={PAYLOAD}>" <{sender}>'
    message["To"] = to
    message["Subject"] = f"<script>{PAYLOAD}</script></title><style>body{{display:none}}</style>"
    message["Message-ID"] = "<evil1@lutik.example>"
    message.set_content(f"Привет <script>{PAYLOAD}</script> <a href=\"javascript:{PAYLOAD}\">жми</a>\n"
                        f"<img src=x onerror=\"{PAYLOAD}\">")
    message.add_alternative(
        f"<html><head><style>body{{display:none}}</style><script>{PAYLOAD}</script></head><body>"
        f"<p style=\"position:fixed;top:0;left:0;width:100%;height:100%\">Счёт</p>"
        f"<img src=x onerror=\"{PAYLOAD}\"><a href=\"javascript:{PAYLOAD}\">оплатить</a>"
        f"<svg onload=\"{PAYLOAD}\"></svg><iframe src=\"javascript:{PAYLOAD}\"></iframe>"
        f"<form action=\"https://evil.example\"><input name=p></form></body></html>", subtype="html")
    return message.as_bytes()


def test_hostile_mail_runs_no_script_and_shows_no_raw_markup(world, page, dovecot, smtp_sink):
    app, daemon, support, consultant, client, base = world
    deliver(smtp_sink, hostile_mail(client, support), support)
    daemon.step()
    app.drafts.new(1, "need_info", missing=[f"<script>{PAYLOAD}</script>"])
    sign_in(page, dovecot, base, consultant)
    pages = ["/queue?show=all", "/tickets/1", "/summary", "/drafts/2"]
    for path in pages:
        page.goto(base + path)
        page.shoot(path.strip("/").replace("/", "-").replace("?", "-"))
        assert_harmless(page)
    message_id = re.search(r"html=(\d+)", page.goto(base + "/tickets/1").text()).group(1)
    page.goto(f"{base}/tickets/1?html={message_id}#m{message_id}")
    frame = page.frame_locator("iframe.mail")
    frame.locator("text=оплатить").wait_for()
    page.shoot("html-mail-in-frame")
    assert_harmless(page)
    for child in page.frames[1:]:
        html = child.content()
        assert "<script" not in html and "onerror" not in html and "javascript:" not in html
        assert "display:none" not in html and "position:fixed" not in html and "<form" not in html
    assert page.dialogs == []


def assert_harmless(page) -> None:
    """The payload set no flag, added no element of its own, and the page is visible."""
    assert page.evaluate("window.pwned") is None
    scripts = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert all(src and src.startswith("/static/") for src in scripts), scripts
    assert page.evaluate("document.querySelectorAll('[onerror],[onload],a[href^=\"javascript:\"]').length") == 0
    assert page.evaluate("getComputedStyle(document.body).display") != "none"
    assert "<script>" not in page.evaluate("document.body.innerHTML").replace("&lt;script&gt;", "")
