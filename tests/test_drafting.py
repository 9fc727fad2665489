"""Every reply a client can get names their problem, says what happens next and when, and reads kindly."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.replies.render import Drafter, ReplyContext, choose_variant, clean_subject, trim_words
from assistant.errors import TemplateError
from assistant.policy.tone import ToneChecker

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2024, 11, 22, 9, 0, tzinfo=timezone.utc)          # 12:00 in Moscow
NEXT = NOW + timedelta(hours=3)                                   # 15:00 in Moscow
SITUATIONS = ["acknowledgement", "forwarded", "manager_summary", "need_info", "options",
              "progress", "resolved"]
SOLVES_THE_PROBLEM = {"resolved"}
CLIENT_FACING = [s for s in SITUATIONS if s != "manager_summary"]
NEXT_TIME = {"ru": "сегодня до 15:00", "en": "today by 3:00 PM"}
# The summary names its next time as an appointment, not a deadline.
NEXT_SUMMARY = {"ru": "сегодня в 15:00", "en": "today at 3:00 PM"}

EXTRA = {
    "ru": dict(done=["нашли, в каком отчёте расходится сумма"], next_steps=["пересчитаем октябрь"],
               missing=["номер заказа", "скриншот ошибки"], team="бухгалтерия",
               options=[dict(title="Пересчитать месяц", detail="Займёт два часа.", recommended=True),
                        dict(title="Поправить один документ", detail="Быстрее.", recommended=False)],
               resolution="Исправили формулу НДС.", check="Откройте отчёт за октябрь.",
               incidents=[dict(tag="[#41]", subject="Отчёт", client="a@b.ru", internal=False,
                               status="overdue", due=NOW - timedelta(hours=1), consultant="Олег")]),
    "en": dict(done=["found which report has the wrong total"], next_steps=["recalculate October"],
               missing=["the order number", "a screenshot"], team="billing",
               options=[dict(title="Recalculate the month", detail="Two hours.", recommended=True),
                        dict(title="Fix one document", detail="Faster.", recommended=False)],
               resolution="We fixed the VAT formula.", check="Open the October report.",
               incidents=[dict(tag="[#41]", subject="Report", client="a@b.com", internal=True,
                               status="at_risk", due=NOW + timedelta(hours=1), consultant="")]),
}


@pytest.fixture(scope="module")
def drafter() -> Drafter:
    return Drafter(ROOT / "templates", ToneChecker(ROOT / "rules"))


def context(lang: str, ticket_id: int = 42, **changes) -> ReplyContext:
    ru = lang == "ru"
    ctx = ReplyContext(
        ticket_id=ticket_id, tag=f"[#{ticket_id}]", subject="Re: Не считаются налоги" if ru else "Re: Taxes",
        language=lang, client_name="Мария" if ru else "Maria", client_email="maria@client.example",
        client_tz="Europe/Moscow",
        client_words="Не можем рассчитать налоги за октябрь." if ru else "We can't calculate taxes for October.",
        now=NOW, next_contact_at=NEXT, priority="high", critical=False,
        consultant_name="Мария Иванова" if ru else "Maria Ivanova",
        support_name="Служба поддержки" if ru else "Support team", extra=dict(EXTRA[lang]))
    return replace(ctx, **changes)


def every_variant(drafter: Drafter, situation: str, lang: str) -> list[ReplyContext]:
    """One ticket per variant of the situation, found by trying ticket numbers."""
    count = len(drafter.variants(situation, lang))
    tickets: dict[int, int] = {}
    for ticket_id in range(1, 500):
        tickets.setdefault(choose_variant(ticket_id, situation, count), ticket_id)
    assert len(tickets) == count
    return [context(lang, ticket_id) for ticket_id in tickets.values()]


def test_the_situations_are_the_seven_we_promise(drafter):
    assert drafter.situations() == SITUATIONS


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("situation", CLIENT_FACING)
def test_every_client_situation_has_three_different_phrasings(drafter, situation, lang):
    variants = drafter.variants(situation, lang)
    assert len(variants) >= 3
    texts = {(ROOT / "templates" / "replies" / name).read_text(encoding="utf-8") for name in variants}
    assert len(texts) == len(variants)


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("situation", SITUATIONS)
def test_every_variant_renders_a_kind_letter_with_the_tag_and_the_next_time(drafter, situation, lang):
    for ctx in every_variant(drafter, situation, lang):
        for critical in (False, True):
            draft = drafter.draft(situation, replace(ctx, critical=critical))
            source = (ROOT / "templates" / "replies" / draft.template).read_text(encoding="utf-8")
            assert source.startswith("Subject: {{ tag }}"), draft.template
            assert draft.letter.startswith(f"Subject: {ctx.tag} "), draft.template
            assert "Re:" not in draft.subject
            assert draft.findings == (), (draft.template, draft.findings)
            assert "{{" not in draft.text and "\n\n\n" not in draft.text
            if situation not in SOLVES_THE_PROBLEM:
                expected = NEXT_SUMMARY if situation == "manager_summary" else NEXT_TIME
                assert expected[lang] in draft.text, draft.template
            if situation in CLIENT_FACING:
                assert trim_words(ctx.client_words) in draft.text, draft.template


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_progress_report_without_news_says_so_and_still_names_the_checkpoint(drafter, lang):
    for ctx in every_variant(drafter, "progress", lang):
        with_news = drafter.draft("progress", ctx).text
        ctx = replace(ctx, extra=dict(ctx.extra, done=[]))
        draft = drafter.draft("progress", ctx)
        assert EXTRA[lang]["done"][0] in with_news and EXTRA[lang]["done"][0] not in draft.text
        assert re.search(r"новостей|нового|no news|haven't moved", draft.text, re.I), draft.template
        assert NEXT_TIME[lang] in draft.text and draft.findings == ()


def test_need_info_lists_exactly_what_is_missing(drafter):
    draft = drafter.draft("need_info", context("ru"))
    assert "— номер заказа\n— скриншот ошибки\n" in draft.text


def test_options_show_the_recommendation_and_leave_the_choice(drafter):
    for ctx in every_variant(drafter, "options", "en"):
        text = drafter.draft("options", ctx).text
        assert "Recalculate the month" in text and "Fix one document" in text
        assert re.search(r"recommend|advice", text) and re.search(r"choice|yours|up to you", text)


def test_the_same_ticket_gets_the_same_draft_and_tickets_spread_over_variants(drafter):
    first = drafter.draft("acknowledgement", context("ru", 7))
    assert drafter.draft("acknowledgement", context("ru", 7)) == first
    used = {drafter.draft("acknowledgement", context("ru", n)).template for n in range(1, 40)}
    assert len(used) == 3
    by_situation = {drafter.draft(s, context("ru", 7)).template.split("/")[-1] for s in CLIENT_FACING}
    assert len(by_situation) > 1


def test_the_consultants_name_is_declined_in_russian(drafter):
    for ctx in every_variant(drafter, "resolved", "ru"):
        text = drafter.draft("resolved", ctx).text
        if " к " + "Марии Ивановой" in text:
            break
    else:
        pytest.fail("no resolved variant addresses the consultant in the dative")


def test_the_manager_summary_has_a_coloured_table(drafter):
    draft = drafter.draft("manager_summary", context("ru"))
    assert draft.html and "<table" in draft.html and "#a11a1a" in draft.html
    assert "просрочено" in draft.html and "ПРОСРОЧЕНО" in draft.text


def test_html_escapes_what_the_client_wrote(drafter):
    rows = [dict(EXTRA["en"]["incidents"][0], subject="<script>alert(1)</script>")]
    ctx = context("en", extra=dict(EXTRA["en"], incidents=rows))
    draft = drafter.draft("manager_summary", ctx)
    assert "<script>" not in draft.html and "&lt;script&gt;" in draft.html
    assert "<script>" in draft.text


def test_a_subject_cannot_smuggle_a_header(drafter):
    draft = drafter.draft("acknowledgement", context("en", subject="Hi\r\nBcc: victim@example.com"))
    assert "\n" not in draft.subject and "\r" not in draft.subject
    assert clean_subject("Re: RE: Fwd: [#42] Taxes", "[#42]") == "Taxes"


def test_the_clients_own_words_are_not_held_against_the_draft(drafter):
    ctx = context("ru", client_words="Вы допустили ошибку в счёте, приносим извинения за неудобства!")
    assert drafter.draft("acknowledgement", ctx).findings == ()


def test_long_client_words_are_trimmed_at_a_word():
    words = trim_words("Отчёт не строится " * 40)
    assert len(words) <= 200 and words.endswith("…") and not words.endswith(" …")


def test_a_missing_variable_names_the_template(drafter):
    extra = dict(EXTRA["ru"])
    del extra["missing"]
    with pytest.raises(TemplateError, match=r"ru/need_info/\d\.txt\.j2.*missing"):
        drafter.draft("need_info", context("ru", extra=extra))


def test_a_reply_that_does_not_solve_the_problem_needs_a_time(drafter):
    with pytest.raises(TemplateError, match="next_contact_at"):
        drafter.draft("acknowledgement", context("en", next_contact_at=None))


def test_a_missing_situation_or_language_names_the_template(drafter):
    with pytest.raises(TemplateError, match="nonsense"):
        drafter.draft("nonsense", context("ru"))
    with pytest.raises(TemplateError, match="de"):
        drafter.draft("acknowledgement", context("ru", language="de"))
