"""Helpers the tests share: settings on a temporary database, a fixed clock, mail builders."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from assistant.app import App
from assistant.config import Person, Settings, defaults

SUPPORT = "support@example.com"
CONSULTANT = Person("Мария Иванова", "maria@example.com", ("ru", "en"))
# A Monday morning in Moscow, inside business hours.
MONDAY_10 = datetime(2026, 11, 23, 7, 0, tzinfo=timezone.utc)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = MONDAY_10):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def settings_in(folder: Path, **changes) -> Settings:
    """Settings for a test: SQLite and data under `folder`, one consultant, no servers."""
    values = dict(database__url=f"sqlite:///{folder / 'assistant.db'}",
                  storage__data_dir=str(folder / "data"), support__address=SUPPORT,
                  support__company_domains=["example.com"])
    base = defaults().with_values(**{**values, **changes})
    return replace(base, consultants=(CONSULTANT,), base_dir=folder)


def make_app(folder: Path, clock: Clock | None = None, **changes) -> App:
    return App(settings_in(folder, **changes), clock=clock or Clock())


def mail(sender: str = "Анна Соколова <anna@romashka.example>", subject: str = "Вопрос",
         body: str = "Добрый день! Подскажите, пожалуйста, как выгрузить отчёт.",
         msgid: str | None = "q1@romashka.example", to: str = SUPPORT, **headers) -> bytes:
    """A plain mail as raw bytes; header names use _ for - (In_Reply_To)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(MONDAY_10)
    if msgid:
        message["Message-ID"] = f"<{msgid}>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message.as_bytes()
