"""A consultant's draft is flagged where it blames, deflects, sounds canned or bureaucratic."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.errors import RuleError
from assistant.policy.language import RuleMatcher
from assistant.policy.tone import KINDS, ToneChecker

ROOT = Path(__file__).resolve().parent.parent
RECALL_TARGET = 0.85
STYLE_RECALL_TARGET = 0.60
FINE_FLAGGED_LIMIT = 0.05


def _bench():
    spec = importlib.util.spec_from_file_location("tone_quality", ROOT / "bench" / "tone_quality.py")
    module = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the module runs.
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(sys.modules[spec.name])
    return sys.modules[spec.name]


@pytest.fixture(scope="module")
def checker() -> ToneChecker:
    return ToneChecker(ROOT / "rules")


@pytest.fixture(scope="module")
def parts():
    bench = _bench()
    return bench.split(bench.read_labelled())


@pytest.fixture(scope="module")
def dev_report(checker, parts):
    bench = _bench()
    measured = bench.measure(checker, parts[0])
    print("\n" + bench.table(measured))
    return measured


@pytest.fixture(scope="module")
def held_report(checker, parts):
    return _bench().measure(checker, parts[1])


def test_the_blame_in_the_service_article_gets_its_rewrite(checker):
    """Article 001: «вы допустили ошибку в документе» → «в документе ошибка»."""
    findings = checker.check("Вы допустили ошибку в документе.")
    assert [(f.kind, f.suggestion) for f in findings] == [("blame", "в документе ошибка")]
    assert findings[0].explain


def test_offsets_point_at_the_exact_phrase(checker):
    text = "Добрый день! Приносим извинения за доставленные неудобства, всё исправим."
    [finding] = checker.check(text, "ru")
    assert text[finding.start:finding.end] == finding.text == "Приносим извинения за доставленные неудобства"


def test_an_english_phrase_is_found_with_its_offsets(checker):
    text = "Hi Ann, we apologize for any inconvenience. As per your request, the account is closed."
    found = {f.kind: text[f.start:f.end] for f in checker.check(text)}
    assert found == {"boilerplate": "any inconvenience", "bureaucratese": "As per your request"}


def test_inflected_forms_match_one_rule(checker):
    for text in ("Вы допустили ошибку.", "Вы допустили ошибки в двух счетах.", "Вы, к сожалению, ошиблись."):
        assert [f.rule for f in checker.check(text, "ru")] == ["ru-you-made-a-mistake"], text


def test_a_capitalised_word_at_the_start_of_a_sentence_still_matches(checker):
    assert [f.rule for f in checker.check("Данный вопрос решим завтра.", "ru")] == ["ru-dannyi"]


def test_set_phrases_that_read_fine_stay_unflagged(checker):
    assert checker.check("В целях безопасности пароль меняется раз в три месяца.", "ru") == []
    assert checker.check("Мне было сложно держать себя в рамках приличий.", "ru") == []
    assert checker.check("По нашим данным, база данных восстановлена.", "ru") == []
    assert checker.check("Thank you kindly for the quick reply.", "en") == []


def test_the_language_is_detected_when_not_given(checker):
    assert [f.kind for f in checker.check("That's not my job.")] == ["deflection"]
    assert [f.kind for f in checker.check("Это не ко мне.")] == ["deflection"]


def test_every_tone_rule_has_a_kind_and_examples(checker):
    for lang, rules in checker.rules.items():
        kinds = {rule.extra["kind"] for rule in rules}
        assert kinds == set(KINDS), lang
        for rule in rules:
            assert rule.examples_flag and rule.examples_pass and rule.suggest and rule.explain, rule.id


def test_each_flag_example_finds_only_its_own_rule(checker):
    for lang, rules in checker.rules.items():
        plain = RuleMatcher(checker.pipelines[lang], rules)
        for rule in rules:
            for example in rule.examples_flag:
                assert [f.rule for f in checker.check(example, lang)] == [rule.id], example
                assert {m.rule.id for m in plain(example)} == {rule.id}, example
            for example in rule.examples_pass:
                assert checker.check(example, lang) == [], example


def test_the_labelled_set_is_big_enough_and_honestly_sourced(parts):
    dev, held = parts
    examples = dev + held
    for lang in ("ru", "en"):
        rows = [e for e in examples if e.lang == lang]
        assert len(rows) >= 400, lang
        assert sum(e.kind == "ok" for e in rows) >= 150, lang
        assert sum(e.origin == "style" for e in rows) >= 80, lang
        assert all(e.source.strip() for e in rows)
    assert 0.25 <= len(held) / len(examples) <= 0.35


def test_recall_on_support_phrases_reaches_the_target_on_the_dev_part(dev_report):
    low = {key: round(score.recall, 2) for key, score in dev_report.scores.items()
           if key[1] != "style" and score.recall < RECALL_TARGET}
    assert low == {}


def test_most_style_list_items_are_caught_on_the_dev_part(dev_report):
    low = {key: round(score.recall, 2) for key, score in dev_report.scores.items()
           if key[1] == "style" and score.recall < STYLE_RECALL_TARGET}
    assert low == {}


def test_the_part_kept_aside_is_caught_nearly_as_well(held_report):
    """The rules were written on the dev part; phrases they never saw must not fall far behind."""
    low = {key: round(score.recall, 2) for key, score in held_report.scores.items()
           if score.recall < (STYLE_RECALL_TARGET if key[1] == "style" else RECALL_TARGET)}
    assert low == {}


def test_few_fine_sentences_are_flagged(dev_report, held_report):
    for report in (dev_report, held_report):
        for lang in report.fine_total:
            flagged = report.fine_flagged[lang]
            # A handful is tolerated on a small part; the target is 5 %.
            assert report.fine_flagged_share(lang) <= FINE_FLAGGED_LIMIT + 0.01, flagged


def test_each_sentence_is_read_in_its_own_language(checker):
    text = ("Добрый день! Платёж задержался по вине вашего бухгалтера.\n\n"
            "Hi Anna, the issue is on your side. Please take this up with your bank.")
    found = {(f.kind, f.text) for f in checker.check(text, "ru")}
    assert ("blame", "по вине вашего") in found
    assert {kind for kind, _ in found} == {"blame", "deflection"}
    assert any("your side" in text for _, text in found)
    for finding in checker.check(text):
        assert text[finding.start:finding.end] == finding.text


def test_the_phrases_of_issue_fifteen_are_caught(checker):
    assert [f.kind for f in checker.check("Платёж не прошёл по вине вашего бухгалтера.")] == ["blame"]
    assert [f.kind for f in checker.check("Обратитесь в банк.")] == ["deflection"]
    assert [f.kind for f in checker.check("The issue is on your side.")] == ["blame"]


def test_a_rule_can_name_a_set_and_a_morphological_tag(tmp_path):
    folder = tmp_path / "tone"
    folder.mkdir()
    (folder / "blame.ru.toml").write_text('''kind = "blame"
sets.wrong = ["перепутать", "напутать"]
[[rule]]
id = "mixed-up"
phrases = ["вы ... @wrong", "<VN> <VN,gent>"]
explain = "x"
suggest = "y"
examples.flag = ["Вы всё перепутали."]
examples.pass = ["Мы перепутали."]
''', encoding="utf-8")
    for other in ("boilerplate", "deflection", "bureaucratese"):
        (folder / f"{other}.ru.toml").write_text(f'kind = "{other}"\n', encoding="utf-8")
    checker = ToneChecker(tmp_path)
    assert [f.text for f in checker.check("Похоже, вы напутали с датой.", "ru")] == ["вы напутали"]
    assert [f.text for f in checker.check("Осуществление проведения проверки.", "ru")] == ["Осуществление проведения"]
    assert checker.check("Обновление программы выйдет завтра, мы напутали с датой.", "ru") == []


def test_a_set_that_is_not_declared_names_the_file(tmp_path):
    folder = tmp_path / "tone"
    folder.mkdir()
    (folder / "blame.ru.toml").write_text('kind = "blame"\n[[rule]]\nid = "a"\nphrases = ["вы @nowhere"]\n', encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        ToneChecker(tmp_path)
    assert "blame.ru.toml" in str(caught.value) and "@nowhere" in str(caught.value)


def test_check_tone_exits_1_on_findings_0_when_clean_and_2_on_usage(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ASSISTANT_CONFIG"}

    def run(*args, stdin=b""):
        return subprocess.run([sys.executable, "-m", "assistant", "check-tone", *args], cwd=tmp_path,
                              env=env, input=stdin, capture_output=True, timeout=300)

    mixed = "Спасибо за письмо, всё проверили.\nThe issue is on your side.".encode()
    flagged = run("-", "--json", stdin=mixed)
    assert flagged.returncode == 1 and flagged.stderr.strip()
    assert [f["kind"] for f in json.loads(flagged.stdout)["findings"]] == ["blame"]
    clean = run("-", stdin="Доступ открыли, проверьте, пожалуйста.".encode())
    assert clean.returncode == 0
    assert run("-", "--lang", "de").returncode == 2
