"""What the client receives after a consultant's word, on real Dovecot and SMTP (issue 15, items 1-3, 5, 6)."""

from __future__ import annotations

import pytest

from assistant.cli import commands as cli
from assistant.errors import AssistantError, Rejected
from assistant.store.models import Draft, Quarantine
from mailworld import make_world, vouched

SIGN_OFF = "Согласовано\n\nС уважением, Мария Иванова\nСлужба поддержки\n+7 (495) 123-45-67"


@pytest.fixture
def world(tmp_path, dovecot, new_user, settings_for, smtp_sink):
    return make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink)


def asked(world, situation="need_info", **extra):
    """The client writes, the ticket is acknowledged, a draft is put to Maria: her request mail."""
    world.write(world.client, "Не проводится накладная", "Добрый день! Накладная не проводится с утра.")
    world.cycle()
    extra = extra or {"missing": ["номер накладной"]}
    made = world.app.drafts.new(1, situation, **extra)
    world.cycle()
    return made["id"], world.inbox(world.consultant)[-1]


def letters_to_client(world):
    """What the client got after the acknowledgement."""
    return world.texts(world.client)[1:]


# -- 1: a sign-off is not a letter ------------------------------------------------------------
@pytest.mark.parametrize("answer", [
    SIGN_OFF,
    "Ок\n\nОтправлено с iPhone",
    "Согласовано\nМария",
    "Approved.\n\nBest regards,\nMaria Ivanova\nSupport team",
])
def test_an_approval_with_a_sign_off_sends_the_draft_not_the_sign_off(world, answer):
    number, request = asked(world)
    world.reply(world.consultant, request, answer)
    world.cycle()
    [letter] = letters_to_client(world)
    assert "номер накладной" in letter and "С уважением" not in letter and "iPhone" not in letter
    assert "+7 (495)" not in letter and "Best regards" not in letter
    assert world.draft(number).status == "sent"


def test_an_unclear_answer_is_asked_back_and_nothing_reaches_the_client(world):
    number, request = asked(world)
    world.reply(world.consultant, request, "Ок\n\nАнна, добрый день! Пришлите, пожалуйста, номер "
                                           "накладной, и я сразу посмотрю.")
    world.cycle()
    assert letters_to_client(world) == []
    question = world.inbox(world.consultant)[-1]
    assert "Уточните" in question["Subject"] and "ничего не отправил" in question.get_content()
    # Answering the question decides the draft as the request would have.
    world.reply(world.consultant, question, "Согласовано")
    world.cycle()
    assert len(letters_to_client(world)) == 1 and world.draft(number).status == "sent"


def test_a_letter_written_in_reply_replaces_the_draft(world):
    number, request = asked(world)
    edited = ("Анна, добрый день! Пришлите, пожалуйста, номер накладной — посмотрю сегодня до 16:00.\n\n"
              "Мария")
    world.reply(world.consultant, request, edited)
    world.cycle()
    [letter] = letters_to_client(world)
    assert letter.strip() == edited


# -- 2: a second approval sends nothing -------------------------------------------------------
def test_approving_twice_from_the_command_line_sends_one_letter(world, tmp_path, capsys):
    number, _request = asked(world)
    assert world.app.drafts.approve(number, world.consultant).text == "approved"
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "{world.app.settings["database.url"]}"\n'
                      f'[support]\naddress = "{world.support}"\n', encoding="utf-8")
    assert cli.main(["--config", str(config), "drafts", "approve", str(number), "--anyway"]) == 1
    said = capsys.readouterr().err
    assert f"draft {number} was already approved" in said and "nothing was changed" in said
    world.cycle()
    world.clock.advance(seconds=20)
    with pytest.raises(Rejected, match="already sent"):
        world.app.drafts.approve(number, world.consultant, anyway=True)
    world.cycle()
    assert len(letters_to_client(world)) == 1
    changes = [(c.old, c.new) for c in world.history(1) if c.field == f"draft {number}"]
    assert changes == [("pending", "approved")]


def test_a_replayed_approval_by_mail_is_refused_with_a_reason_not_quarantined(world):
    number, request = asked(world)
    world.reply(world.consultant, request, "Согласовано")
    world.cycle()
    world.reply(world.consultant, request, "Согласовано")       # the same «ok» again
    world.cycle()
    assert len(letters_to_client(world)) == 1
    assert world.rows(Quarantine) == []
    told = world.inbox(world.consultant)[-1]
    assert "ничего не изменил" in told["Subject"] and "уже отправили" in told.get_content()
    assert any("refused: " in c.why and c.who == "assistant" for c in world.history(1))


def test_an_approval_whose_dmarc_failed_at_our_server_is_refused(world):
    number, request = asked(world)
    domain = world.consultant.rpartition("@")[2]
    world.reply(world.consultant, request, "Согласовано",
                Authentication_Results=vouched(domain, "fail"))
    world.cycle()
    assert letters_to_client(world) == [] and world.draft(number).status == "pending"
    refused = [c.why for c in world.history(1) if "refused" in c.why]
    assert refused and "DMARC failed" in refused[0]


