"""The visible text of a reply is the new words only, whichever mail program quoted the rest."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.mail.quoting import Reply, read_reply, unflow, visible_text

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


# ---- the structure of replies in many mail programs and languages ---------------------

@pytest.mark.parametrize("history", [
    # attributions in other languages and orders
    "Am 14.10.25 um 08:03 schrieb Support-Team:\n> Guten Tag,",
    "Support-Team <s@example.com> schrieb am Di., 5. März 2024 um 14:32 Uhr:\n\n> Hallo",
    "Le mar. 5 mars 2024 à 14:32, Support <s@example.com> a écrit :\n\n> Bonjour",
    "El mar, 5 mar 2024 a las 14:32, Soporte (<s@example.com>) escribió:\n\n> Hola",
    "Op di 5 mrt 2024 om 14:32 schreef Support <s@example.com>:\n\n> Hallo",
    "Il giorno mar 5 mar 2024 alle ore 14:32 Supporto <s@example.com> ha scritto:\n\n> Ciao",
    "Em ter., 5 de mar. de 2024 às 14:32, Suporte <s@example.com> escreveu:\n\n> Olá",
    "wt., 5 mar 2024 o 14:32 Dział wsparcia <s@example.com> napisał(a):\n\n> Dzień dobry",
    "вт, 5 бер. 2024 р. о 14:32 Служба <s@example.com> пише:\n\n> Добрий день",
    "Служба поддержки писал(а) 2024-03-05 14:32:\n> Здравствуйте!",
    "понедельник, 6 октября 2014 г. пользователь Служба написал:\n\n> Здравствуйте",
    "Вы писали 3 марта 2025 г., 10:00:\n\nСП> Здравствуйте",
    "Цитирую Мария Белова <m.belova@example.com>:\n\n> Добрый день!",
    # wrapped over lines, with the address on a line of its own
    "On Tue, Apr 11, 2017 at 10:07 PM John Smith\n\n<\nmailto:john@example.com>\n> wrote:\n\n> Old",
    "Le 4 janv. 2016 19:03, \"Neil Lalonde\"\n<info@example.org>\na écrit :\n\n> Old",
    "Max Mustermann <max@example.com> schrieb am Fr., 28.\nApr. 2017 um 11:53 Uhr:\n\n> Alt",
    "2014-10-17 11:28 GMT+03:00 Postmaster <\npostmaster@example.com>:\n\n> Old",
    # no verb at all, and invisible marks inside the date
    "вт, 5 мар.\u202f2024\u202fг. в 14:32, Служба <\u200es@example.com>:\n\n> Старое",
    "05.03.2024, 14:32, \"Служба поддержки\" <s@example.com>:\n> Старое",
    "* John Doe <john@example.com> [2025-03-03 10:00]:\n> Old",
    "2011/4/7 Nathan <support@example.com>\n\n> Old",
    # an original that is not quoted at all below a dated attribution
    "On 2024-03-05 14:32, Support wrote:\n\nOld text without quote marks.",
    "---- On Tue, 22 Dec 2015 14:17:36 +0530 Sam <s@example.org> wrote ----\n\nOld",
    # separators and header blocks, translated
    "-----Ursprüngliche Nachricht-----\nVon: Support\nGesendet: Dienstag\nAn: Lena\nBetreff: x",
    "-----Message d'origine-----\nDe : Support\nEnvoyé : mardi\nÀ : Camille\nObjet : x",
    "-----Reply Message-----\nFrom: Support\nOld",
    "----- Weitergeleitete Nachricht von Support <s@example.com> -----\n  Datum: Mon\nOld",
    "Von: Support <s@example.com>\nGesendet: Dienstag, 5. März 2024 14:32\nAn: Lena\n"
    "Betreff: AW: x\n\nAlt",
    "De: Soporte <s@example.com>\nEnviado el: martes, 5 de marzo de 2024 14:32\n"
    "Para: Lucía\nAsunto: RE: x\n\nViejo",
    "Från: Support [mailto:s@example.com]\nSkickat: den 5 juni 2017 12:22\nTill: a@b.c\n"
    "Ämne: x\n\nGammal",
    "Da: Supporto\nRisposta: Team\nData: giovedì 8 ottobre 2015 15:26\nA: Giulia\n"
    "Oggetto: x\n\nVecchio",
    " ------------------------------\n\n*From:* Outlook user\n*Sent:* 2016-01-27\n*To:* x@y.z\n"
    "*Subject:* x\n\nOld",
    "Date: Wed, 16 May 2012 00:15:02 -0600\nTo: someone@example.com\n\nOld",
])
def test_history_in_other_languages_and_shapes_is_not_visible(history):
    assert visible_text(f"{NEW}\n\n{history}\n") == NEW


def test_an_attribution_glued_to_the_end_of_a_line_is_cut_there():
    text = "Works now. On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:\n> Try again"
    assert visible_text(text) == "Works now."


def test_a_greeting_above_an_attribution_is_not_taken_for_its_first_line():
    text = "Hi,\n\nall good now.\n\nHi,\nAnn wrote:\n> Did it help?\n\nThanks!"
    assert visible_text(text) == "Hi,\n\nall good now.\n\nHi,\n\nThanks!"


def test_answers_between_quotes_stay_in_order_and_the_quotes_go():
    text = ("Мария Белова писал(а) 2025-06-02 11:15:\n> 1. Какая версия?\n\n4.12.3.\n\n"
            "> 2. У всех пользователей?\n\nТолько у бухгалтерии.\n")
    assert visible_text(text) == "4.12.3.\n\nТолько у бухгалтерии."


def test_a_leading_attribution_above_an_unquoted_original_is_dropped_alone():
    text = "On 8 May 2017 17:34, \"Andy\" <andy@example.com> wrote:\n\n    code\n\nMy note."
    assert visible_text(text) == "code\n\nMy note."


@pytest.mark.parametrize("text, new, signature", [
    # "-- ", "--", "---" and a signature placed below the quote
    ("Спасибо.\n\n---\nС уважением,\nАнна Смирнова\nменеджер, АО «Вектор»",
     "Спасибо.", "С уважением,\nАнна Смирнова\nменеджер, АО «Вектор»"),
    ("On 6/2/25, Emily wrote:\n> Did it help?\n\nYes.\n\n-- \nSarah Connor\nIT, Cyberdyne",
     "Yes.", "Sarah Connor\nIT, Cyberdyne"),
    # no delimiter: name, position, phone; a sign-off above them goes with them
    ("Номер договора 77/2024-П.\n\nИван Петров\nбухгалтер ООО «Ромашка»\nтел. +7 495 000-00-00",
     "Номер договора 77/2024-П.", "Иван Петров\nбухгалтер ООО «Ромашка»\nтел. +7 495 000-00-00"),
    ("It works.\n\nBest regards,\nJohn Doe\nSenior Manager | ACME Corp\n+1 555 010 0000",
     "It works.", "Best regards,\nJohn Doe\nSenior Manager | ACME Corp\n+1 555 010 0000"),
    # footers of phones and mail apps, in other languages
    ("Готово.\n\nОтправлено с устройства Galaxy", "Готово.", "Отправлено с устройства Galaxy"),
    ("Fertig.\n\nVon meinem iPhone gesendet", "Fertig.", "Von meinem iPhone gesendet"),
    ("Hecho.\n\nEnviado desde mi iPhone", "Hecho.", "Enviado desde mi iPhone"),
    ("Fait.\n\nEnvoyé de mon iPhone", "Fait.", "Envoyé de mon iPhone"),
    ("Gotowe.\n\nWysłane z iPhone'a", "Gotowe.", "Wysłane z iPhone'a"),
    ("Blah.\n\n-Lev.", "Blah.", "-Lev."),
])
def test_signatures_with_and_without_a_delimiter_are_cut_and_kept_apart(text, new, signature):
    reply = read_reply(text)
    assert (reply.visible, reply.signature) == (new, signature)


@pytest.mark.parametrize("text", [
    "Response\n\n10/19/2017 @ 9:30 am for therapy\n1517 4th Avenue Ste 300\n\nJohn Doe, FCLS\n"
    "MediCal Plus\n1234 11th Ave",
])
def test_ordinary_lists_stay_visible(text):
    assert visible_text(text) == text


def test_a_confidentiality_notice_is_not_part_of_the_new_words():
    text = ("Счёт оплатили.\n\nЭто сообщение и любые приложения к нему конфиденциальны и "
            "предназначены только для адресата.")
    assert visible_text(text) == "Счёт оплатили."


def test_a_footer_above_the_history_is_the_signature_and_the_history_goes():
    text = ("Fixed.\n\nGet Outlook for iOS\n________________________________\n"
            "From: Support <s@example.com>\nSent: Tuesday\nTo: Ivan\nSubject: x\n\nOld")
    assert read_reply(text) == Reply("Fixed.", "Get Outlook for iOS", history=True)


def test_a_mail_that_is_all_history_says_so():
    reply = read_reply("> just the old text")
    assert reply.only_history and reply.visible == "> just the old text"


# ---- any text: what has no marks stays whole --------------------------------------------

_PROSE = st.lists(
    st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd", "Zs"),
                                   whitelist_characters=".,!?-"), min_size=1, max_size=60)
    .map(str.strip).filter(bool),
    min_size=1, max_size=8)


@settings(max_examples=200, deadline=None)
@given(_PROSE)
def test_plain_sentences_without_marks_are_always_kept_whole(lines):
    text = "\n".join(lines)
    assert visible_text(text) == visible_text(text + "\n")
    assert visible_text(text).split() == text.split() or read_reply(text).signature


@settings(max_examples=200, deadline=None)
@given(_PROSE, st.sampled_from([
    "On Mon, Mar 3, 2025 at 10:00 AM Ann <ann@example.com> wrote:\n> old\n> older",
    "пн, 3 мар. 2025 г. в 10:00, Иван <ivan@example.com>:\n\n> старое",
    "-----Original Message-----\nFrom: A\nSent: Monday\nTo: B\nSubject: x\n\nold",
    "От: Служба <s@example.com>\nОтправлено: 3 марта 2025 г. 10:00\nКому: Иван\nТема: x\n\nold",
]))
def test_whatever_the_new_words_the_history_below_them_goes(lines, history):
    text = "\n".join(lines)
    reply = read_reply(f"{text}\n\n{history}")
    assert reply.history and reply.visible == visible_text(text)
