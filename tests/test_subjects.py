"""Subjects: a ticket's subject is the client's without "Re:"/"Ответ:", and every template starts with its Subject: line."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from assistant.replies import render as drafting
from assistant.tickets import conversation
from assistant.errors import TemplateError
from assistant.replies.notices import Notices
from assistant.mail.subjects import split_subject

# The subject a client's mail arrives with → the subject its ticket keeps (as before the
# two cleaners shared one list of prefixes: conversation's was the longer one).
TICKET_SUBJECTS = [
    ("Re: AW: Ответ: [#12] Отгрузка", "Отгрузка"),
    ("RE: Fwd: FW: Счёт", "Счёт"),
    ("Re[2]: Re(3): SV: VS: TR: RIF: Antw: WG: Отв: Пересл: На: x", "x"),
    ("  Re :  ответ : Заказ №5 ", "Заказ №5"),
    ("[#12] Re: Отгрузка", "Отгрузка"),
    ("Fwd: [#7] [#8] Два номера", "Два номера"),
    ("Re:Re:x", "x"),
    ("Re: [#12]", "(no subject)"),
    ("", "(no subject)"),
    # Only the start is cleaned, and only whole prefixes.
    ("Отгрузка: Re: вопрос", "Отгрузка: Re: вопрос"),
    ("Reply: question", "Reply: question"),
    ("Ответ на письмо", "Ответ на письмо"),
    ("Tracking: AWB 123", "Tracking: AWB 123"),
    ("На складе: всё", "На складе: всё"),
]


@pytest.mark.parametrize(("arrived", "kept"), TICKET_SUBJECTS)
def test_a_ticket_keeps_the_subject_without_reply_prefixes_and_tags(arrived, kept):
    assert conversation.clean_subject(arrived) == kept


# What a letter's subject line is built from: our own tag comes out (the template puts it
# back in front), other tags stay, and no prefix any mail program adds is left in front.
DRAFT_SUBJECTS = [
    ("Re: AW: Ответ: [#12] Отгрузка", "Отгрузка"),
    ("Re[2]: Re(3): SV: Отв: x", "x"),
    ("Re: RE: Fwd: [#12] Taxes", "Taxes"),
    ("Fwd: [#7] [#8] Два номера", "[#7] [#8] Два номера"),
    ("Re: [#12] Отгрузка\r\nBcc: x@y", "Отгрузка Bcc: x@y"),
    ("Отгрузка: Re: вопрос", "Отгрузка: Re: вопрос"),
    ("Re: [#12]", ""),
]


@pytest.mark.parametrize(("subject", "drafted"), DRAFT_SUBJECTS)
def test_a_letters_subject_drops_our_tag_and_reply_prefixes(subject, drafted):
    assert drafting.clean_subject(subject, "[#12]") == drafted


_PREFIXES = st.sampled_from(["Re:", "RE :", "Fwd:", "FW:", "AW:", "WG:", "SV:", "Ответ:", "Отв:", "Пересл:",
                             "На:", "Re[2]:", "Fwd(3):", "[#12]", "[#99]"])
_WORDS = st.text(st.characters(categories=("L", "N", "Zs", "P")), max_size=40)


@given(st.lists(_PREFIXES, max_size=5), _WORDS)
def test_a_tickets_subject_reaches_its_letters_unchanged(prefixes, words):
    # The letter is written from the ticket's subject: whatever was cleaned when the
    # ticket was made, the letter finds nothing more to take away.
    kept = conversation.clean_subject(" ".join([*prefixes, words]))
    assert drafting.clean_subject(kept, "[#12]") == kept


def test_every_template_kind_reads_its_subject_line_the_same_way():
    assert split_subject("\ufeffSubject:  Заявка   [#3] \nТекст\n", "x.txt.j2") == ("Заявка [#3]", "Текст\n")
    with pytest.raises(TemplateError, match=r"^x\.txt\.j2: a template must begin with a 'Subject:' line$"):
        split_subject("Тема: Заявка\nТекст", "x.txt.j2")


def test_a_notice_without_a_subject_line_names_its_file(tmp_path):
    folder = tmp_path / "notices" / "ru"
    folder.mkdir(parents=True)
    (folder / "alert.txt.j2").write_text("Срочно: {{ ref }}\nТекст\n", encoding="utf-8")
    with pytest.raises(TemplateError, match=r"templates/notices/ru/alert\.txt\.j2: a template must begin"):
        Notices(tmp_path).render("alert", "ru", ref="#1")
    (folder / "alert.txt.j2").write_text("Subject:  Срочно:  {{ ref }}\n\nТекст\n", encoding="utf-8")
    assert Notices(tmp_path).render("alert", "ru", ref="#1") == ("Срочно: #1", "Текст\n")
