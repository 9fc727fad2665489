"""Reply formats by family: attribution lines, header blocks and separators as mail programs
write them in many languages, phone footers, and the typed sign-off that ends a reply."""

from __future__ import annotations

import pytest

from assistant.mail.quoting import read_reply, visible_text

NEW = "Экспорт всё ещё не работает, лог во вложении."
OLD = "> Попробуйте выгрузить отчёт ещё раз.\n> Служба поддержки"


@pytest.mark.parametrize("attribution", [
    # Gmail's wording in each language (date first or name first, a verb or none)
    "пн, 3 бер. 2025 р. о 10:00 Олена Коваль <o@example.com> пише:",
    "3 Mar 2025 Pzt, 10:00 tarihinde Ali Veli <a@example.com> şunu yazdı:",
    "pon., 3 mar 2025 o 10:00 Jan Kowalski <j@example.com> napisał(a):",
    "po 3. 3. 2025 v 10:00 odesílatel Jan Novák <j@example.com> napsal:",
    "mån 3 mars 2025 kl. 10:00 skrev Anna Berg <a@example.com>:",
    "man. 3. mar. 2025 kl. 10.00 skrev Anna Holm <a@example.com>:",
    "ma 3.3.2025 klo 10.00 Anna Virtanen (a@example.com) kirjoitti:",
    "2025年3月3日(月) 10:00 山田太郎 <t@example.com>:",
    "Ann Lee <a@example.com> 于2025年3月3日周一 10:00写道：",
    "Ann Lee <a@example.com> 於 2025年3月3日 週一 上午10:00寫道：",
    "2025년 3월 3일 (월) 오전 10:00, Ann Lee <a@example.com>님이 작성:",
    "Em seg., 3 de mar. de 2025 às 10:00, Ann Lee <a@example.com> escreveu:",
    "Il giorno lun 3 mar 2025 alle ore 10:00 Ann Lee <a@example.com> ha scritto:",
    "Ann Lee <a@example.com> ezt írta (időpont: 2025. márc. 3., H, 10:00):",
    # Thunderbird's and others' wording
    "03.03.2025 10:00, Олена Коваль пише:",
    "03.03.2025 10:00 tarihinde Ali Veli yazdı:",
    "W dniu 3.03.2025 o 10:00, Jan Kowalski pisze:",
    "Dne 03. 03. 25 v 10:00 Jan Novák napsal(a):",
    "Den 2025-03-03 kl. 10:00, skrev Anna Berg:",
    "Anna Virtanen kirjoitti 3.3.2025 klo 10.00:",
    "2025-03-03 오전 10:00에 Ann Lee 이(가) 쓴 글:",
    "Em 03/03/2025 10:00, Ann Lee escreveu:",
    "2025. 03. 03. 10:00 keltezéssel, Ann Lee írta:",
    # Apple Mail and Thunderbird in Turkish and Ukrainian
    "5 Mar 2024 tarihinde 14:32 saatinde, Destek <s@example.com> şunları yazdı:",
    "5 бер. 2024 р. о 14:32 Підтримка <s@example.com> написав(-ла):",
    "вівторок, 5 березня 2024 р., 14:32 +02:00 від Підтримка <s@example.com>:",
    # Mail.ru with a bare address, marks a reader never sees inside the date
    "Пятница, 1 марта 2024, 9:05 +03:00 от support@example.com:",
    "вт, 5 мар. 2024\u202fг. в 14:32, Имя Фамилия <a@example.com>:",
    "On Tue, Mar 5, 2024 at 2:32\u202fPM Ann Lee <a@example.com> wrote:",
])
def test_attributions_in_many_languages_end_the_new_words(attribution):
    assert visible_text(f"{NEW}\n\n{attribution}\n{OLD}\n") == NEW
    # and without quote marks below them (an HTML quote flattened, a forwarded original)
    assert visible_text(f"{NEW}\n\n{attribution}\nстарый текст\nещё старый текст") == NEW


