"""A dozen realistic sample mails for the demo: Russian and English, awkward on purpose."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.policy import SMTP
from email.utils import format_datetime

SUPPORT = "support@example.com"
BASE = datetime(2026, 11, 23, 9, 12, tzinfo=timezone(timedelta(hours=3)))


def _mail(sender: str, subject: str, body: str, minutes: int, msgid: str, **headers) -> EmailMessage:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = headers.pop("to", f"Поддержка <{SUPPORT}>")
    mail["Subject"] = subject
    mail["Date"] = format_datetime(BASE + timedelta(minutes=minutes))
    mail["Message-ID"] = f"<{msgid}>"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail


def critical_ru() -> bytes:
    return _mail("Анна Соколова <anna@romashka.example>", "Отгрузка остановилась",
                 "Добрый день!\n\nС утра у нас остановилась отгрузка: склад не может провести "
                 "ни одну накладную, программа пишет «ошибка проведения документа». Машины стоят "
                 "у ворот.\n\nПомогите, пожалуйста, как можно скорее.\n\n--\nАнна Соколова\n"
                 "ООО «Ромашка», руководитель склада\n+7 495 000-00-00\n", 0,
                 "CAK7x1@romashka.example").as_bytes()


def outlook_reply_ru() -> bytes:
    body = ("Накладные с утра с номерами 1201–1230, все с одной ошибкой. Скриншот пришлю отдельно.\n\n"
            "________________________________\n"
            "От: Анна Соколова <anna@romashka.example>\n"
            "Отправлено: 23 ноября 2026 г. 9:12\n"
            "Кому: Поддержка <support@example.com>\n"
            "Тема: Отгрузка остановилась\n\n"
            "Добрый день!\n\nС утра у нас остановилась отгрузка...\n")
    return _mail("Анна Соколова <anna@romashka.example>", "RE: Отгрузка остановилась", body, 14,
                 "CAK7x2@romashka.example", In_Reply_To="<CAK7x1@romashka.example>",
                 References="<CAK7x1@romashka.example>").as_bytes()


def login_en() -> bytes:
    return _mail("John Miller <john@acme.example>", "Can't log in to the reporting portal",
                 "Hi,\n\nsince this morning I get \"invalid session\" every time I log in to the "
                 "reporting portal. I need the monthly report by Friday.\n\nThanks,\nJohn\n\n"
                 "Sent from my iPhone\n", 3, "20261123.0912@acme.example", to=SUPPORT).as_bytes()


def gmail_reply_en() -> bytes:
    body = ("It works in a private window, so maybe a cookie problem on my side?\n\n"
            "On Mon, 23 Nov 2026 at 09:15, John Miller <john@acme.example> wrote:\n"
            "> Hi,\n>\n> since this morning I get \"invalid session\" every time I log in.\n")
    return _mail("John Miller <john@acme.example>", "Re: Can't log in to the reporting portal",
                 body, 25, "20261123.0937@acme.example", to=SUPPORT,
                 In_Reply_To="<20261123.0912@acme.example>",
                 References="<20261123.0912@acme.example>").as_bytes()


def out_of_office_ru() -> bytes:
    return _mail("Пётр Волков <petr@romashka.example>", "Автоматический ответ: Отгрузка остановилась",
                 "Я в отпуске до 30 ноября. По срочным вопросам пишите Анне Соколовой.\n", 16,
                 "ooo-1@romashka.example", Auto_Submitted="auto-replied",
                 X_Autoreply="yes").as_bytes()


def bounce() -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
        f"To: {SUPPORT}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(BASE + timedelta(minutes=30))}\r\n"
        "Message-ID: <bounce-77@mx.example.net>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\n"
        "Your message could not be delivered to one or more recipients.\r\n\r\n"
        "<old@gone.example>: host mx.gone.example said: 550 5.1.1 User unknown\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.net\r\n\r\n"
        "Final-Recipient: rfc822; old@gone.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b1--\r\n").encode()


def html_only_en() -> bytes:
    mail = EmailMessage(policy=SMTP)
    mail["From"] = "Lisa Chen <lisa@northwind.example>"
    mail["To"] = SUPPORT
    mail["Subject"] = "Invoice 2026-311 charged twice"
    mail["Date"] = format_datetime(BASE + timedelta(minutes=41))
    mail["Message-ID"] = "<n-311@northwind.example>"
    mail.set_content("<html><body><p>Hello,</p><p>our card was charged <b>twice</b> for invoice "
                     "2026-311 (see <a href='https://billing.example/inv/311'>the invoice</a>).</p>"
                     "<ul><li>first charge: 12 Nov</li><li>second charge: 13 Nov</li></ul>"
                     "<p>Could you refund the second one? No rush, end of the month is fine.</p>"
                     "<p>Lisa</p></body></html>", subtype="html")
    return mail.as_bytes()


def access_cp1251() -> bytes:
    text = ("Здравствуйте!\n\nПрошу предоставить доступ к базе 1С «Бухгалтерия» новому сотруднику "
            "Ольге Морозовой (olga@romashka.example), роль — бухгалтер.\n\nСпасибо!\nАнна\n")
    part = MIMEText(text, "plain", "windows-1251")
    part["From"] = "=?windows-1251?B?" + base64.b64encode(
        "Анна Соколова".encode("cp1251")).decode() + "?= <anna@romashka.example>"
    part["To"] = SUPPORT
    part["Subject"] = "=?windows-1251?B?" + base64.b64encode(
        "Доступ для нового бухгалтера".encode("cp1251")).decode() + "?="
    part["Date"] = format_datetime(BASE + timedelta(minutes=50))
    part["Message-ID"] = "<cp1251-1@romashka.example>"
    return part.as_bytes()


def attachment_ru() -> bytes:
    mail = _mail("Игорь Лебедев <igor@vector.example>", "Не проходят платежи",
                 "Добрый день. Со вчерашнего вечера не проходят платежи клиентов, "
                 "журнал ошибок во вложении.\n\nИгорь\n", 55, "vec-1@vector.example")
    mail.add_attachment(b"2026-11-22 21:04:11 ERROR payment gateway timeout\n" * 40,
                        maintype="text", subtype="plain", filename="журнал ошибок.log")
    mail.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(2048), maintype="image", subtype="png",
                        filename="screenshot.png")
    return mail.as_bytes()


def colleague_ru() -> bytes:
    return _mail("Иван Петров <ivan.petrov@example.com>", "Не печатает принтер на 3 этаже",
                 "Коллеги, принтер у переговорной на третьем этаже печатает пустые листы. "
                 "Не срочно, но к пятнице нужно распечатать договоры.\n\nИван\n", 62,
                 "int-1@example.com").as_bytes()


def newsletter_en() -> bytes:
    return _mail("Vendor News <news@vendor.example>", "November release notes",
                 "What's new this month: faster reports, a new API for invoices.\n", 70,
                 "news-11@vendor.example", List_Id="<news.vendor.example>",
                 List_Unsubscribe="<mailto:unsubscribe@vendor.example>",
                 Precedence="list").as_bytes()


def koi8_question_ru() -> bytes:
    text = ("Добрый день! Не срочно: подскажите, как выгрузить отчёт по остаткам в Excel? "
            "Кнопку сохранения в файл так и не нашла.\n\nМарина\n")
    part = MIMEText(text, "plain", "koi8-r")
    part["From"] = "marina@zarya.example"
    part["To"] = SUPPORT
    part["Subject"] = "=?koi8-r?B?" + base64.b64encode("Вопрос по отчёту".encode("koi8-r")).decode() + "?="
    part["Date"] = format_datetime(BASE + timedelta(minutes=75))
    part["Message-ID"] = "<koi8-1@zarya.example>"
    return part.as_bytes()


def stranger_on_ticket() -> bytes:
    return _mail("Unknown Person <someone@elsewhere.example>", "Re: [#1] Отгрузка остановилась",
                 "Пришлите, пожалуйста, все накладные этого клиента мне.\n", 80,
                 "x-1@elsewhere.example", to=SUPPORT).as_bytes()


def all_samples() -> list[tuple[str, bytes]]:
    """(what it shows, raw bytes), in the order they arrive."""
    return [
        ("a critical request in Russian", critical_ru()),
        ("an English request with a deadline, from an iPhone", login_en()),
        ("an Outlook reply with Russian quoted history", outlook_reply_ru()),
        ("an out-of-office auto-reply", out_of_office_ru()),
        ("a Gmail reply with quoted history", gmail_reply_en()),
        ("a bounce (DSN)", bounce()),
        ("an HTML-only billing question", html_only_en()),
        ("an access request in windows-1251", access_cp1251()),
        ("a request with attachments", attachment_ru()),
        ("a colleague from our own domain", colleague_ru()),
        ("a mailing-list newsletter", newsletter_en()),
        ("a KOI8-R question, not urgent", koi8_question_ru()),
        ("a stranger writing into someone else's ticket", stranger_on_ticket()),
    ]
