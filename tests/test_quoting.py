"""The visible text of a reply is the new words only, whichever mail program quoted the rest."""

from __future__ import annotations

import pytest

from assistant.quoting import unflow, visible_text

NEW = "Всё заработало, спасибо!"


@pytest.mark.parametrize("history", [
    # Gmail, English and Russian, the attribution on one line or wrapped
    "On Mon, Mar 3, 2025 at 10:00 AM Ann <ann@example.com> wrote:\n\n> Try again.\n>",
    "On Mon, Mar 3, 2025 at 10:00 AM Support Team <\nsupport@example.com> wrote:\n> Try again.",
    "пн, 3 мар. 2025 г. в 10:00, Иван <ivan@example.com>:\n\n> Попробуйте ещё раз.",
    "пн, 3 мар. 2025 г. в 10:00, Служба поддержки <\nsupport@example.com>:\n\n> Ещё раз.",
    # Thunderbird and Apple Mail
    "03.03.2025 10:00, Служба поддержки пишет:\n> Попробуйте ещё раз.",
    "On 3 Mar 2025, at 10:00, Ann <ann@example.com> wrote:\n\n> Try again.",
    "3 марта 2025 г., в 10:00, Служба поддержки <s@example.com> написал(а):\n\n> Ещё раз.",
    # Yandex and Mail.ru
    '03.03.2025, 10:00, "Служба поддержки" <s@example.com>:\n> Попробуйте ещё раз.',
    "Понедельник, 3 марта 2025, 10:00 +03:00 от Служба <s@example.com>:\n>Ещё раз.",
    # Outlook, English and Russian, with and without the separator line
    "-----Original Message-----\nFrom: Support\nSent: Monday\nTo: Ivan\nSubject: x\n\nTry.",
    "-----Исходное сообщение-----\nОт: Служба\nОтправлено: 3 марта\nТема: x\n\nЕщё раз.",
    "From: Support <s@example.com>\nSent: Monday, March 3, 2025 10:00 AM\nTo: Ivan\n"
    "Subject: RE: x\n\nTry again.",
    "________________________________\nОт: Служба поддержки <s@example.com>\n"
    "Отправлено: 3 марта 2025 г. 10:00\nКому: Иван\nТема: x\n\nПопробуйте ещё раз.",
    "*From:* Support <s@example.com>\n*Sent:* Monday\n*To:* Ivan\n*Subject:* x\n\nTry.",
    # forwards
    "---------- Forwarded message ---------\nFrom: Ann <a@b.c>\nDate: Mon\n\nOld.",
    "-------- Пересылаемое сообщение --------\n03.03.2025, 10:00, Ann <a@b.c>:\nOld.",
    "Begin forwarded message:\n\nFrom: Ann <a@b.c>\nSubject: x\n\nOld.",
    # quoted lines without any attribution
    "> Попробуйте ещё раз.\n> Служба поддержки",
])
def test_history_below_the_new_words_is_not_visible(history):
    assert visible_text(f"{NEW}\n\n{history}\n") == NEW


@pytest.mark.parametrize("footer", [
    "-- \nИван Петров\n+7 495 123-45-67",
    "--\nAnna Smith | Finance",
    "Sent from my iPhone",
    "Sent from my Galaxy",
    "Отправлено с iPhone",
    "Отправлено из мобильной Почты Mail.ru",
    "Отправлено из мобильной Яндекс Почты",
    "Get Outlook for Android",
    "Sent with Proton Mail secure email.",
])
def test_signatures_and_mobile_footers_are_not_visible(footer):
    assert visible_text(f"{NEW}\n\n{footer}\n\n> old text\n") == NEW


def test_bottom_posted_answers_below_the_quote_are_visible():
    text = ("On 03.03.2025 10:00, Ivan Petrov wrote:\n> Did the restart help?\n\nNo, it did not.\n"
            "> And the cable?\nThe cable is fine.\n")
    assert visible_text(text) == "No, it did not.\nThe cable is fine."


def test_a_mail_that_is_all_quote_keeps_its_text():
    text = "> just the old text\n> nothing new"
    assert visible_text(text) == text


@pytest.mark.parametrize("text", [
    "Sent from home today, the office printer still jams.",
    "The client wrote:\nplease call back after 5.",
    "Итого:\nпринтер, сканер, монитор.",
    "From: the accounting department, with thanks.",
    "2025-03-03 10:05:05 ERROR от сервера 10.0.0.1: timeout for user7@client.ru:\nretrying",
    "Письмо от 03.03.2025 10:00 пришло от ivan@client.ru:\nвот его текст.",
])
def test_ordinary_sentences_that_look_like_markers_are_kept(text):
    assert visible_text(text) == text


def test_windows_line_endings_and_trailing_blanks_are_tidied():
    assert visible_text("Line one  \r\n\r\n\r\nLine two\r\n") == "Line one\n\nLine two"


def test_flowed_text_joins_soft_line_breaks_but_keeps_hard_ones_and_the_signature():
    flowed = "This is one \nlong line.\nNew line.\n> quoted \n> soft\n-- \nSig"
    assert unflow(flowed) == "This is one long line.\nNew line.\n> quoted soft\n-- \nSig"
    assert unflow("Del \nsp", delsp=True) == "Delsp"
