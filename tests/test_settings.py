"""Settings read by attribute: every key of the config file reaches its typed section, once."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

from assistant import config
from assistant.config import DERIVED, KEYS, defaults, load
from assistant.errors import ConfigError


def _same(typed, dotted):
    """A list in the file is a tuple in its section; a whole number of a float key a float."""
    return typed == (tuple(dotted) if isinstance(dotted, list) else dotted) and (
        type(typed) is not int or type(dotted) is int)


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "assistant.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_every_key_reads_the_same_by_attribute_and_by_name():
    settings = defaults()
    for key in KEYS:
        typed = getattr(getattr(settings, key.section), key.name)
        assert _same(typed, settings[f"{key.section}.{key.name}"]), key


def test_a_config_files_values_reach_the_typed_sections(tmp_path):
    path = _config(tmp_path, '[imap]\nhost = "imap.example.org"\nport = 143\nfolders = ["INBOX", "Sales"]\n'
                             '[storage]\ndata_dir = "mail-data"\nmax_message_mb = 3\n'
                             '[support]\naddress = "Help@Romashka.example"\naliases = [" Desk@romashka.example "]\n'
                             '[performance]\nmessage_budget_seconds = 2\n')
    settings = load(path)
    assert settings.imap.host == "imap.example.org" and settings.imap.port == 143
    assert settings.imap.folders == ("INBOX", "Sales")
    assert settings.storage.max_message_bytes == 3 * 1024 * 1024
    assert settings.storage.data_path == (tmp_path / "mail-data").resolve()
    assert settings.support.domain == "Romashka.example"
    assert settings.support.addresses == {"help@romashka.example", "desk@romashka.example"}
    # A whole number written for a float key is still a float to its reader.
    assert settings.performance.message_budget_seconds == 2.0
    assert type(settings.performance.message_budget_seconds) is float
    for key in KEYS:
        assert _same(getattr(getattr(settings, key.section), key.name), settings[f"{key.section}.{key.name}"])


def test_derived_values_follow_their_keys():
    settings = defaults().with_values(storage__max_message_mb=1.5, storage__max_attachment_mb=0,
                                      support__address="", support__aliases=["Help@X.org"], web__operators=["Ops@Example.com"])
    assert settings.storage.max_message_bytes == 1572864
    assert settings.storage.max_attachment_bytes == 0
    assert settings.support.domain == "localhost"   # our Message-IDs still need a right-hand side
    assert settings.web.operator_addresses == {"ops@example.com"}
    assert settings.support_addresses == settings.support.addresses == {"help@x.org"}


def test_every_derived_value_is_an_attribute_of_its_section():
    settings = defaults()
    for derived in DERIVED:
        assert isinstance(getattr(getattr(settings, derived.section), derived.name), derived.kind), derived


def test_with_values_rebuilds_the_sections_and_leaves_the_original_alone():
    before = defaults()
    after = before.with_values(imap__port=1143, support__address="help@romashka.example")
    assert (after.imap.port, after.support.domain) == (1143, "romashka.example")
    assert (before.imap.port, before.support.domain) == (993, "example.com")
    assert after.support.addresses == {"help@romashka.example"}


def test_a_section_cannot_be_changed_behind_the_settings_back():
    settings = defaults()
    with pytest.raises(AttributeError):
        settings.imap.host = "elsewhere"     # type: ignore[misc]
    assert settings["imap.host"] == settings.imap.host == ""


def test_settings_sent_to_a_worker_process_arrive_whole(tmp_path):
    settings = load(_config(tmp_path, '[storage]\nmax_attachment_mb = 7\n[imap]\nfolders = ["A"]\n'))
    copy = pickle.loads(pickle.dumps(settings))
    assert copy == settings
    assert copy.storage.max_attachment_bytes == 7 * 2**20 and copy.imap.folders == ("A",)
    assert pickle.loads(pickle.dumps(settings.imap)) == settings.imap


_TEXT = st.text(st.characters(blacklist_characters="\x00"), max_size=30)
_VALUES = {bool: st.booleans(), int: st.integers(1, 65535), float: st.floats(0, 1e6, allow_nan=False),
           str: _TEXT, list: st.lists(_TEXT, max_size=4)}


@hypothesis_settings(max_examples=200, deadline=None)
@given(st.sampled_from(KEYS).flatmap(lambda key: st.tuples(st.just(key), _VALUES[type(key.default)])))
def test_any_value_given_to_with_values_is_the_one_its_section_reads(key_and_value):
    key, value = key_and_value
    settings = defaults().with_values(**{f"{key.section}__{key.name}": value})
    assert _same(getattr(getattr(settings, key.section), key.name), value)
    assert settings[f"{key.section}.{key.name}"] == value


def test_the_starter_file_still_lists_keys_only(tmp_path):
    # Derived values are worked out, never written by the operator.
    starter = config.starter_toml()
    for derived in DERIVED:
        assert f"\n{derived.name} = " not in starter
    loaded = config.load(_config(tmp_path, starter))
    for key in KEYS:
        assert _same(getattr(getattr(loaded, key.section), key.name), key.default)


def test_a_value_nothing_can_be_worked_out_from_is_one_clear_line(tmp_path):
    with pytest.raises(ConfigError, match=r"\[storage\] cannot work out data_path: embedded null byte"):
        load(_config(tmp_path, '[storage]\ndata_dir = "da\\u0000ta"\n'))
