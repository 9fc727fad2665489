"""The command line as scripts call it: JSON shapes, exit codes, mbox/Maildir/folder import."""

from __future__ import annotations

import json
import mailbox
import os
import subprocess
import sys

import pytest

from assistant.app import App
from assistant.cli import commands as cli
from support import MONDAY_10, Clock, mail, make_app

CONTRACT_PARSE_KEYS = {"file", "message_id", "from", "subject", "language", "priority", "critical",
                       "priority_reasons", "visible_text", "auto_reply", "bounce", "attachments"}


def run(tmp_path, *args, stdin=None):
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_CONFIG"}
    return subprocess.run([sys.executable, "-m", "assistant", *args], cwd=tmp_path, env=env,
                          input=stdin, capture_output=True, timeout=300)


@pytest.fixture
def configured(tmp_path):
    assert run(tmp_path, "init").returncode == 0
    return tmp_path


def test_init_writes_a_commented_config_and_creates_the_database(tmp_path):
    result = run(tmp_path, "init")
    assert result.returncode == 0
    text = (tmp_path / "assistant.toml").read_text(encoding="utf-8")
    assert "[imap]" in text and "password_env" in text and "# " in text
    assert (tmp_path / "assistant.db").exists()


def test_import_of_a_folder_an_mbox_and_a_maildir_counts_every_fate(configured):
    folder = configured / "eml"
    folder.mkdir()
    (folder / "1.eml").write_bytes(mail())
    (folder / "2.eml").write_bytes(mail(msgid="q2@romashka.example", In_Reply_To="<q1@romashka.example>"))
    box = mailbox.mbox(configured / "old.mbox")
    box.add(mail(msgid="m1@x.example", sender="c@x.example"))
    box.add(mail(msgid="m2@x.example", sender="d@x.example", Auto_Submitted="auto-replied"))
    box.flush()
    maildir = mailbox.Maildir(configured / "Maildir")
    maildir.add(mail())                          # already imported from the folder
    maildir.add(b"\x00\x01 broken")
    result = run(configured, "import", "eml", "old.mbox", "Maildir", "--json")
    assert result.returncode == 0, result.stderr
    tally = json.loads(result.stdout)
    assert tally == {"read": 6, "new_tickets": 2, "replies": 1, "duplicates": 1, "system": 1,
                     "quarantined": 1}
    again = json.loads(run(configured, "import", "eml", "--json").stdout)
    assert again == {"read": 2, "new_tickets": 0, "replies": 0, "duplicates": 2, "system": 0,
                     "quarantined": 0}


def test_parse_json_carries_the_contract_keys_one_object_per_file(tmp_path):
    (tmp_path / "a.eml").write_bytes(mail(subject="Срочно: отгрузка остановилась",
                                          body="Отгрузка остановилась, склад стоит."))
    (tmp_path / "b.eml").write_bytes(mail(sender="john@acme.example", subject="Question",
                                          body="Hi, how do I export the report? No rush."))
    result = run(tmp_path, "parse", "a.eml", "b.eml", "--json")
    assert result.returncode == 0, result.stderr
    first, second = [json.loads(line) for line in result.stdout.decode().splitlines()]
    assert CONTRACT_PARSE_KEYS <= first.keys()
    assert first["file"] == "a.eml" and second["file"] == "b.eml"
    assert first["language"] == "ru" and first["critical"] is True
    assert second["language"] == "en" and second["priority"] == "low"
    assert not (tmp_path / "assistant.db").exists(), "parse must not write a database"


def test_parse_reads_standard_input(tmp_path):
    result = run(tmp_path, "parse", "-", "--json", stdin=mail())
    assert json.loads(result.stdout)["file"] == "-"


def test_parse_of_a_missing_file_exits_1_with_one_line(tmp_path):
    result = run(tmp_path, "parse", "nope.eml")
    assert result.returncode == 1
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_usage_errors_exit_2(tmp_path):
    assert run(tmp_path, "tickets", "show").returncode == 2
    assert run(tmp_path, "no-such-command").returncode == 2


def test_tickets_list_json_is_sorted_by_what_is_due_first(configured):
    (configured / "low.eml").write_bytes(mail(msgid="l@x.example", sender="l@x.example",
                                              subject="Вопрос", body="Не срочно: как поменять пароль?"))
    (configured / "crit.eml").write_bytes(mail(msgid="c@x.example", sender="c@x.example",
                                               subject="Авария", body="Отгрузка остановилась, склад стоит!"))
    assert run(configured, "import", "low.eml", "crit.eml").returncode == 0
    listed = json.loads(run(configured, "tickets", "list", "--json").stdout)["tickets"]
    assert [t["client"] for t in listed] == ["c@x.example", "l@x.example"]
    for key in ("id", "ref", "subject", "client", "status", "priority", "due"):
        assert key in listed[0]
    human = run(configured, "tickets").stdout.decode()
    # Imported mail keeps its own date, so against the command's wall clock the time is
    # either left or past; which one depends on the day the suite runs, not on the code.
    assert "CRITICAL" in human and (" left" in human or "overdue " in human)


def test_a_consultant_override_is_recorded_with_who_and_why(configured):
    (configured / "a.eml").write_bytes(mail())
    run(configured, "import", "a.eml")
    result = run(configured, "tickets", "set", "1", "priority=high", "--by", "maria@example.com",
                 "--why", "клиент позвонил")
    assert result.returncode == 0, result.stderr
    shown = json.loads(run(configured, "tickets", "show", "1", "--json").stdout)
    assert shown["priority"] == "high"
    change = [h for h in shown["history"] if h["field"] == "priority"][-1]
    assert change["who"] == "maria@example.com" and change["why"] == "клиент позвонил"
    assert run(configured, "tickets", "set", "1", "priority=urgent").returncode == 1


def test_check_tone_json_lists_findings_with_kind_and_span(tmp_path):
    text = "Вы допустили ошибку в документе. Приносим извинения за доставленные неудобства."
    result = run(tmp_path, "check-tone", "-", "--json", stdin=text.encode())
    findings = json.loads(result.stdout)["findings"]
    kinds = {f["kind"] for f in findings}
    assert {"blame", "boilerplate"} <= kinds
    for f in findings:
        assert text[f["start"]:f["end"]] == f["text"]
        assert {"rule", "suggestion"} <= f.keys()


def test_a_command_runs_at_the_time_and_with_the_parts_a_caller_gives(tmp_path):
    """`cli.main` takes its clock and its App factory from the caller: a change made by
    `tickets set` is stamped with the caller's time, on the App the caller can look into."""
    clock = Clock(MONDAY_10)
    made = []
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "assistant.db"}"\n', encoding="utf-8")
    number = make_app(tmp_path).walk.process(mail(subject="Не проходит оплата")).ticket_id

    def factory(settings, given_clock):
        made.append(App(settings, clock=given_clock))
        return made[-1]

    assert cli.main(["--config", str(config), "tickets", "set", str(number), "category=billing",
                     "--why", "счёт"], clock=clock, make_app=factory) == 0
    assert len(made) == 1 and made[0].clock is clock
    history = made[0].ticket_detail(number)["history"]
    assert [(h["field"], h["new"], h["at"]) for h in history if h["field"] == "category"] == [
        ("category", "billing", MONDAY_10.isoformat())]