# -- 3: an edit into flagged text -------------------------------------------------------------
FLAGGED = "Анна, добрый день! Приносим извинения за доставленные неудобства, пришлите номер накладной."


def test_an_edit_the_tone_checker_flags_is_kept_and_asked_again(world):
    number, _request = asked(world)
    said = world.app.drafts.edit(number, FLAGGED, world.consultant)
    assert said.text.startswith("held")
    world.cycle()
    requests = [m for m in world.inbox(world.consultant) if "Черновик ответа" in m["Subject"]]
    assert len(requests) == 2 and requests[0]["Message-ID"] != requests[1]["Message-ID"]
    assert "Приносим извинения" in requests[1].get_content()
    world.reply(world.consultant, requests[1], "отправить как есть")
    world.cycle()
    [letter] = letters_to_client(world)
    assert letter.strip() == FLAGGED


def test_an_edit_by_mail_into_flagged_text_is_not_an_internal_error(world):
    number, request = asked(world)
    world.reply(world.consultant, request, FLAGGED)
    world.cycle()
    assert world.rows(Quarantine) == []
    assert world.draft(number).text.strip() == FLAGGED and world.draft(number).status == "pending"
    again = world.inbox(world.consultant)[-1]
    assert "Приносим извинения" in again.get_content() and again["Message-ID"] != request["Message-ID"]


# -- 5: a blocked acknowledgement -------------------------------------------------------------
def test_a_blocked_acknowledgement_is_not_approved_and_the_first_report_claims_no_earlier_letter(
        tmp_path, dovecot, new_user, settings_for, smtp_sink):
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink,
                       approval__auto_mail_per_sender_per_day=1)
    world.write(world.client, "Первый вопрос", "Добрый день! Не печатается счёт, подскажите.")
    world.write(world.client, "Второй вопрос", "Добрый день! И ещё: не выгружается отчёт по остаткам.")
    world.cycle()
    assert len(world.inbox(world.client)) == 1          # the cap let one acknowledgement through
    ack = world.rows(Draft, Draft.ticket_id == 2, Draft.situation == "acknowledgement")[0]
    assert ack.status == "blocked" and world.ticket(2).acknowledgement == "blocked"
    world.clock.advance(days=3)
    world.schedule()
    report = [t for t in world.texts(world.client) if "остаткам" in t][0]
    assert "прошлого письма" not in report and "прошлого раза" not in report
    assert "вопрос у нас" in report.lower()


# -- 6: no empty sections, names and zones in English -----------------------------------------
def test_need_info_without_items_and_the_manager_summary_are_refused_plainly(world):
    world.write(world.client, "Вопрос", "Добрый день! Не проводится накладная.")
    world.cycle()
    with pytest.raises(AssistantError, match="needs what the client should send"):
        world.app.drafts.new(1, "need_info", missing=[])
    with pytest.raises(Rejected, match="assistant report"):
        world.app.drafts.new(1, "manager_summary")
    world.cycle()
    assert len(world.inbox(world.client)) == 1 and world.inbox(world.consultant) == []


def test_a_resolved_letter_without_a_check_has_no_empty_heading(world):
    number, request = asked(world, "resolved", resolution="Провели накладную заново.", check="")
    world.reply(world.consultant, request, "Согласовано")
    world.cycle()
    [letter] = letters_to_client(world)
    assert "Провели накладную заново." in letter
    assert "Как проверить" not in letter and "Как убедиться" not in letter


def test_english_letters_carry_the_consultants_english_name_and_the_time_zone(
        tmp_path, dovecot, new_user, settings_for, smtp_sink):
    from dataclasses import replace
    world = make_world(tmp_path, dovecot, new_user, settings_for, smtp_sink,
                       consultants=lambda maria: (replace(maria, name_en="Maria Ivanova"),))
    world.write(world.client, "Export fails", "Hello, the stock report export fails every time.")
    world.cycle()
    world.app.drafts.new(1, "need_info", missing=["the invoice number"])
    world.cycle()
    world.reply(world.consultant, world.inbox(world.consultant)[-1], "ok")
    world.cycle()
    letter = world.inbox(world.client)[-1]
    text = letter.get_content()
    assert "Maria Ivanova" in text and "Мария" not in text and "Maria Ivanova" in letter["From"]
    assert "Moscow time (UTC+3)" in text
    assert "Maria" not in world.texts(world.client)[0]      # the acknowledgement: nobody knew yet


def test_a_draft_decided_by_mail_counts_once_in_the_history(world):
    number, request = asked(world)
    world.reply(world.consultant, request, SIGN_OFF)
    world.cycle()
    world.clock.advance(minutes=5)
    world.reply(world.consultant, request, "Отклонить")
    world.cycle()
    assert world.draft(number).status == "sent"
    assert [c.new for c in world.history(1) if c.field == f"draft {number}"][0] == "approved"
    assert len(letters_to_client(world)) == 1
