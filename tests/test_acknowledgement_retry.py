"""A new ticket's acknowledgement that could not be written is shown to the operator, counted
by `status`, and written again by `assistant tickets acknowledge N` once the cause is fixed."""

from __future__ import annotations

import email
import json
import secrets
import shutil
from email.policy import default as default_policy

import pytest

from assistant import cli
from support import Clock, mail, settings_in

BROKEN = "Subject: {{ ticket.no_such_field.deeper }}\n\n{{ nothing }}\n"


@pytest.fixture
def operator(tmp_path, smtp_sink):
    """A config with its own copy of the templates, SMTP to the sink; `run(...)` calls cli.main."""
    templates = tmp_path / "templates"
    shutil.copytree(settings_in(tmp_path / "stock").templates_dir, templates)
    config = tmp_path / "assistant.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "a.db"}"\n'
                      f'[storage]\ndata_dir = "{tmp_path / "data"}"\n'
                      f'[support]\naddress = "support@example.com"\n'
                      f'[paths]\ntemplates = "{templates}"\n'
                      f'[smtp]\nhost = "{smtp_sink.host}"\nport = {smtp_sink.port}\nsecurity = "none"\n',
                      encoding="utf-8")
    clock = Clock()

    def run(*argv: str) -> int:
        return cli.main(["--config", str(config), *argv], clock=clock)
    run.templates = templates
    return run


def break_acknowledgements(templates) -> dict:
    """Every acknowledgement template broken; returns what they said, to put it back."""
    kept = {path: path.read_text(encoding="utf-8")
            for path in templates.glob("replies/*/acknowledgement/*.j2")}
    assert kept
    for path in kept:
        path.write_text(BROKEN, encoding="utf-8")
    return kept


def client_inbox(dovecot, address: str) -> list[email.message.EmailMessage]:
    if not dovecot.has_user(address):
        return []
    return [email.message_from_bytes(raw, policy=default_policy) for raw in dovecot.messages(address)]


def test_a_failed_acknowledgement_is_shown_counted_and_sent_once_retried(
        operator, tmp_path, dovecot, capsys):
    client = f"anna-{secrets.token_hex(4)}@romashka.example"
    kept = break_acknowledgements(operator.templates)
    letter = tmp_path / "first.eml"
    letter.write_bytes(mail(sender=f"Анна Соколова <{client}>", subject="Не проводится накладная",
                            msgid=f"{secrets.token_hex(4)}@romashka.example"))
    assert operator("import", "--acknowledge", str(letter)) == 0
    assert operator("run", "--once") == 0
    capsys.readouterr()
    assert client_inbox(dovecot, client) == []

    # The operator sees it, with the template that broke, and how to write it again.
    assert operator("outbox", "list", "--json") == 0
    [row] = [r for r in json.loads(capsys.readouterr().out)["outbox"] if r["ticket"] == 1]
    assert row["kind"] == "acknowledgement" and row["status"] == "not sent"
    assert row["to"] == client and "ru/acknowledgement/" in row["error"]
    assert "assistant tickets acknowledge 1" in row["error"]
    assert operator("outbox", "list") == 0
    assert "not sent" in capsys.readouterr().out
    assert operator("status", "--json") == 1
    health = json.loads(capsys.readouterr().out)
    assert health["queues"]["acknowledgements_failed"] == 1
    assert any("acknowledgement of #1 was not sent" in p for p in health["problems"])

    # Retrying before the fix fails the same way, and says so again.
    assert operator("tickets", "acknowledge", "1") == 0
    assert "due again" in capsys.readouterr().out
    assert operator("run", "--once") == 0
    assert client_inbox(dovecot, client) == []

    for path, text in kept.items():                # the operator fixes the template
        path.write_text(text, encoding="utf-8")
    assert operator("tickets", "acknowledge", "1", "--by", "ops@example.com") == 0
    assert operator("run", "--once") == 0
    [received] = client_inbox(dovecot, client)
    assert "Не проводится накладная" in received["Subject"]
    capsys.readouterr()

    assert operator("outbox", "list", "--json") == 0
    assert [r for r in json.loads(capsys.readouterr().out)["outbox"] if r["ticket"] == 1] == []
    assert operator("status", "--json") in (0, 1)
    health = json.loads(capsys.readouterr().out)
    assert health["queues"]["acknowledgements_failed"] == 0
    assert not any("acknowledgement" in p for p in health["problems"])
    assert operator("tickets", "show", "1", "--json") == 0
    history = [(c["old"], c["new"], c["who"]) for c in json.loads(capsys.readouterr().out)["history"]
               if c["field"] == "acknowledgement"]
    assert history == [("due", "failed", "assistant"), ("failed", "due", "operator"),
                       ("due", "failed", "assistant"), ("failed", "due", "ops@example.com")]


def test_only_a_failed_acknowledgement_can_be_written_again(operator, tmp_path, capsys):
    letter = tmp_path / "first.eml"
    letter.write_bytes(mail())
    assert operator("import", str(letter)) == 0              # imported history: not acknowledged
    capsys.readouterr()
    assert operator("tickets", "acknowledge", "1") == 1
    err = capsys.readouterr().err.strip()
    assert err == "assistant: #1: the acknowledgement is none, not failed; nothing was changed"
    assert operator("tickets", "acknowledge", "7") == 1
    assert "no ticket #7" in capsys.readouterr().err
    assert operator("tickets", "acknowledge") == 2
