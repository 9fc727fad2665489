"""Generated mixed mail for the benchmarks: ru/en, HTML, KOI8-R/cp1251, some big attachments."""

from __future__ import annotations

import random
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.policy import SMTP
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone

RU = [
    "Добрый день! С утра не проводятся накладные, программа пишет ошибку проведения.",
    "Подскажите, пожалуйста, как выгрузить отчёт по остаткам в Excel?",
    "Не срочно: поменяйте, пожалуйста, реквизиты в карточке контрагента.",
    "Прошу предоставить доступ к базе бухгалтерии новому сотруднику.",
    "Счёт за октябрь выставлен дважды, проверьте, пожалуйста.",
    "После обновления не открывается форма заказа, нужно до конца дня.",
    "В отчёте по продажам за квартал не сходятся итоги с бухгалтерией.",
]
EN = [
    "Hi, the monthly report fails with an invalid session error since this morning.",
    "Could you add a new user to the reporting portal? No rush.",
    "We were charged twice for invoice 2026-311, please refund one.",
    "How do I change the logo on the invoice template?",
    "The export to CSV drops the last column, could you take a look?",
    "After the update the order form takes a minute to open.",
]
# Business-stopping mail is rare in a real mailbox: about one message in thirty.
CRITICAL_RU = "Отгрузка остановилась, склад стоит, машины ждут у ворот!"
CRITICAL_EN = "Shipments have stopped: the warehouse cannot post any delivery note."


def message(number: int, rng: random.Random, senders: int = 3000) -> bytes:
    """One message; the mix follows the measured corpus (5 % with 100 KB–2 MB attachments).
    Message `number` comes from client number % `senders`, so clients write again."""
    russian = rng.random() < 0.6
    sentences = RU if russian else EN
    body = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 8)))
    if rng.random() < 1 / 30:
        body = (CRITICAL_RU if russian else CRITICAL_EN) + " " + body
    body += "\n\n" + ("С уважением,\nКлиент" if russian else "Best regards,\nClient") + "\n"
    sender = f"client{number % senders}@company{number % senders % 300}.example"
    subject = body.split(".")[0][:60]
    when = format_datetime(datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(minutes=number))
    kind = rng.random()
    if russian and kind < 0.15:
        charset = rng.choice(["koi8-r", "windows-1251"])
        part = MIMEText(body.replace("ё", "е"), "plain", charset)
        _headers(part, sender, subject, when, number)
        return part.as_bytes()
    mail = EmailMessage(policy=SMTP)
    _headers(mail, sender, subject, when, number)
    if kind < 0.35:
        html = "<html><body>" + "".join(f"<p>{s}</p>" for s in body.split("\n\n")) + "</body></html>"
        mail.set_content(body)
        mail.add_alternative(html, subtype="html")
    else:
        mail.set_content(body)
    if rng.random() < 0.05:
        size = rng.randint(100 * 1024, 2 * 1024 * 1024)
        mail.add_attachment(rng.randbytes(size), maintype="application", subtype="octet-stream",
                            filename=f"log-{number}.zip")
    return mail.as_bytes()


def _headers(mail, sender: str, subject: str, when: str, number: int) -> None:
    mail["From"] = sender
    mail["To"] = "support@example.com"
    mail["Subject"] = subject
    mail["Date"] = when
    mail["Message-ID"] = f"<bench-{number}@example.net>"


def corpus(count: int, seed: int = 20261123) -> list[bytes]:
    rng = random.Random(seed)
    return [message(number, rng) for number in range(count)]
