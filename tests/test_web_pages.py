"""The desk's pages as consultants, managers and operators use them, and every refusal."""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from sqlmodel import select

from assistant.store.models import OutboxMail, Promise, Ticket
from support import CONSULTANT, MONDAY_10, mail
from websupport import (ANNA, BOSS, OLEG, OPERATOR, PETR, browser, csrf_of, desk_app, load,
                        sign_in, two_tickets)

BAD = "Анна, добрый день!\n\nВы допустили ошибку в документе.\n\nПришлите, пожалуйста, номер накладной.\n"


@pytest.fixture
def app(tmp_path):
    app = desk_app(tmp_path)
    two_tickets(app)
    return app


@pytest.fixture
def maria(app):
    return sign_in(browser(app), app, CONSULTANT.email)


def a_draft(app, text: str | None = BAD) -> int:
    number = app.drafts.new(1, "need_info", missing=["номер накладной"])["id"]
    if text:
        app.drafts.act(number, "save", text, CONSULTANT.email, None)
    return number


def form_of(client, path: str) -> dict:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    version = re.search(r'name="version" value="([^"]+)"', page.text)
    return {"csrf": csrf_of(page.text), **({"version": version.group(1)} if version else {})}


# -- the queue ------------------------------------------------------------------------------

def test_the_queue_puts_critical_tickets_first_with_their_reasons(app, maria):
    load(app, mail(sender="Ольга <olga@romashka.example>", subject="Срочно: не работает касса",
                   msgid="c1@romashka.example",
                   body="Добрый день! Касса не работает во всех магазинах, продажи стоят."))
    page = maria.get("/queue?show=all").text
    rows = re.findall(r'<tr class="([^"]*)">\s*<td><a href="/tickets/(\d+)"', page)
    assert rows[0][1] == "3" and rows[0][0].startswith("critical")
    assert "КРИТИЧНО" in page and "«" in page          # the phrase that made it critical
    assert "клиент" in page and "осталось" in page


def test_the_queue_shows_colleagues_apart_from_clients(app, maria):
    load(app, mail(sender="Сергей <sergey@example.com>", subject="VPN", msgid="v1@example.com",
                   body="Коллеги, не подключается VPN из дома."))
    page = maria.get("/queue?show=all").text
    assert "коллега" in page


def test_the_queue_says_how_long_the_client_has_waited_to_hear_from_us(app, maria):
    app.clock.advance(hours=3)
    page = maria.get("/queue?show=all").text
    assert "ещё нет; ждёт 3 ч" in page


def test_my_queue_holds_my_tickets_and_the_drafts_waiting_for_me(app, maria):
    number = a_draft(app, None)
    page = maria.get("/queue").text
    assert f'href="/drafts/{number}"' in page and "вам" in page
    assert "/tickets/2" not in page                    # Ivan's ticket is nobody's yet


def test_a_client_manager_sees_only_their_companys_tickets_in_the_queue(app):
    boss = sign_in(browser(app), app, BOSS.email)
    page = boss.get("/queue").text
    assert "/tickets/1" in page and "/tickets/2" not in page


# -- the ticket ------------------------------------------------------------------------------

def test_the_ticket_shows_the_conversation_with_quoted_history_folded(app, maria):
    load(app, mail(sender=ANNA, subject="Re: [#1] Не проводятся накладные", msgid="a2@romashka.example",
                   In_Reply_To="<a1@romashka.example>",
                   body="Номер накладной 4411.\n\n> Добрый день! С утра не проводятся накладные"))
    page = maria.get("/tickets/1").text
    assert "Номер накладной 4411." in page
    quoted = page.index("Показать цитату")
    assert page.index("&gt; Добрый день! С утра") > quoted


def test_an_attachment_downloads_as_a_file_never_shown_inline(app, maria):
    message = EmailMessage(policy=SMTP)
    message["From"], message["To"] = ANNA, "support@example.com"
    message["Subject"], message["Message-ID"] = "Скриншот", "<s1@romashka.example>"
    message.set_content("Вот снимок экрана.")
    message.add_attachment(b"<html><script>window.pwned=1</script></html>", maintype="text",
                           subtype="html", filename="ошибка.html")
    load(app, message.as_bytes())
    page = maria.get("/tickets/3").text
    link = re.search(r'href="(/tickets/3/attachments/\d+)"', page).group(1)
    got = maria.get(link)
    assert got.status_code == 200 and got.content.startswith(b"<html><script>")
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%D0%BE%D1%88" in got.headers["content-disposition"]
    assert "sandbox" in got.headers["content-security-policy"]


