"""What a consultant sees on a new ticket: priority and why, category, owner, the client's deadline."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from assistant.config import defaults
from assistant.policy.sla import SlaBook
from assistant.policy.triage import Triage, TriageInput

MSK = ZoneInfo("Europe/Moscow")
# Wednesday 10 June 2026, 10:00 in Moscow.
NOW = datetime(2026, 6, 10, 10, 0, tzinfo=MSK)


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage(defaults())


def assess(triage, subject, text, **kw):
    return triage.assess(subject, text, now=kw.pop("now", NOW), **kw)


def rules_of(assessment) -> set[str]:
    return {r.rule for r in assessment.reasons}


CRITICAL = [
    ("Срочно! Встала отгрузка", "Добрый день!\n\nС 8 утра остановлена отгрузка со склада в Подольске: "
     "накладные не печатаются, машины стоят у ворот.\n\nИгорь, начальник склада", "shipment-stopped"),
    ("Налоги", "Коллеги, завтра сдаём декларацию, а налоги не рассчитываются — программа выдаёт "
     "пустую форму. Помогите!", "taxes-cannot-be-calculated"),
    ("Банк", "С обеда не проходят платежи через банк-клиент, поставщики обрывают телефон.",
     "payments-not-going-through"),
    ("Касса", "В магазине на Ленина, 5 не работает касса, очередь до дверей.", "till-down"),
    ("Shipments", "Hi team,\n\nour shipments have stopped since this morning, trucks are waiting "
     "at the gate.\n\nJohn", "shipments-stopped"),
    ("Payroll", "Payday is tomorrow and we can't run payroll: the calculation crashes.", "payroll-cannot-run"),
    ("Down", "Production is down on line 2, no work orders are released for the shift.", "production-down"),
]


@pytest.mark.parametrize("subject,text,rule", CRITICAL, ids=[c[2] + "-" + c[0][:4] for c in CRITICAL])
def test_a_stopped_business_is_critical_with_the_phrase_that_decided_it(triage, subject, text, rule):
    result = assess(triage, subject, text)
    assert result.priority == "critical" and result.critical
    assert f"critical/{rule}" in rules_of(result)
    assert result.category == "incident"
    decisive = [r for r in result.reasons if r.effect == "critical"]
    assert decisive and all(r.text for r in decisive)


def test_all_forms_of_a_stopped_shipment_are_one_rule(triage):
    for text in ["отгрузка остановилась", "Остановлена отгрузка", "встала отгрузка у нас",
                 "shipment stopped", "Shipments have stopped"]:
        result = assess(triage, "", text)
        assert result.critical, text
        assert {r.rule for r in result.reasons if r.effect == "critical"} <= {
            "critical/shipment-stopped", "critical/shipments-stopped"}


@pytest.mark.parametrize("subject,text", [
    ("Не проводится реализация", "Из-за ошибки не могу провести документы, работа стоит. Посмотрите срочно."),
    ("Ошибка у всего отдела", "Добрый день! Отчёт по дебиторке не формируется у всей бухгалтерии."),
    ("Export", "Urgent: the bank export fails for every file, I can't work with payments today."),
])
def test_blocked_work_is_high(triage, subject, text):
    result = assess(triage, subject, text)
    assert result.priority == "high" and not result.critical
    assert any(r.effect == "raises to high" for r in result.reasons)


@pytest.mark.parametrize("subject,text,category", [
    ("Акт сверки", "Добрый день! Подскажите, где в программе найти акт сверки с поставщиком?", "question"),
    ("Report", "Hello, could you add a manager column to the sales report? Thanks, Kate", "change"),
])
def test_an_ordinary_request_is_normal(triage, subject, text, category):
    result = assess(triage, subject, text)
    assert result.priority == "normal" and result.category == category


@pytest.mark.parametrize("subject,text", [
    ("Опечатка", "В печатной форме счёта опечатка в слове «поставщик». Поправьте при случае."),
    ("FYI", "FYI: we have a new chief accountant from Monday, no action needed."),
])
def test_cosmetics_and_information_are_low(triage, subject, text):
    assert assess(triage, subject, text).priority == "low"


@pytest.mark.parametrize("subject,text", [
    ("Вопрос по отчёту", "Добрый день! Вопрос не срочно: как настроить отбор в отчёте по продажам?"),
    ("Отчёт", "Посмотрите, пожалуйста, когда будет время, почему отчёт долго открывается."),
    ("Report", "This is not urgent, no rush at all: how do I set up a filter in the sales report?"),
    ("Report", "Whenever you have time, could you explain the margin column?"),
])
def test_the_client_saying_it_can_wait_lowers_and_never_raises(triage, subject, text):
    result = assess(triage, subject, text)
    assert result.priority == "low"
    assert any(r.effect == "lowers (negated)" for r in result.reasons)
    assert not any(r.effect.startswith("raises") for r in result.reasons)


def test_not_urgent_beside_a_deadline_lowers_one_step(triage):
    result = assess(triage, "Счёт", "Не срочно, но счёт на оплату нужен до конца дня.")
    assert result.priority == "normal"


def test_a_stopped_business_stays_critical_whatever_the_tone(triage):
    result = assess(triage, "", "Не хочу торопить, но у нас склад стоит уже час. Не критично пока, но всё же.")
    assert result.critical


@pytest.mark.parametrize("text,expected", [
    ("Выставите, пожалуйста, счёт на оплату, нужно до конца дня.", datetime(2026, 6, 10, 18, 0, tzinfo=MSK)),
    ("Пришлите, пожалуйста, выгрузку к 15:00, у нас совещание.", datetime(2026, 6, 10, 15, 0, tzinfo=MSK)),
    ("Нужен отчёт завтра до обеда.", datetime(2026, 6, 11, 12, 0, tzinfo=MSK)),
    ("We need the report by end of day.", datetime(2026, 6, 10, 18, 0, tzinfo=MSK)),
    ("Please send the file by 3pm.", datetime(2026, 6, 10, 15, 0, tzinfo=MSK)),
])
def test_a_close_deadline_in_the_clients_words_raises_to_high(triage, text, expected):
    result = assess(triage, "Просьба", text)
    assert result.client_deadline == expected
    assert result.client_deadline.tzinfo is not None
    assert result.priority == "high"
    assert any(r.effect == "client deadline" for r in result.reasons)


@pytest.mark.parametrize("text,expected", [
    ("Доработку формы нужно сделать до 25.12.", datetime(2026, 12, 25, 18, 0, tzinfo=MSK)),
    ("Please add the field by December 5.", datetime(2026, 12, 5, 18, 0, tzinfo=MSK)),
])
def test_a_far_deadline_is_kept_but_does_not_raise(triage, text, expected):
    result = assess(triage, "Change", text)
    assert result.client_deadline == expected
    assert result.priority == "normal"


@pytest.mark.parametrize("text", ["Акт сверки нужен до пятницы.", "Could you fix the form by Friday?"])
def test_friday_is_close_on_thursday_and_not_yet_on_wednesday(triage, text):
    friday_evening = datetime(2026, 6, 12, 18, 0, tzinfo=MSK)
    on_wednesday = assess(triage, "Просьба", text)
    on_thursday = assess(triage, "Просьба", text, now=datetime(2026, 6, 11, 10, 0, tzinfo=MSK))
    assert on_wednesday.client_deadline == on_thursday.client_deadline == friday_evening
    assert (on_wednesday.priority, on_thursday.priority) == ("normal", "high")


def test_monday_is_close_when_written_on_friday(triage):
    result = assess(triage, "", "Пришлите, пожалуйста, отчёт до понедельника.",
                    now=datetime(2026, 6, 5, 16, 0, tzinfo=MSK))
    assert result.client_deadline == datetime(2026, 6, 8, 18, 0, tzinfo=MSK)
    assert result.priority == "high"


def test_a_date_already_past_this_year_means_next_year(triage):
    result = assess(triage, "", "Сделайте до 01.06, пожалуйста.")
    assert result.client_deadline == datetime(2027, 6, 1, 18, 0, tzinfo=MSK)


@pytest.mark.parametrize("importance", ["high", "1 (Highest)", "urgent"])
def test_an_importance_header_raises_an_ordinary_request(triage, importance):
    result = assess(triage, "Отчёт", "Подскажите, как настроить отчёт.", importance=importance)
    assert result.priority == "high"
    assert any(r.effect == "Importance: high header" for r in result.reasons)


def test_a_low_importance_header_lowers_only_when_nothing_raised(triage):
    assert assess(triage, "", "Подскажите, как настроить отчёт.", importance="low").priority == "low"
    # "Срочно" beside a fault raises; on its own it would not (shouting is not a fact).
    assert assess(triage, "", "Срочно: не проходит выгрузка в банк.", importance="low").priority == "high"


def test_a_reply_chasing_an_unanswered_ticket_raises_one_step(triage):
    result = assess(triage, "Re: Отчёт", "Добрый день! Подскажите, как настроить отчёт.", chasing=True)
    assert result.priority == "high"
    assert "chasing" in rules_of(result)


def test_chasing_in_the_clients_words_raises_too(triage):
    result = assess(triage, "Re: Отчёт", "Писал вам в понедельник, до сих пор нет ответа.")
    assert result.priority == "high"


@pytest.mark.parametrize("subject,text,category", [
    ("Доступ", "Прошу предоставить доступ к отчётам по продажам для Анны Петровой.", "access"),
    ("Ошибка", "При проведении поступления ошибка «Не найден счёт учёта».", "incident"),
    ("Вопрос", "Подскажите, где посмотреть историю изменений документа?", "question"),
    ("Доработка", "Нужно доработать печатную форму счёта: добавить банковские реквизиты.", "change"),
    ("Счёт", "Выставите, пожалуйста, счёт на оплату поддержки за июнь.", "billing"),
    ("Access", "Please grant access to the sales reports for Anna Petrova.", "access"),
    ("Error", "Posting the receipt gives an error: account not found.", "incident"),
    ("Question", "Where can I find the change history of a document?", "question"),
    ("Change", "Change request: add a field for the manager to the order form.", "change"),
    ("Invoice", "Could you send us an invoice for June support?", "billing"),
])
def test_every_category_in_both_languages(triage, subject, text, category):
    assert assess(triage, subject, text).category == category


def test_an_access_request_waits_for_the_owner_of_the_system_it_names(triage):
    hr = assess(triage, "Доступ", "Заведите, пожалуйста, пользователя в кадровой программе для "
                "новой сотрудницы, ей нужен доступ к табелю.")
    assert hr.category == "access" and hr.owner == "hr-director@example.com"
    other = assess(triage, "Access", "Please grant access to the document archive for Anna.")
    assert other.owner == "it-director@example.com"
    assert assess(triage, "", "При проведении ошибка.").owner is None


@pytest.mark.parametrize("text,language", [
    ("Добрый день! Не открывается отчёт.", "ru"),
    ("Hello, the report does not open.", "en"),
    ("Добрый день! В SAP ошибка: Error 500 Internal Server Error при выгрузке.", "ru"),
    ("Zdravstvuyte! U nas ne rabotaet kassa, pomogite srochno", "ru"),
])
def test_the_language_of_the_message(triage, text, language):
    assert assess(triage, "", text).language == language


def test_russian_in_latin_letters_is_read_by_the_russian_rules(triage):
    result = assess(triage, "", "Zdravstvuyte! U nas ostanovilas otgruzka, pomogite pozhaluysta")
    assert result.language == "ru" and result.critical


def test_an_english_alarm_inside_a_russian_letter_is_heard(triage):
    result = assess(triage, "Линия 2", "Коллеги, пересылаю от завода: production is down on line 2, "
                    "please call back.")
    assert result.language == "ru" and result.critical


def test_a_batch_gives_the_same_answers_as_one_by_one(triage):
    items = [TriageInput(s, t, NOW) for s, t, _ in CRITICAL] + [
        TriageInput("Вопрос", "Не срочно: как настроить отчёт?", NOW),
        TriageInput("Invoice", "Could you send us an invoice by Friday?", NOW, importance="low"),
        TriageInput("Re: report", "Hello, any news?", NOW, chasing=True, default_language="en"),
    ]
    one_by_one = [triage.assess(i.subject, i.text, importance=i.importance, chasing=i.chasing, now=i.now,
                                default_language=i.default_language, tz=i.tz) for i in items]
    assert triage.assess_many(items) == one_by_one


def test_a_priority_raised_mid_ticket_brings_the_deadline_forward():
    triage, book = Triage(defaults()), SlaBook.load(defaults().rules_dir)
    client = "igor@zavod.ru"
    created = datetime(2026, 6, 8, 10, 0, tzinfo=MSK)
    first = triage.assess("Отчёт по остаткам", "Подскажите, почему отчёт по остаткам долго формируется?",
                          now=created)
    assert first.priority == "normal"
    before = book.deadlines(priority=first.priority, critical=first.critical, client_email=client,
                            internal=False, start=created)
    changed = datetime(2026, 6, 9, 19, 30, tzinfo=MSK)
    reply = triage.assess("Re: Отчёт по остаткам", "Теперь встала отгрузка: склад не видит остатки.",
                          now=changed)
    assert reply.critical
    after = book.after_priority_change(before, old_priority=first.priority, new_priority=reply.priority,
                                       critical=reply.critical, client_email=client, internal=False,
                                       created=created, changed=changed)
    assert after.around_the_clock
    assert after.resolution_due == datetime(2026, 6, 9, 23, 30, tzinfo=MSK)
    assert after.resolution_due < before.resolution_due
    assert book.oncall()
