"""A client whose display name is not a name (markup, a link, an address) is greeted without one."""

from __future__ import annotations

import email
import unicodedata
from email.policy import default as default_policy

import pytest
from hypothesis import example, given, settings, strategies as st
from sqlmodel import select

from assistant.replies.context import greeting_name
from assistant.store.models import OutboxMail
from support import make_app, mail

BODIES = {
    "ru": ("Добрый день! Не проходит оплата по счёту, ошибка на последнем шаге. Помогите, пожалуйста.",
           "Здравствуйте!", "Здравствуйте, Анна!"),
    "en": ("Hello! The payment for our invoice fails at the last step every time. Please help.",
           "Hello,", "Hello Anna,"),
}
HOSTILE = ["Hello <img src=x>", "Claim your refund at refunds.example", "https://pay.example/now",
           "anna@elsewhere.example", "Anna\u202eanna"]


def acknowledgement_text(tmp_path, sender: str, body: str) -> str:
    app = make_app(tmp_path)
    app.walk.process(mail(sender=sender, body=body, subject="Payment"))
    app.write_letters_due()
    with app.store.session() as session:
        raw = session.exec(select(OutboxMail.raw).where(OutboxMail.kind == "acknowledgement")).one()
    return email.message_from_bytes(raw, policy=default_policy).get_body(("plain",)).get_content()


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("display", HOSTILE, ids=["markup", "domain", "url", "address", "bidi"])
def test_a_display_name_that_is_not_a_name_is_not_quoted_into_the_greeting(tmp_path, lang, display):
    body, plain_greeting, _named = BODIES[lang]
    text = acknowledgement_text(tmp_path, f'"{display}" <anna@romashka.example>', body)
    assert text.lstrip().startswith(plain_greeting)
    for piece in ("<img", "refunds.example", "pay.example", "elsewhere.example", "\u202e"):
        assert piece not in text


@pytest.mark.parametrize("lang, name", [("ru", "Анна Соколова"), ("en", "Anna Sokolova")])
def test_a_real_name_still_greets_the_client_by_it(tmp_path, lang, name):
    body, _plain, named = BODIES[lang]
    text = acknowledgement_text(tmp_path, f"{name} <anna@romashka.example>", body)
    assert text.lstrip().startswith(named.replace("Анна", name.split()[0]).replace("Anna", name.split()[0]))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
@example("Anna\x07")
@example("Anna\u202eanna")
@example("Анна <script>")
def test_whatever_the_display_name_says_the_greeting_holds_only_letters_of_a_name(display):
    name = greeting_name(display)
    assert all(unicodedata.category(char)[0] in "LM" or char in " -'’." for char in name)
    assert not name or name in display