@pytest.mark.parametrize("block", [
    "Od: Jan <j@example.com>\nWysłano: poniedziałek, 3 marca 2025 10:00\nDo: Anna\nTemat: Eksport",
    "Od: Jan <j@example.com>\nOdesláno: pondělí 3. března 2025 10:00\nKomu: Anna\nPředmět: Export",
    "Från: Anna <a@example.com>\nSkickat: den 3 mars 2025 10:00\nTill: Erik\nÄmne: Export",
    "Fra: Anna <a@example.com>\nSendt: 3. marts 2025 10:00\nTil: Erik\nEmne: Eksport",
    "Lähettäjä: Anna <a@example.com>\nLähetetty: maanantai 3. maaliskuuta 2025 10.00\n"
    "Vastaanottaja: Erik\nAihe: Vienti",
    "Kimden: Ali <a@example.com>\nGönderildi: 3 Mart 2025 Pazartesi 10:00\nKime: Veli\nKonu: Rapor",
    "Feladó: Ann <a@example.com>\nElküldve: 2025. március 3. 10:00\nCímzett: Bob\nTárgy: Export",
    "差出人: 山田 <t@example.com>\n送信日時: 2025年3月3日 10:00\n宛先: 佐藤\n件名: 輸出",
    "发件人: \"王\"<w@example.com>;\n发送时间: 2025年3月3日(星期一) 上午10:00\n收件人: 李\n主题: 导出",
    "寄件者: 王 <w@example.com>\n寄件日期: 2025年3月3日 上午 10:00\n收件者: 李\n主旨: 匯出",
    "보낸 사람: 김 <k@example.com>\n보낸 날짜: 2025년 3월 3일 월요일 오전 10:00\n받는 사람: 이\n제목: 보고서",
    "De: Ann <a@example.com>\nEnviado: segunda-feira, 3 de março de 2025 10:00\nPara: Bob\n"
    "Assunto: Exportação",
    "Від: Олена <o@example.com>\nНадіслано: 3 березня 2025 р. 10:00\nКому: Іван\nТема: Експорт",
    "De la: Ann <a@example.com>\nTrimis: luni, 3 martie 2025 10:00\nCătre: Bob\nSubiect: Export",
    "-----원본 메시지-----\n보낸 사람: 김 <k@example.com>\n제목: 보고서",
    "------------------ 原始邮件 ------------------\n发件人: 王 <w@example.com>",
    "------------------ Original ------------------\nFrom: Ann <a@example.com>",
    "-------- Oprindelig besked --------\nFra: Anna <a@example.com>",
    "-------- Orijinal mesaj --------\nKimden: Ali <a@example.com>",
    "-------- 転送メッセージ --------\n差出人: 山田 <t@example.com>",
    "-------- Оригінальний лист --------\nВід: Підтримка <s@example.com>",
    "Kimden: Destek <s@example.com>\nGönderilme tarihi: 5 Mart 2024 Salı 14:32\nKime: Ali\n"
    "Konu: Rapor",
])
def test_header_blocks_and_separators_in_many_languages_end_the_new_words(block):
    assert visible_text(f"{NEW}\n\n{block}\n\nстарый текст\n") == NEW


def test_a_log_line_that_ends_in_an_address_is_not_an_attribution():
    text = f"{NEW}\n\n2025-03-03 10:05:05 WARN mail for user7@client.ru:\nqueued, retry in 5 min"
    assert visible_text(text) == text


def test_one_word_that_names_a_separator_is_prose_unless_it_is_fenced():
    text = f"{NEW}\n\nOriginal:\nthe old total was 12, now it is 14"
    assert visible_text(text) == text


@pytest.mark.parametrize("footer", [
    "Lähetetty iPhonesta", "iPhone'umdan gönderildi", "iPhone-ról küldve",
    "从我的iPhone发送", "나의 iPhone에서 보냄", "Inviato dal mio iPhone",
    "Verstuurd vanaf mijn iPhone", "Получить Outlook для Android",
])
def test_phone_footers_in_more_languages_are_cut(footer):
    reply = read_reply(f"{NEW}\n\n{footer}")
    assert (reply.visible, reply.signature) == (NEW, footer)


@pytest.mark.parametrize("text, new, signoff", [
    ("Hey man!\n\nThanks,\nRoman", "Hey man!", "Thanks,\nRoman"),
    ("Всё работает.\n\nСпасибо,\nАнна", "Всё работает.", "Спасибо,\nАнна"),
    ("Works now.\n\nBest,\nSarah", "Works now.", "Best,\nSarah"),
    ("Сервер: APP-01\nОшибка: timeout\n\nСпасибо!\nОльга", "Сервер: APP-01\nОшибка: timeout",
     "Спасибо!\nОльга"),
    ("Fine by me.\n\nCheers -- Bob", "Fine by me.", "Cheers -- Bob"),
    ("Експорт не працює.\n\nЗ повагою,\nОлена Коваль", "Експорт не працює.",
     "З повагою,\nОлена Коваль"),
    ("Rapor hâlâ boş.\n\nSaygılarımla,\nAli", "Rapor hâlâ boş.", "Saygılarımla,\nAli"),
    ("Eksport nie działa.\n\nPozdrawiam\nKasia", "Eksport nie działa.", "Pozdrawiam\nKasia"),
])
def test_a_typed_sign_off_and_name_that_end_the_reply_are_cut(text, new, signoff):
    reply = read_reply(text)
    assert (reply.visible, reply.signoff, reply.signature) == (new, signoff, "")


