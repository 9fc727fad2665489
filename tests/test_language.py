"""The language of a message and lemma matching, the ground every rule stands on."""

from __future__ import annotations

import doctest

import pytest

from assistant.policy import langdetect, language, morphology
from assistant.policy.langdetect import detect_language, is_transliterated, other_language_present, to_cyrillic
from assistant.policy.language import Pipelines, RuleMatcher
from assistant.policy.ruletypes import PhraseRule

PIPELINES = Pipelines()


def rule(lang: str, *phrases: str) -> PhraseRule:
    return PhraseRule(id="r", concern="test", name="test", lang=lang, phrases=phrases)


@pytest.mark.parametrize("module", [langdetect, language, morphology], ids=lambda m: m.__name__)
def test_the_examples_in_the_module_hold(module):
    assert doctest.testmod(module).failed == 0


def test_plain_russian_and_english():
    assert detect_language("Добрый день, не открывается отчёт") == "ru"
    assert detect_language("Hello, the report does not open") == "en"


def test_a_message_without_letters_takes_the_default():
    assert detect_language("12345 !!!", default="en") == "en"


def test_russian_with_english_error_messages_stays_russian():
    text = "Добрый день! При выгрузке ошибка: HTTP 500 Internal Server Error"
    assert detect_language(text) == "ru"
    assert other_language_present(text, "ru")


def test_transliterated_russian_is_russian_and_english_is_not_transliterated():
    assert is_transliterated("Privet! U nas ne rabotaet kassa, pomogite pozhaluysta")
    assert not is_transliterated("Hi! Our till does not work, please help")
    assert to_cyrillic("Sklad stoit") == "Склад стоит"


def test_every_form_of_a_russian_word_meets_its_phrase():
    matcher = RuleMatcher(PIPELINES["ru"], [rule("ru", "отгрузка остановилась")])
    for text in ["Отгрузка остановилась", "отгрузки остановились", "ОТГРУЗКА ОСТАНОВИЛАСЬ"]:
        assert matcher(text), text


def test_an_ambiguous_word_matches_every_reading():
    # "стоит" is both "стоить" and "стоять": the phrase covers the warehouse that stood still.
    matcher = RuleMatcher(PIPELINES["ru"], [rule("ru", "склад стоит")])
    assert matcher("Склад стоит")
    assert matcher("склад стоял всю ночь")


def test_yo_and_ye_are_one_letter():
    matcher = RuleMatcher(PIPELINES["ru"], [rule("ru", "платёж")])
    assert matcher("Платёж не прошёл") and matcher("платеж не прошел")


def test_english_contractions_meet_the_full_form():
    matcher = RuleMatcher(PIPELINES["en"], [rule("en", "cannot ship")])
    assert matcher("We can't ship") and matcher("we cannot ship") and matcher("We can’t ship")


def test_a_gap_does_not_cross_a_sentence_end():
    matcher = RuleMatcher(PIPELINES["en"], [rule("en", "shipments ... stopped")])
    assert matcher("Shipments to Kazan have stopped")
    assert not matcher("Shipments are fine. The printer stopped.")


def test_match_offsets_point_into_the_text():
    text = "Добрый день. У нас встала отгрузка."
    [match] = RuleMatcher(PIPELINES["ru"], [rule("ru", "встала отгрузка")])(text)
    assert text[match.start:match.end] == match.text == "встала отгрузка"


def test_mail_with_new_words_without_end_stops_growing_the_pipeline_and_reads_the_same():
    """Names, numbers and typos never end; past its kept strings a pipeline frees them."""
    from datetime import datetime, timezone
    from assistant.config import defaults
    from assistant.policy.triage import Triage
    arrived = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)
    kept = Triage(defaults(), Pipelines())
    pipelines = Pipelines(permanent_strings=len(kept.pipelines["ru"].vocab.strings) + 200)
    bounded = Triage(defaults(), pipelines)
    strings = pipelines["ru"].vocab.strings

    def letter(n: int) -> str:
        word = "".join("абвгдежзиклмнопрст"[int(d) + k] for k, d in enumerate(f"{n:06d}"))
        return f"С утра остановилась отгрузка, склад стоит! Заказ №{100000 + n} от {word}"

    sizes = []
    for n in range(400):
        said = bounded.assess("Отгрузка", letter(n), now=arrived)
        assert said == kept.assess("Отгрузка", letter(n), now=arrived)
        sizes.append(len(strings))
    assert said.priority == "critical"
    assert sizes[-1] == sizes[200], "the pipeline went on keeping every new word"
