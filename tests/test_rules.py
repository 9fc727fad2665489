"""Every phrase rule under rules/ proves itself with examples, and broken rule files say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import defaults
from assistant.errors import RuleError
from assistant.policy.language import Pipelines, RuleMatcher
from assistant.policy.rulebook import PATTERN_CONCERNS, escalation_rules, owner_rules, phrase_rules, sla_rules
from assistant.policy.ruletypes import LANGUAGES
from assistant.policy.tone import allowances

RULES_DIR = defaults().rules_dir
# Every folder of phrase rules: priority and category today, tone and whatever comes next.
# (rules/quotes/ holds patterns, not phrases: tests/test_quote_marks.py checks those.)
CONCERNS = sorted(p.name for p in RULES_DIR.iterdir()
                  if p.is_dir() and p.name not in PATTERN_CONCERNS)
PIPELINES = Pipelines()


def _all_rules():
    return [rule for concern in CONCERNS for rule in phrase_rules(RULES_DIR, concern)]


def _file_matcher(rule) -> RuleMatcher:
    siblings = [r for r in phrase_rules(RULES_DIR, rule.concern, rule.lang) if r.name == rule.name]
    return RuleMatcher(PIPELINES[rule.lang], siblings)


_MATCHERS: dict[tuple[str, str, str], RuleMatcher] = {}


def matcher_for(rule) -> RuleMatcher:
    key = (rule.concern, rule.name, rule.lang)
    if key not in _MATCHERS:
        _MATCHERS[key] = _file_matcher(rule)
    return _MATCHERS[key]


ALL_RULES = _all_rules()
IDS = [f"{r.concern}/{r.name}.{r.lang}/{r.id}" for r in ALL_RULES]


def test_priority_and_category_rules_exist_in_both_languages():
    for concern in ("priority", "category"):
        for lang in LANGUAGES:
            assert phrase_rules(RULES_DIR, concern, lang), f"no {concern} rules in {lang}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=IDS)
def test_every_rule_shows_what_it_flags_and_what_it_lets_pass(rule):
    assert rule.examples_flag, f"{rule.where}: {rule.id} has no examples.flag"
    assert rule.examples_pass, f"{rule.where}: {rule.id} has no examples.pass"


@pytest.mark.parametrize("rule", ALL_RULES, ids=IDS)
def test_each_flag_example_triggers_exactly_its_rule(rule):
    matcher = matcher_for(rule)
    for example in rule.examples_flag:
        fired = {m.rule.id for m in matcher(example)}
        assert fired == {rule.id}, f"{rule.where}: {example!r} fired {sorted(fired) or 'nothing'}"


@pytest.mark.parametrize("rule", ALL_RULES, ids=IDS)
def test_no_pass_example_triggers_a_rule_of_its_file(rule):
    matcher = matcher_for(rule)
    # A rule's `allow` phrases (tone rules have them) take back a match they contain.
    allowed = RuleMatcher(PIPELINES[rule.lang], allowances(list(matcher.rules.values())))
    for example in rule.examples_pass:
        spans = [(m.rule.extra["allows"], m.start, m.end) for m in allowed(example)]
        fired = [m.rule.id for m in matcher(example)
                 if not any(rule_id == m.rule.id and start <= m.start and m.end <= end
                            for rule_id, start, end in spans)]
        assert not fired, f"{rule.where}: {example!r} should pass but fired {fired}"


def test_the_shipped_plain_rule_files_load():
    assert sla_rules(RULES_DIR).default_calendar in sla_rules(RULES_DIR).calendars
    assert owner_rules(RULES_DIR).default
    assert escalation_rules(RULES_DIR)


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_toml_syntax_error_names_the_file_and_line(tmp_path):
    path = _write(tmp_path / "priority", "high.ru.toml",
                  '[[rule]]\nid = "urgent"\nphrases = ["срочно"\nexplain = "x"\n')
    with pytest.raises(RuleError) as caught:
        phrase_rules(tmp_path, "priority")
    assert f"{path}:4" in str(caught.value)


def test_a_phrase_that_cannot_compile_names_the_file_and_line(tmp_path):
    path = _write(tmp_path / "priority", "high.en.toml",
                  'level = "high"\n\n[[rule]]\nid = "broken"\nphrases = ["... urgent"]\n')
    with pytest.raises(RuleError) as caught:
        phrase_rules(tmp_path, "priority")
    assert f"{path}:4" in str(caught.value) and "broken" in str(caught.value)


def test_a_rule_id_used_twice_names_both_places(tmp_path):
    path = _write(tmp_path / "category", "access.en.toml",
                  '[[rule]]\nid = "a"\nphrases = ["access"]\n\n[[rule]]\nid = "a"\nphrases = ["grant"]\n')
    with pytest.raises(RuleError) as caught:
        phrase_rules(tmp_path, "category")
    assert str(caught.value).startswith(f"{path}:6:") and f"{path}:2" in str(caught.value)
