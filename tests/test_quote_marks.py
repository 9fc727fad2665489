"""Every mark of quoted mail in rules/quotes/ proves itself with examples, read the way a
reply reads them: flagged examples end the new words, passing ones stay in them."""

from __future__ import annotations

import pytest

from assistant.config import defaults
from assistant.errors import RuleError
from assistant.mail.quotemarks import marks_from
from assistant.mail.quoting import read_reply
from assistant.policy.rulebook import quote_marks

RULES_DIR = defaults().rules_dir
RULES = quote_marks(RULES_DIR)
IDS = [f"{r.role}/{r.id}" for r in RULES]
MARKS = marks_from(RULES_DIR)
NEW = "Новые слова клиента."
HISTORY_ROLES = ("verb", "intro", "quoting", "separator")


def test_every_role_the_finder_reads_has_rules():
    roles = {r.role for r in RULES}
    for role in ("verb", "intro", "quoting", "separator", "header.from", "header.date",
                 "header.to", "header.subject", "footer", "signoff", "signature.line",
                 "disclaimer"):
        assert role in roles, f"no rule in rules/quotes/ plays the role {role!r}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_every_rule_shows_what_it_flags_and_what_it_lets_pass(rule):
    assert rule.examples_flag, f"{rule.where}: {rule.id} has no examples.flag"
    assert rule.examples_pass, f"{rule.where}: {rule.id} has no examples.pass"


def flagged(role: str, example: str) -> bool:
    """Whether the reply finder treats `example` as the rule's role says it should."""
    if role in HISTORY_ROLES or role.startswith("header."):
        reply = read_reply(f"{NEW}\n\n{example}\n\nстарый текст\nещё старый текст")
        return reply.visible == NEW
    if role in ("footer", "disclaimer"):
        return read_reply(f"{NEW}\n\n{example}").visible == NEW
    if role in ("signoff", "signoff.closing"):
        return MARKS.is_signoff(example)
    if role == "signature.line":
        return MARKS.is_signature_line(example)
    raise AssertionError(f"no check for the role {role!r}")


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_each_flag_example_is_read_as_its_role(rule):
    for example in rule.examples_flag:
        assert flagged(rule.role, example), f"{rule.where}: {example!r} was not read as {rule.role}"


@pytest.mark.parametrize("rule", RULES, ids=IDS)
def test_no_pass_example_is_read_as_its_role(rule):
    for example in rule.examples_pass:
        assert not flagged(rule.role, example), f"{rule.where}: {example!r} was read as {rule.role}"


def test_a_broken_pattern_names_the_file_and_line(tmp_path):
    folder = tmp_path / "quotes"
    folder.mkdir()
    path = folder / "footers.toml"
    path.write_text('[[rule]]\nid = "bad"\nrole = "footer"\npatterns = ["sent (from"]\n',
                    encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        quote_marks(tmp_path)
    assert f"{path}:2" in str(caught.value) and "bad" in str(caught.value)


def test_a_rule_without_words_says_what_it_needs(tmp_path):
    folder = tmp_path / "quotes"
    folder.mkdir()
    (folder / "attribution.toml").write_text('[[rule]]\nid = "empty"\nrole = "verb"\n',
                                              encoding="utf-8")
    with pytest.raises(RuleError, match="needs an id, a role and words or patterns"):
        quote_marks(tmp_path)