def test_the_work_log_marks_internal_notes_and_a_clients_manager_never_sees_them(app, maria):
    page = maria.get("/tickets/1").text
    maria.post("/tickets/1/note", data={"csrf": csrf_of(page), "text": "Позвонили на склад"})
    maria.post("/tickets/1/note", data={"csrf": csrf_of(page), "text": "Склад тянет время",
                                        "internal": "1"})
    page = maria.get("/tickets/1").text
    assert "Позвонили на склад" in page and "Склад тянет время" in page
    assert page.count('class="tag internal">для своих') == 1
    boss = sign_in(browser(app), app, BOSS.email).get("/tickets/1").text
    assert "Позвонили на склад" in boss and "Склад тянет время" not in boss


def test_a_priority_change_needs_a_reason_and_lands_in_the_history(app, maria):
    form = form_of(maria, "/tickets/1")
    refused = maria.post("/tickets/1/change", data={**form, "priority": "high", "status": "new"})
    assert "Напишите пару слов почему" in refused.text
    done = maria.post("/tickets/1/change", data={**form, "priority": "high", "status": "new",
                                                 "why": "клиент стоит"})
    assert "normal → high" in done.text
    history = done.text[done.text.index("История изменений"):]
    assert "Мария Иванова" in history and "клиент стоит" in history
    assert app.ticket_detail(1)["priority"] == "high"


def test_taking_a_ticket_makes_it_mine(app, maria):
    form = form_of(maria, "/tickets/2")
    page = maria.post("/tickets/2/take", data=form)
    assert "Заявка теперь ваша" in page.text
    assert app.ticket_detail(2)["history"][-1]["new"] == CONSULTANT.email
    assert "/tickets/2" in maria.get("/queue").text


def test_a_new_draft_from_a_situation_opens_in_the_editor(app, maria):
    form = form_of(maria, "/tickets/1")
    page = maria.post("/tickets/1/drafts", data={**form, "situation": "need_info",
                                                 "items": "номер накладной\nснимок экрана"})
    assert page.url.path.startswith("/drafts/")
    assert "снимок экрана" in page.text and "Черновик готов" in page.text


def test_promises_show_whether_they_were_kept(app, maria):
    with app.store.session() as session:
        session.add(Promise(ticket_id=1, due=MONDAY_10, made_at=MONDAY_10, state="missed",
                            promised_by=CONSULTANT.email, missed_at=MONDAY_10))
    page = maria.get("/tickets/1").text
    assert "пропустили" in page and "Мария Иванова" in page


def test_the_html_of_a_mail_shows_only_in_a_sandboxed_frame_without_outside_images(app, maria):
    load(app, html_mail('<p>Счёт <img src="https://tracker.example/p.gif"> во вложении</p>'))
    page = maria.get("/tickets/3").text
    link = re.search(r'href="(/tickets/3\?html=(\d+))', page)
    shown = maria.get(link.group(1).replace("&amp;", "&")).text
    assert re.search(r'<iframe class="mail" sandbox ', shown)
    frame = maria.get(f"/tickets/3/messages/{link.group(2)}/html")
    assert "img-src data:;" in frame.headers["content-security-policy"]
    assert "sandbox" in frame.headers["content-security-policy"]
    with_images = maria.get(f"/tickets/3/messages/{link.group(2)}/html?images=1")
    assert "img-src data: https: http:" in with_images.headers["content-security-policy"]


def html_mail(html: str, subject: str = "Счёт", sender: str = ANNA, msgid: str = "h1@romashka.example") -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"], message["To"] = sender, "support@example.com"
    message["Subject"], message["Message-ID"] = subject, f"<{msgid}>"
    message.set_content("Счёт во вложении")
    message.add_alternative(html, subtype="html")
    return message.as_bytes()


# -- the draft editor ------------------------------------------------------------------------

def test_the_editor_marks_a_tone_finding_with_why_and_the_rewrite(app, maria):
    number = a_draft(app)
    page = maria.get(f"/drafts/{number}").text
    assert re.search(r'<mark class="finding blame" title="[^"]+">Вы допустили ошибку</mark>', page)
    assert "Лучше так:" in page and "в документе ошибка" in page
    assert "С утра не проводятся накладные" in page        # the client's words beside it


def test_one_click_applies_the_suggestion(app, maria):
    number = a_draft(app)
    form = form_of(maria, f"/drafts/{number}")
    button = re.search(r'name="apply" value="([^"]+)"', maria.get(f"/drafts/{number}").text).group(1)
    page = maria.post(f"/drafts/{number}", data={**form, "text": BAD, "apply": button})
    assert "Подсказка в тексте" in page.text
    text = app.drafts.show(number)["text"]
    assert "В документе ошибка" in text and "допустили" not in text
    assert app.drafts.show(number)["findings"] == []