def test_a_sign_off_above_a_footer_or_a_signature_goes_with_it():
    reply = read_reply("Done.\n\nBest regards,\nAnn Lee\n\nSent from my iPhone")
    assert (reply.visible, reply.signoff, reply.signature) == (
        "Done.", "Best regards,\nAnn Lee", "Sent from my iPhone")
    reply = read_reply("Done.\n\nRegards,\n-- \nAnn Lee\nACME Corp, +1 555 0100")
    assert (reply.visible, reply.signoff) == ("Done.", "Regards,")
    reply = read_reply("Blah blah.\nThanks,\n-Lev")
    assert (reply.visible, reply.signoff, reply.signature) == ("Blah blah.", "Thanks,", "-Lev")


def test_a_sign_off_above_the_quoted_history_stays_only_the_end_of_the_mail_is_cut():
    top = "Works now.\n\nThanks,\nSome One"
    history = "On Mon, Feb 1, 2016 at 6:32 PM, Jeff <jeff@example.com> wrote:\n> Try again."
    assert visible_text(f"{top}\n\n{history}") == top
    assert visible_text(f"{top}\n\n> Try again.") == top
    assert visible_text(f"> Try again.\n\n{top}") == "Works now."


@pytest.mark.parametrize("text", [
    "Thanks,\nRoman",                                   # nothing above: the whole mail
    "Done.\n\nThanks!",                                 # a sign-off alone carries no name
    "Done.\n\nThanks, Roman",                           # may be the writer thanking Roman
    "Done.\n\nThanks,\nthe export works again",         # a sentence, not a name
    "Done.\n\nThanks for the quick fix,\nRoman",        # a sentence, not a sign-off
    "Done.\n\nСпасибо,\nАнна\nP.S. Счёт приложила.",   # the name does not end the mail
    "Steps:\nBest\nWorst",                              # a word of the list, not a sign-off
])
def test_what_only_looks_like_a_sign_off_stays(text):
    reply = read_reply(text)
    assert reply.visible == text and reply.signoff == ""


@pytest.mark.parametrize("text, new", [
    ("Готово.\n\nС уважением, Иван Петров", "Готово."),
    ("Fixed.\n\nBest regards, John", "Fixed."),
    ("Erledigt.\n\nMit freundlichen Grüßen, Max Mustermann", "Erledigt."),
    ("Fixed.\n\nThanks, Roman", "Fixed.\n\nThanks, Roman"),      # may thank Roman
    ("Готово.\n\nС уважением, коллеги из отдела", "Готово.\n\nС уважением, коллеги из отдела"),
])
def test_a_closing_and_a_name_on_one_line_are_cut_when_the_closing_addresses_nobody(text, new):
    assert visible_text(text) == new


@pytest.mark.parametrize("text", [
    "Fixed.\n\n____\nBob Smith\nAcme",
    "Fixed.\n\n--\u00a0\nBob",
    "Fixed.\n\nThanks\nJohn\n\nJohn Smith | Acme Inc | +1 555 0100",
    "Fixed.\n\nJohn Smith · Head of Finance · ACME Corp",
])
def test_signature_delimiters_and_one_line_signatures_are_cut(text):
    assert visible_text(text) == "Fixed."


def test_a_line_of_words_split_by_bars_is_not_a_signature():
    text = "Fixed.\n\nExport | Import | Reports"
    assert visible_text(text) == text


@pytest.mark.parametrize("new", ["...\n0", "***", "Thanks,\nRoman", "--\nIvan"])
def test_new_words_that_look_like_a_signature_alone_are_still_the_new_words(new):
    reply = read_reply(f"{new}\n\nOn Mon, Mar 3, 2025 at 10:00 AM Ann <a@b.c> wrote:\n> old")
    assert reply.visible == new and not reply.only_history
