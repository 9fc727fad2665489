"""Critical incidents as an experienced consultant reads them: who is hurt × how soon, with the words why."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from assistant.config import defaults
from assistant.policy.severity import priority_of
from assistant.policy.triage import Triage

MSK = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=MSK)      # a Wednesday morning


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage(defaults())


def assess(triage, subject, text):
    return triage.assess(subject, text, now=NOW)


def words(grade) -> str:
    return " ".join(e.text for e in grade.evidence).lower()


# Written for these tests: other companies, other software, other wording than the rules' examples.
CRITICAL = [
    ("ru", "Программа", "После ночного обновления база не запускается ни у одного пользователя, "
     "работа всего офиса парализована.", "ни у одного"),
    ("ru", "Бухгалтерия", "Бухгалтерия полностью остановилась, декларацию сдавать послезавтра.", "бухгалтерия"),
    ("ru", "Заказы", "Сегодня перестали передаваться заказы с сайта в склад.", "заказы"),
    ("ru", "Интернет-магазин", "Добрый день. С девяти утра интернет-магазин показывает белый экран, "
     "покупатели звонят.", "интернет-магазин"),
    ("ru", "Касса", "Во всех трёх магазинах кассы не принимают оплату картой с обеда.", "кассы"),
    ("ru", "Сервер", "Утром на сервере все файлы зашифрованы шифровальщиком, на столе записка с требованием выкупа.",
     "шифровальщик"),
    ("ru", "Зарплата", "Сегодня зарплата, а банк возвращает реестр с ошибкой.", "сегодня зарплата"),
    ("ru", "Вход", "Никто в офисе не может зайти в программу, пишет что лицензия не найдена.", "никто"),
    ("en", "Payroll", "If this is not fixed by noon, 300 people will not be paid.", "people"),
    ("en", "Blocked", "Since the upgrade the whole finance team is blocked.", "whole finance team"),
    ("en", "Hosted ERP", "Cannot reach my hosted ERP site.", "erp"),
    ("en", "Orders", "Our webshop stopped accepting orders an hour ago; checkout throws an exception.", "webshop"),
    ("en", "Warehouse", "The warehouse scanners stopped syncing this morning, nobody can pick anything.", ""),
    ("en", "Tax filing", "The VAT return must be filed today and the submission keeps getting rejected.", "vat"),
    ("en", "Login", "Since 8am none of our staff can sign in to the accounting system.", "none of our"),
    ("en", "Ransomware", "Ransomware encrypted the shared drive overnight.", "ransomware"),
]


@pytest.mark.parametrize("lang,subject,text,who", CRITICAL, ids=[f"{c[0]}-{c[1]}" for c in CRITICAL])
def test_a_stopped_business_is_critical_and_says_who_and_how_soon(triage, lang, subject, text, who):
    result = assess(triage, subject, text)
    assert result.language == lang
    assert result.priority == "critical" and result.critical
    assert result.impact.level in ("department", "company")
    assert result.urgency.level in ("today", "now")
    assert result.impact.evidence and result.urgency.evidence
    assert who in words(result.impact)
    assert any(r.effect == "critical" and r.text for r in result.reasons)


NOT_CRITICAL = [
    ("СРОЧНО!!!", "СРОЧНО!!! как поменять логотип в счёте", "low"),
    ("URGENT!!!", "URGENT!!! How do I export the customer list to Excel?", "normal"),
    ("Пожелание", "Хотелось бы, чтобы в отчёте по продажам можно было выбрать цвет диаграммы.", "low"),
    ("Font", "Could you make the invoice font a bit bigger?", "low"),
    ("Ошибка", "У одного менеджера при печати счёта выскакивает ошибка, остальные печатают нормально.", "normal"),
    ("Sync", "Sometimes one or two orders don't sync to the ERP, we fix them by hand.", "normal"),
    ("Заказы", "Уже третью неделю часть заказов с сайта не доходит до CRM, менеджеры переносят их вручную.", "normal"),
    ("Payroll", "Payroll calculation fails for everybody, payday is next Friday.", "high"),
    ("Отчёт", "У всей бухгалтерии не формируется оборотно-сальдовая ведомость, сдавать через неделю.", "high"),
    ("Login", "I can't log in since this morning, I need to send quotes today.", "high"),
    ("Site", "Yesterday the site was down for an hour, it works again now. Could you tell us what happened?", "normal"),
    ("Письмо", "Пришло письмо якобы от банка с просьбой сменить пароль, мы его не открывали. Что делать?", "normal"),
    ("Inbox", "We have three inboxes; all of them work, but one of them has stopped creating tickets.", "normal"),
]


@pytest.mark.parametrize("subject,text,expected", NOT_CRITICAL, ids=[c[0] for c in NOT_CRITICAL])
def test_what_is_not_on_fire_is_not_critical(triage, subject, text, expected):
    assert assess(triage, subject, text).priority == expected


def test_shouting_alone_raises_nothing(triage):
    calm = assess(triage, "Логотип", "Подскажите, как поменять логотип в счёте?")
    loud = assess(triage, "СРОЧНО!!!", "СРОЧНО!!! Подскажите, как поменять логотип в счёте???")
    assert calm.priority == loud.priority == "low"


def test_calm_words_do_not_lower_a_whole_company_stopped(triage):
    result = assess(triage, "Site", "Our online store is unreachable. A bit of a nuisance.")
    assert result.critical and result.impact.level == "company"


def test_a_workaround_lowers_urgency_one_step(triage):
    stopped = assess(triage, "Заказы", "С утра заказы с сайта не передаются на склад.")
    eased = assess(triage, "Заказы", "С утра заказы с сайта не передаются на склад. "
                   "Пока вводим их вручную.")
    assert (stopped.urgency.level, eased.urgency.level) == ("now", "today")
    assert any(r.effect == "urgency lowered a step" and r.text == "вручную" for r in eased.reasons)


def test_a_workaround_the_client_cannot_use_lowers_nothing(triage):
    result = assess(triage, "Зарплата", "Сегодня день выплаты, банк не принимает зарплатный реестр. "
                    "Вручную 140 сотрудников мы перенести не успеем.")
    assert result.critical and result.urgency.level == "today"


def test_the_share_is_said_by_the_quantifier_nearest_the_fault(triage):
    result = assess(triage, "Склад", "Все пользователи работают нормально, но у одного сотрудника не запускается программа.")
    assert result.impact.level == "user" and not result.critical


def test_a_fault_that_comes_and_goes_is_not_burning_now(triage):
    steady = assess(triage, "Касса", "Кассы не печатают чеки.")
    sometimes = assess(triage, "Касса", "Кассы иногда не печатают чеки.")
    assert steady.critical and not sometimes.critical
    assert sometimes.urgency.level == "days"


def test_a_leaver_with_the_bank_keys_is_a_security_incident(triage):
    result = assess(triage, "Доступы", "Вчера уволился финансовый директор. Токен от банка остался у него.")
    assert result.critical and result.impact.level == "company"
    plain = assess(triage, "Доступы", "Токен от банка остался у него, подскажите, как продлить сертификат.")
    assert not plain.critical


def test_a_deadline_today_in_the_clients_words_counts_as_today(triage):
    result = assess(triage, "Payroll", "Our payroll export fails, the bank needs the file by 3pm.")
    assert result.urgency.level == "today"
    assert "3pm" in words(result.urgency)


@pytest.mark.parametrize("impact,urgency,expected", [
    ("company", "now", "critical"), ("department", "today", "critical"), ("department", "days", "high"),
    ("user", "now", "high"), ("team", "today", "high"), ("team", "days", "normal"),
    ("company", "none", "normal"), ("user", "none", "normal"),
])
def test_the_itil_matrix(impact, urgency, expected):
    assert priority_of(impact, urgency) == expected


def test_a_wish_with_no_time_pressure_is_low():
    assert priority_of("company", "none", wish=True) == "low"
    assert priority_of("department", "days", wish=True) == "high"


CALM = ["Подскажите, как поменять логотип в счёте?", "Как выгрузить прайс в Excel?",
        "How do I change the font of the invoice?", "Where can I find the VAT report settings?",
        "Хотелось бы добавить колонку в отчёт.", "Could you add a filter to the sales report?"]
SHOUTS = ["СРОЧНО!!!", "URGENT!!!", "срочно", "ASAP", "Очень срочно!!!", "PLEASE HELP ASAP!!!", "!!!"]


@settings(max_examples=40, deadline=None)
@given(text=st.sampled_from(CALM), shout=st.sampled_from(SHOUTS), before=st.booleans())
def test_property_shouting_never_raises_a_calm_request(triage, text, shout, before):
    loud = f"{shout} {text}" if before else f"{text} {shout}"
    assert assess(triage, shout, loud).priority == assess(triage, "", text).priority


# --- The reasons travel: the ticket, `tickets show`, `parse --json`, the on-call alert -----

def _critical_ticket(folder):
    """A critical mail walked through a real app: the on-call alert's text and the ticket."""
    from email import message_from_bytes, policy
    from sqlmodel import select
    from assistant.store.models import OutboxMail
    from scheduled import make, open_ticket
    from support import MONDAY_10, Clock, mail
    app = make(folder, Clock(MONDAY_10))
    number = open_ticket(app, mail(subject="Всё встало", body=(
        "После обновления база не запускается ни у одного пользователя, работа всего офиса парализована.")))
    with app.store.session() as session:
        alerts = session.exec(select(OutboxMail).where(OutboxMail.kind == "alert",
                                                       OutboxMail.ticket_id == number)).all()
    assert alerts, "no on-call alert was queued"
    text = message_from_bytes(alerts[0].raw, policy=policy.default).get_body(("plain",)).get_content()
    return text, app.ticket_detail(number)