def test_the_recheck_endpoint_follows_the_typed_text(app, maria):
    number = a_draft(app, None)
    form = form_of(maria, f"/drafts/{number}")
    found = maria.post(f"/drafts/{number}/check", data={"csrf": form["csrf"], "text": BAD})
    assert found.status_code == 200 and 'data-count="1"' in found.text
    clean = maria.post(f"/drafts/{number}/check", data={"csrf": form["csrf"], "text": "Спасибо!"})
    assert 'data-count="0"' in clean.text


def test_approving_a_text_with_findings_is_held_until_send_anyway(app, maria):
    number = a_draft(app)
    form = form_of(maria, f"/drafts/{number}")
    held = maria.post(f"/drafts/{number}", data={**form, "text": BAD, "action": "approve"})
    assert "Не отправлено" in held.text and app.drafts.show(number)["status"] == "pending"
    form = form_of(maria, f"/drafts/{number}")
    sent = maria.post(f"/drafts/{number}", data={**form, "text": BAD, "action": "anyway"})
    assert "Согласовано" in sent.text and sent.url.path == "/tickets/1"
    assert app.drafts.show(number)["status"] == "approved"
    with app.store.session() as session:
        assert session.exec(select(OutboxMail).where(OutboxMail.draft_id == number,
                                                     OutboxMail.kind == "need_info")).first()


def test_an_edit_is_checked_again_before_it_is_approved(app, maria):
    number = a_draft(app, None)
    form = form_of(maria, f"/drafts/{number}")
    held = maria.post(f"/drafts/{number}", data={**form, "text": BAD, "action": "approve"})
    assert "Не отправлено" in held.text
    assert app.drafts.show(number)["text"] == BAD


def test_approving_a_version_someone_else_changed_is_refused(app, maria):
    number = a_draft(app, None)
    form = form_of(maria, f"/drafts/{number}")
    petr = sign_in(browser(app), app, PETR.email)
    other = form_of(petr, f"/drafts/{number}")
    petr.post(f"/drafts/{number}", data={**other, "action": "save",
                                         "text": "Anna, please send the invoice number."})
    late = maria.post(f"/drafts/{number}", data={**form, "action": "approve",
                                                 "text": app.drafts.show(number)["text"]})
    assert late.status_code == 409
    assert "petr@example.com" in late.text and "read the new version" in late.text
    assert "Anna, please send the invoice number." in late.text
    assert app.drafts.show(number)["status"] == "pending"


def test_the_second_consultant_sees_who_is_editing(app, maria):
    number = a_draft(app, None)
    maria.get(f"/drafts/{number}")
    petr = sign_in(browser(app), app, PETR.email)
    page = petr.get(f"/drafts/{number}").text
    assert "Мария Иванова has this draft open too" in page


def test_rejecting_a_draft_sends_nothing(app, maria):
    number = a_draft(app, None)
    form = form_of(maria, f"/drafts/{number}")
    page = maria.post(f"/drafts/{number}", data={**form, "action": "reject", "text": ""})
    assert "Отклонено" in page.text and app.drafts.show(number)["status"] == "rejected"


# -- the manager's summary ---------------------------------------------------------------------

def test_the_summary_draws_its_chart_on_the_server(app):
    with app.store.session() as session:
        ticket = session.get(Ticket, 2)
        ticket.status, ticket.resolved_at = "resolved", MONDAY_10
    oleg = sign_in(browser(app), app, OLEG.email)
    page = oleg.get("/summary").text
    assert "<svg" in page and 'class="bar opened-clients"' in page
    assert 'class="bar resolved-clients"' in page
    assert "Не проводятся накладные" in page and "Invoice question" not in page  # resolved: not open


def test_a_clients_manager_sees_only_their_company_in_the_summary(app):
    boss = sign_in(browser(app), app, BOSS.email)
    page = boss.get("/summary").text
    assert "Не проводятся накладные" in page and "Invoice question" not in page


def test_a_clients_manager_cannot_open_another_companys_ticket(app):
    boss = sign_in(browser(app), app, BOSS.email)
    assert boss.get("/tickets/1").status_code == 200
    assert boss.get("/tickets/2").status_code == 403
    assert boss.get("/tickets/2/messages/2/html").status_code == 403


def test_a_manager_reads_but_does_not_act(app):
    oleg = sign_in(browser(app), app, OLEG.email)
    page = oleg.get("/tickets/1").text
    assert "Взять заявку себе" not in page
    refused = oleg.post("/tickets/1/note", data={"csrf": csrf_of(page), "text": "x"})
    assert refused.status_code == 403


