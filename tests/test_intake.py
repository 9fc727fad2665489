"""Real-looking mails from tests/mail/ read the way a consultant would read them."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from assistant.mail import authresults, htmltext, quoting
from assistant.errors import Unparseable
from assistant.mail.intake import Incoming, decode_bytes, decode_header, parse

MAIL = Path(__file__).parent / "mail"
SUPPORT = frozenset({"support@example.com"})


def read(name: str, **options) -> Incoming:
    return parse((MAIL / name).read_bytes(), own_addresses=SUPPORT, **options)


def names(mail: Incoming) -> list[str]:
    return [part.filename for part in mail.attachments]


# ---- replies: only the new words are visible -------------------------------------------


def test_russian_outlook_reply_shows_the_new_words_without_the_ot_otpravleno_history():
    mail = read("outlook-ru-reply.eml")
    assert mail.visible_text == (
        "Добрый день!\n\n"
        "Принтер всё ещё не печатает: после перезагрузки та же ошибка «Замятие бумаги», "
        "хотя бумаги внутри нет.\n"
        "Нужно срочно, сегодня сдаём отчёт."
    )
    # The sign-off with name, department and phone is his signature, kept apart.
    assert mail.signature == "С уважением,\nИван Петров\nбухгалтерия ООО «Ромашка»\n+7 495 123-45-67"
    assert "Отправлено: 3 марта 2025 г. 18:02" in mail.text  # the history is still in text
    assert mail.subject == "RE: Не печатает принтер в бухгалтерии [#42]"
    assert (mail.from_name, mail.from_address) == ("Иван Петров", "ivan.petrov@client.ru")


def test_outlook_reply_keeps_thread_ids_without_angle_brackets():
    mail = read("outlook-ru-reply.eml")
    assert mail.message_id == "AM0PR07MB4456ABCD1234@AM0PR07MB4456.eurprd07.prod.outlook.com"
    assert mail.in_reply_to == "ticket-42.1741014120@example.com"
    assert mail.references == (
        "ticket-42.1741000000@example.com", "ticket-42.1741014120@example.com")
    assert mail.date == datetime(2025, 3, 4, 9, 15, 22, tzinfo=timezone.utc)


def test_outlook_reply_is_high_importance_and_not_an_auto_reply():
    mail = read("outlook-ru-reply.eml")
    assert mail.importance == "high"
    # Outlook puts X-Auto-Response-Suppress on ordinary mail: it is no auto-reply sign.
    assert not mail.auto_reply and not mail.is_system
    assert mail.html is not None and "MsoNormal" in mail.html


def test_gmail_reply_in_russian_drops_the_dated_attribution_and_quote():
    mail = read("gmail-ru-reply.eml")
    assert mail.visible_text == (
        "Спасибо, заработало!\n"
        "Ещё вопрос: можно ли подключить второй принтер к этому же компьютеру?"
    )
    assert mail.from_address == "ivan.petrov.1987@gmail.com"
    assert not _auth(mail).failed


def test_gmail_reply_in_english_drops_the_wrapped_attribution_and_the_signature():
    mail = read("gmail-en-reply.eml")
    assert mail.visible_text == (
        "Hi,\n\n"
        'The export still fails with "Error 0x80070005: access denied". I tried again\n'
        "at 9:40 after restarting the laptop.\n\n"
        "Thanks,\nAnna"
    )
    assert mail.cc == ("john.smith@client.co.uk", "it-desk@client.co.uk")


def test_thunderbird_bottom_post_keeps_the_answer_below_the_quote_and_joins_flowed_lines():
    mail = read("thunderbird-reply.eml")
    assert mail.visible_text == (
        "Выключал и включал, не помогло. Фото экрана не получилось сделать: "
        "на экране только мигает оранжевая лампочка."
    )
    assert mail.subject == "Re: Не печатает принтер"


def test_apple_mail_reply_drops_the_napisal_a_attribution():
    mail = read("apple-mail-reply.eml")
    assert mail.visible_text == (
        "Здравствуйте!\n\nДа, инженер может приехать завтра с 10 до 12.\n\nИван")
    assert mail.message_id == "9F8E7D6C-5B4A-3928-1706-F5E4D3C2B1A0@client.ru"


def test_sent_from_my_iphone_and_the_quote_below_it_are_not_visible():
    assert read("iphone-reply.eml").visible_text == "Yes, this afternoon works for us."


def test_mail_ru_mobile_footer_and_its_ot_attribution_are_not_visible():
    assert read("mailru-mobile.eml").visible_text == "Спасибо, доступ появился."


# ---- charsets -------------------------------------------------------------------------


def test_koi8r_mail_reads_as_russian():
    mail = read("koi8r.eml")
    assert mail.subject == "Не запускается 1С"
    assert mail.from_name == "Сергей Кузнецов"
    assert mail.visible_text == (
        'Здравствуйте!\n\nПосле обновления не запускается 1С: пишет "Не найдена лицензия".\n'
        "Компьютер БУХ-03, пользователь Сергей."
    )
    assert mail.notes == ()


def test_windows_1251_quoted_printable_mail_reads_as_russian():
    mail = read("cp1251.eml")
    assert mail.subject == "Не приходят письма с сайта"
    assert mail.from_name == "Мария Иванова"
    assert "Проверьте, пожалуйста, — очень ждём заказы." in mail.visible_text


def test_mail_labelled_utf8_but_written_in_cp1251_reads_as_russian_with_a_note():
    mail = read("utf8-really-cp1251.eml")
    assert mail.subject == "Не печатает касса"
    assert mail.from_name == "Алексей"
    assert mail.visible_text.startswith("Здравствуйте!\n\nКасса не печатает чеки с утра")
    assert "text: read as cp1251 instead of the declared utf-8" in mail.notes


def test_unknown_charset_name_is_guessed_and_the_guess_is_said():
    mail = read("unknown-charset.eml")
    assert mail.subject == "Сброс пароля"
    assert mail.visible_text.startswith("Добрый день!\n\nПрошу сбросить пароль")
    assert "text: unknown charset 'x-unknown'" in mail.notes
    assert "text: read as koi8-r" in mail.notes


def test_broken_encoded_words_still_give_the_russian_subject():
    mail = read("broken-subject.eml")
    # A character cut between two words, lost base64 padding, a Q word after them.
    assert mail.subject == "Re: [#44] Не работает печать в офисе"
    assert mail.from_name == "Павел"
    assert mail.to == ("support@example.com",)


@pytest.mark.parametrize("data, declared, expected, guess", [
    ("Привет".encode("cp1251"), "latin-1", "Привет", "cp1251"),
    ("Привет, мир".encode("utf-8"), "iso-8859-1", "Привет, мир", "utf-8"),
    ("Grüße aus Köln".encode("cp1252"), "iso-8859-1", "Grüße aus Köln", None),
    ("Grüße aus Köln".encode("cp1252"), None, "Grüße aus Köln", "cp1252"),
    ("Отчёт готов".encode("koi8-r"), "cp1251", None, None),
])
def test_charset_guesses_prefer_what_a_reader_would_recognise(data, declared, expected, guess):
    notes: list[str] = []
    text = decode_bytes(data, declared, "text", notes)
    if expected is not None:
        assert text == expected
    else:  # a plausible label is believed: no guessing behind a declared Cyrillic charset
        assert text == data.decode("cp1251")
    assert any(guess in note for note in notes) if guess else notes == []


def test_encoded_words_split_mid_character_and_in_unknown_charsets_decode():
    notes: list[str] = []
    assert decode_header("=?utf-8?B?0J/R?= =?utf-8?B?gNC40LLQtdGC?=", "Subject", notes) == "Привет"
    assert decode_header("=?x-bogus?Q?=F0=D2=C9=D7=C5=D4?=", "Subject", notes) == "Привет"
    assert notes == ["Subject: unknown charset 'x-bogus'", "Subject: read as koi8-r"]


# ---- HTML ---------------------------------------------------------------------------


def test_html_only_mail_becomes_readable_text_without_style_or_script():
    mail = read("html-only.eml")
    assert mail.text == (
        "Здравствуйте!\n\n"
        "С понедельника не работает выгрузка в банк. Что уже проверили:\n\n"
        "- перезапустили сервер;\n"
        "- обновили клиент-банк до версии 2.4.\n\n"
        "Инструкция, по которой делали: страница в вики (https://wiki.client.ru/bank-export).\n\n"
        "Сервер: APP-01\nОшибка: timeout\n\n"
        "Спасибо!\nОльга"
    )
    assert mail.html is not None and "<script>" in mail.html


@pytest.mark.parametrize("name", [
    "outlook-ru-reply.eml", "apple-mail-reply.eml", "gmail-ru-reply.eml"])
def test_the_html_part_alone_shows_the_same_new_words_as_the_plain_part(name):
    """Some mailers send HTML only: the history must disappear from it just the same."""
    mail = read(name)
    assert quoting.visible_text(htmltext.to_text(mail.html)) == mail.visible_text


def test_html_blockquote_history_is_quoted_so_it_is_not_visible():
    html = ('<div>Works now.</div><div class="gmail_quote">On Mon, 3 Mar 2025 at 10:00,'
            ' Ann &lt;a@b.c&gt; wrote:<br>'
            '<blockquote>Try <b>again</b><br>please</blockquote></div>')
    text = htmltext.to_text(html)
    assert text.endswith("> Try again\n> please")
    assert "Works now." in text


def test_html_numbered_lists_and_links_read_as_a_person_would_write_them():
    html = ('<ol><li>Open <a href="https://x.example/settings">settings</a></li>'
            '<li>Write to <a href="mailto:help@x.example">help@x.example</a></li></ol>')
    assert htmltext.to_text(html) == (
        "1. Open settings (https://x.example/settings)\n2. Write to help@x.example")


def test_outlook_list_marks_are_dropped_and_the_list_kept():
    html = ('<p class=MsoListParagraph><![if !supportLists]><span>1.<span>&nbsp;&nbsp;</span>'
            '</span><![endif]>Перезапустить сервер<o:p></o:p></p>')
    assert htmltext.to_text(html) == "1. Перезапустить сервер"


# ---- attachments ---------------------------------------------------------------------


def test_russian_attachment_names_read_right_whatever_way_they_were_encoded():
    mail = read("attachments-rfc2231.eml")
    assert names(mail) == [
        "Счёт № 17.pdf",           # RFC 2231
        "Договор поставки.docx",   # RFC 2231 continuations
        "Акт сверки.xlsx",         # RFC 2047 inside quotes, as Outlook sends it
        "Фото склада.jpg",         # raw UTF-8 with a Windows path in front
    ]
    pdf = mail.attachments[0]
    assert pdf.content_type == "application/pdf"
    assert pdf.data is not None and pdf.data.startswith(b"%PDF-1.4")
    assert pdf.size == len(pdf.data)


def test_inline_images_are_marked_inline_with_their_content_id():
    mail = read("inline-image.eml")
    assert [(p.filename, p.inline, p.content_id) for p in mail.attachments] == [
        ("error.png", True, "error.png@01DB8F00"),
        ("part-2.png", True, "ii_m7x1y2z3"),
    ]
    assert mail.attachments[0].data.startswith(b"\x89PNG")
    assert mail.visible_text == "This is the dialog I get:\n\n[image: error.png]\n\nAnna"


def test_attachment_over_the_limit_keeps_its_name_and_size_but_not_its_bytes():
    mail = read("large-attachment.eml", max_attachment_bytes=50_000)
    [logs] = mail.attachments
    assert (logs.filename, logs.content_type, logs.size, logs.data) == (
        "logs.zip", "application/zip", 60_000, None)
    assert any("'logs.zip' is 60000 bytes, over the 50000-byte limit" in n for n in mail.notes)
    assert read("large-attachment.eml").attachments[0].data is not None


def test_outlook_winmail_dat_is_unpacked_into_its_files_and_body():
    mail = read("tnef-winmail.eml")
    assert names(mail) == ["Отчёт за март.txt", "screenshot.png"]
    report, screenshot = mail.attachments
    assert report.content_type == "text/plain"
    assert report.data.decode("utf-8").startswith("Отчёт за март")
    assert screenshot.content_type == "image/png" and screenshot.data.startswith(b"\x89PNG")
    assert mail.visible_text == "Добрый день!\n\nОтчёт и снимок экрана во вложении.\n\nОльга"
    assert (mail.subject, mail.from_name) == ("Отчёт за март", "Ольга Соколова")


# ---- flags -----------------------------------------------------------------------------


def test_english_out_of_office_is_an_auto_reply():
    mail = read("out-of-office-en.eml")
    assert mail.auto_reply and mail.is_system
    assert mail.headers["auto-submitted"] == "auto-replied"


def test_russian_out_of_office_is_recognised_by_its_subject_alone():
    mail = read("out-of-office-ru.eml")
    assert mail.auto_reply
    assert any(note.startswith("auto-reply: the subject") for note in mail.notes)


@pytest.mark.parametrize("subject", [
    "Out of Office: Printer", "Automatic reply: Printer", "Автоматический ответ: Принтер",
    "Нет на месте", "Я в отпуске до 17 марта", "[EXT] Automatic reply: x", "Autoreply",
])
def test_out_of_office_subjects_in_both_languages_are_auto_replies(subject):
    raw = f"From: a@client.ru\nSubject: {subject}\n\nx\n".encode()
    assert parse(raw).auto_reply


@pytest.mark.parametrize("header", [
    "Auto-Submitted: auto-generated", "X-Autoreply: yes", "X-Autorespond: on",
    "Precedence: bulk", "Precedence: auto_reply", "Precedence: junk",
])
def test_automatic_mail_headers_mark_an_auto_reply(header):
    assert parse(f"From: a@client.ru\n{header}\nSubject: Hello\n\nx\n".encode()).auto_reply


@pytest.mark.parametrize("header", ["Auto-Submitted: no", "X-Auto-Response-Suppress: All"])
def test_a_person_writing_is_not_an_auto_reply(header):
    assert not parse(f"From: a@client.ru\n{header}\nSubject: Help\n\nx\n".encode()).auto_reply


def test_delivery_report_is_a_bounce_with_its_report_attached():
    mail = read("bounce-dsn.eml")
    assert mail.bounce and mail.is_system
    assert mail.from_address == "mailer-daemon@mx.example.com"
    assert "550 5.1.1" in mail.visible_text
    assert names(mail) == ["delivery-status.txt", "Re: Access to reports [#61].eml"]
    assert b"Status: 5.1.1" in mail.attachments[0].data
    assert mail.headers["return-path"] == "<>"


def test_empty_return_path_alone_marks_a_bounce():
    assert parse(b"Return-Path: <>\nFrom: robot@client.ru\nSubject: x\n\nx\n").bounce


def test_list_mail_is_a_mailing_list_of_low_importance():
    mail = read("mailing-list.eml")
    assert mail.mailing_list and mail.is_system
    assert mail.importance == "low"
    assert mail.subject == "Новая версия 8.3.26"
    assert mail.headers["list-id"] == "Vendor product updates <updates.vendor.example>"


def test_our_own_mail_coming_back_is_a_loop():
    assert read("own-mail-returned.eml").loop
    plain = b"From: Support@Example.com\nSubject: x\n\nx\n"
    assert parse(plain, own_addresses=SUPPORT).loop
    assert not parse(plain).loop


@pytest.mark.parametrize("header, importance", [
    ("Importance: low", "low"), ("X-Priority: 2 (High)", "high"), ("X-Priority: 3", None),
    ("Priority: urgent", "high"), ("X-MSMail-Priority: Low", "low"),
])
def test_importance_comes_from_any_of_the_priority_headers(header, importance):
    assert parse(f"From: a@b.c\n{header}\n\nx\n".encode()).importance == importance


def _auth(mail, trusted=("mx.example.com",)):
    return authresults.read(mail.authentication_results, trusted, mail.from_address)


def test_dmarc_failure_is_an_authentication_failure():
    mail = read("dmarc-fail.eml")
    assert _auth(mail).failed
    assert "dmarc=fail" in mail.headers["authentication-results"]


def test_spf_failure_counts_only_when_dmarc_did_not_pass():
    assert _auth(read("spf-fail.eml")).failed
    assert not _auth(read("spf-fail-dmarc-pass.eml")).failed


def test_authentication_results_of_servers_not_ours_are_not_read():
    # RFC 8601 section 5: only the authserv-id of our own receiving server counts.
    assert not _auth(read("dmarc-fail.eml"), trusted=("mx.ours.example",)).failed
    assert not _auth(read("dmarc-fail.eml"), trusted=()).failed


# ---- what is missing is made up stably, and said ------------------------------------


def test_mail_without_message_id_gets_one_stable_for_its_bytes():
    raw = (MAIL / "no-message-id.eml").read_bytes()
    mail = parse(raw)
    digest = hashlib.sha256(raw).hexdigest()
    assert mail.message_id == f"derived-{digest[:32]}@assistant.invalid"
    assert mail.derived_message_id and parse(raw).message_id == mail.message_id
    assert (mail.content_hash, mail.size) == (digest, len(raw))


@pytest.mark.parametrize("header, message_id", [
    ("Message-ID: <abc@client.ru>", "abc@client.ru"),
    ("Message-ID: abc@client.ru (sloppy mailer)", "abc@client.ru"),
    ("Message-ID:   <abc@client.ru>  ", "abc@client.ru"),
    ("Message-ID: 20250303.1234", "20250303.1234"),
])
def test_message_ids_are_kept_without_angle_brackets(header, message_id):
    mail = parse(f"From: a@b.c\n{header}\n\nx\n".encode())
    assert (mail.message_id, mail.derived_message_id) == (message_id, False)


@pytest.mark.parametrize("header", ["Message-ID: <>", "Message-ID:", "Message-ID: two words"])
def test_empty_or_meaningless_message_ids_are_derived(header):
    mail = parse(f"From: a@b.c\n{header}\n\nx\n".encode())
    assert mail.derived_message_id and mail.message_id.startswith("derived-")


def test_garbled_date_reads_as_none_with_a_note():
    mail = read("no-message-id.eml")
    assert mail.date is None
    assert any(note.startswith("unreadable Date") for note in mail.notes)


def test_date_without_time_zone_is_read_as_utc():
    mail = parse(b"From: a@b.c\nDate: Mon, 3 Mar 2025 10:00:00 -0000\n\nx\n")
    assert mail.date == datetime(2025, 3, 3, 10, 0, tzinfo=timezone.utc)
    mail = parse(b"From: a@b.c\nDate: Mon, 3 Mar 2025 10:00:00 +0300\n\nx\n")
    assert mail.date.utcoffset() == timedelta(hours=3)


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty message"),
    (b"\r\n\r\n", "empty message"),
    (bytes(range(256)) * 8, "binary data, not mail"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "binary data, not mail"),
    (b"Just some words\nwith no headers at all\n", "no headers"),
    (b"Foo: bar\n\nbody\n", "no mail headers"),
])
def test_bytes_that_are_not_mail_are_refused_with_a_one_line_reason(raw, reason):
    with pytest.raises(Unparseable) as refused:
        parse(raw)
    assert str(refused.value).startswith(reason) and "\n" not in str(refused.value)