def test_the_on_call_alert_says_in_a_sentence_why_it_is_critical(tmp_path):
    text, _ = _critical_ticket(tmp_path)
    assert "Почему критично: работа стоит у всей компании («ни у одного»" in text
    assert "ущерб идёт прямо сейчас" in text and "«парализована»" in text


def test_tickets_show_carries_impact_and_urgency_with_the_clients_words(tmp_path):
    from assistant.cli import views
    _, detail = _critical_ticket(tmp_path)
    assert detail["impact"]["level"] == "company" and detail["urgency"]["level"] == "now"
    assert {"rule": "scope/nobody", "text": "ни у одного"} in detail["impact"]["evidence"]
    shown = views.ticket(detail)
    assert "impact:  company («ни у одного»" in shown and "urgency: now (" in shown


def test_parse_json_gains_impact_and_urgency(tmp_path):
    import json
    import os
    import subprocess
    import sys
    raw = (b"From: Kate <kate@shop.example>\r\nTo: support@example.com\r\nSubject: Site down\r\n"
           b"Message-ID: <k1@shop.example>\r\n\r\nOur online store has been unreachable since 9 am, "
           b"customers cannot check out.\r\n")
    (tmp_path / "m.eml").write_bytes(raw)
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_CONFIG"}
    done = subprocess.run([sys.executable, "-m", "assistant", "parse", "--json", "m.eml"], cwd=tmp_path,
                          env=env, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    parsed = json.loads(done.stdout)
    assert parsed["critical"]
    assert parsed["impact"]["level"] == "company" and parsed["urgency"]["level"] == "now"
    assert all(set(e) == {"rule", "text"} and e["text"] for e in parsed["impact"]["evidence"])
    assert any("unreachable" in e["text"] for e in parsed["urgency"]["evidence"])