# -- the operator --------------------------------------------------------------------------

def test_the_operator_sees_quarantine_and_walks_a_message_again(app):
    load(app, b"\x00\x01\x02 not a mail at all \xff\xfe")
    ops = sign_in(browser(app), app, OPERATOR)
    page = ops.get("/quarantine").text
    number = re.search(r'href="/quarantine/(\d+)"', page).group(1)
    assert ops.get(f"/quarantine/{number}").status_code == 200
    again = ops.post(f"/quarantine/{number}/retry", data={"csrf": csrf_of(page)})
    assert "Разобрано заново: quarantined" in again.text
    assert app.quarantine_rows()[0]["id"] != int(number)


def test_the_operator_sends_a_failed_mail_again(app):
    a_draft(app, None)           # its approval request waits in the outbox
    with app.store.session() as session:
        row = session.exec(select(OutboxMail)).first()
        row.status, row.last_error = "failed", "550 mailbox unavailable"
        number = row.id
    ops = sign_in(browser(app), app, OPERATOR)
    page = ops.get("/outbox").text
    assert "550 mailbox unavailable" in page
    again = ops.post(f"/outbox/{number}/retry", data={"csrf": csrf_of(page)})
    assert "Поставлено на повторную отправку" in again.text
    with app.store.session() as session:
        assert session.get(OutboxMail, number).status == "queued"


# -- refusals and headers, on every page --------------------------------------------------------

PAGES = ["/queue", "/tickets/1", "/tickets/1/messages/1/html", "/drafts/1", "/summary",
         "/quarantine", "/outbox"]
POSTS = ["/tickets/1/note", "/tickets/1/change", "/tickets/1/take", "/tickets/1/drafts",
         "/drafts/1", "/drafts/1/check", "/quarantine/1/retry", "/outbox/1/retry", "/signout",
         "/language"]


def test_nobody_signed_in_is_sent_to_sign_in_from_every_page(app):
    a_draft(app, None)
    client = browser(app)
    for path in PAGES + ["/tickets/1/attachments/1"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/signin", path


def test_every_form_refuses_a_post_without_its_csrf_token(app, maria):
    a_draft(app, None)
    ops = sign_in(browser(app), app, OPERATOR)
    for path in POSTS:
        who = ops if path.startswith(("/quarantine", "/outbox")) else maria
        response = who.post(path, data={"text": "x", "action": "approve"})
        assert response.status_code == 403, path
        wrong = who.post(path, data={"text": "x", "csrf": "0" * 64})
        assert wrong.status_code == 403, path
    assert app.drafts.show(1)["status"] == "pending"


def test_each_role_is_refused_the_pages_of_the_others(app):
    a_draft(app, None)
    ops = sign_in(browser(app), app, OPERATOR)
    for path in ("/queue", "/tickets/1", "/drafts/1", "/summary"):
        assert ops.get(path).status_code == 403, path
    maria = sign_in(browser(app), app, CONSULTANT.email)
    for path in ("/quarantine", "/outbox"):
        assert maria.get(path).status_code == 403, path
    boss = sign_in(browser(app), app, BOSS.email)
    for path in ("/drafts/1", "/quarantine", "/outbox"):
        assert boss.get(path).status_code == 403, path


def test_every_response_carries_the_security_headers(app, maria):
    a_draft(app, None)
    for path in PAGES[:5] + ["/signin", "/static/desk.css", "/no/such/page", "/tickets/999"]:
        response = maria.get(path)
        assert "default-src 'none'" in response.headers["content-security-policy"], path
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["referrer-policy"] == "no-referrer", path
        assert response.headers["x-frame-options"] in ("DENY", "SAMEORIGIN"), path
    assert maria.get("/tickets/999").status_code == 404


def test_every_word_of_the_desk_exists_in_russian_and_english_with_the_same_fields():
    from string import Formatter

    from assistant.web.i18n import STRINGS
    fields = lambda text: {name for _, name, _, _ in Formatter().parse(text) if name}  # noqa: E731
    for key, (english, russian) in STRINGS.items():
        assert english.strip() and russian.strip(), key
        assert fields(english) == fields(russian), key


def test_every_key_the_templates_use_has_words():
    from pathlib import Path

    from assistant.web.i18n import STRINGS
    folder = Path(__file__).resolve().parent.parent / "assistant" / "web" / "templates"
    used = {key for path in folder.glob("*.html")
            for key in re.findall(r'(?<![\w.])t\("([a-z_.\-]+)"[,)]', path.read_text(encoding="utf-8"))}
    assert used and not used - set(STRINGS)
