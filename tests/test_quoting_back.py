"""Letters that quote the client back quote what the client wrote now, never the history
their mail program put below it."""

from __future__ import annotations

from support import mail
from test_approval_e2e import cycle, deliver, inbox_of, world  # noqa: F401  (fixture)

HISTORY = "Отчёт по остаткам не формируется с утра"


def test_the_acknowledgement_quotes_the_new_words_not_the_quoted_history(world, dovecot,
                                                                          smtp_sink):
    app, daemon, support, _consultant, client = world
    body = ("Принтер в бухгалтерии снова не печатает.\n\n"
            "пн, 3 мар. 2025 г. в 10:00, Анна Соколова <anna@romashka.example>:\n\n"
            f"> {HISTORY}.\n")
    deliver(smtp_sink, mail(sender=client, to=support, subject="Принтер", body=body), support)
    cycle(daemon)
    [ack] = inbox_of(dovecot, client)
    assert "Принтер в бухгалтерии снова не печатает" in ack.get_content()
    assert HISTORY not in ack.get_content()


def test_a_mail_of_nothing_but_history_is_not_quoted_back_at_all(world, dovecot, smtp_sink):
    app, daemon, support, _consultant, client = world
    body = ("-----Original Message-----\nFrom: Анна Соколова <anna@romashka.example>\n"
            "Sent: Monday, March 3, 2025 10:00 AM\nTo: support\nSubject: Отчёт\n\n"
            f"{HISTORY}.\n")
    deliver(smtp_sink, mail(sender=client, to=support, subject="Fw: Отчёт", body=body), support)
    cycle(daemon)
    [ack] = inbox_of(dovecot, client)
    assert HISTORY not in ack.get_content()
