"""Settings from a TOML file and the environment, typed by section; the keys are in keys.py."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, make_dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant.errors import ConfigError
from assistant.keys import DERIVED, KEYS, Key

PACKAGE_ROOT = Path(__file__).resolve().parent
# Rules and templates sit beside the package in a checkout (and in an editable install);
# a wheel carries them to <prefix>/share/assistant (pyproject's data-files).
_SHIPPED = next((place for place in (PACKAGE_ROOT.parent, Path(sys.prefix) / "share" / "assistant")
                 if (place / "rules").is_dir()), PACKAGE_ROOT.parent)


def _section_class(section: str) -> type:
    """A frozen dataclass with the section's keys (lists become tuples) and derived values."""
    fields = [(k.name, tuple if isinstance(k.default, list) else type(k.default))
              for k in KEYS if k.section == section]
    fields += [(d.name, d.kind) for d in DERIVED if d.section == section]
    name = f"{section.title()}Settings"
    made = make_dataclass(name, fields, frozen=True)
    made.__module__, made.__qualname__ = __name__, name   # importable: settings go to workers pickled
    made.__doc__ = f"The [{section}] keys of KEYS, typed, and the values DERIVED from them."
    return made


# One class per section, in the order of KEYS: SECTIONS["imap"] is ImapSettings.
SECTIONS: dict[str, type] = {s: _section_class(s) for s in dict.fromkeys(k.section for k in KEYS)}
globals().update({made.__name__: made for made in SECTIONS.values()})


def _typed(default: Any, value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if type(default) is float and type(value) is int:
        return float(value)
    return value


def _sections(values: Mapping[tuple[str, str], Any], base_dir: Path) -> dict[str, Any]:
    """Every section's typed value, keyed by section name."""
    built = {}
    for section, made in SECTIONS.items():
        keys = [k for k in KEYS if k.section == section]
        raw = {k.name: values[(section, k.name)] for k in keys}
        typed = {k.name: _typed(k.default, raw[k.name]) for k in keys}
        for derived in (d for d in DERIVED if d.section == section):
            try:
                typed[derived.name] = derived.compute(raw, base_dir)
            except ValueError as exc:       # e.g. a NUL in a path
                raise ValueError(f"[{section}] cannot work out {derived.name}: {exc}") from exc
        built[section] = made(**typed)
    return built


_LIST_SECTIONS = {
    "consultants": "[[consultants]]\nname = \"Мария Иванова\"\nname_en = \"Maria Ivanova\"             "
                   "# the name English letters carry; empty: the name in Latin letters\n"
                   "email = \"maria@example.com\"\nlanguages = [\"ru\", \"en\"]",
    "managers": "[[managers]]\nname = \"Олег Смирнов\"\nemail = \"oleg@example.com\"\n"
                "# companies = [\"romashka.example\"]  # a client's own manager: sees only these",
}


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    languages: tuple[str, ...] = ("ru", "en")
    name_en: str = ""               # the name in English letters; "": spelt from `name`
    companies: tuple[str, ...] = ()     # a client's own manager: only these domains' tickets


@dataclass(frozen=True)
class Settings:
    """Everything configurable, read once and passed explicitly (no module-level config).

    Each section of KEYS is a typed attribute built here once, with its DERIVED values:
    `settings.imap.host`, `settings.storage.max_message_bytes`, `settings.support.domain`.
    `settings.imap.host` reads the same value by name.
    """

    values: dict[tuple[str, str], Any]
    consultants: tuple[Person, ...] = ()
    managers: tuple[Person, ...] = ()
    source: Path | None = None
    base_dir: Path = field(default_factory=Path.cwd)

    def __post_init__(self) -> None:
        for section, typed in _sections(self.values, self.base_dir).items():
            object.__setattr__(self, section, typed)

    def get(self, section: str, name: str) -> Any:
        return self.values[(section, name)]

    def __getitem__(self, dotted: str) -> Any:
        section, name = dotted.split(".", 1)
        return self.values[(section, name)]

    def with_values(self, **dotted: Any) -> "Settings":
        """A copy with some keys changed: `settings.with_values(imap__port=1143)`."""
        values = dict(self.values)
        for key, value in dotted.items():
            section, name = key.split("__", 1)
            if (section, name) not in values:
                raise ConfigError(f"unknown setting {section}.{name}")
            values[(section, name)] = value
        return Settings(values, self.consultants, self.managers, self.source, self.base_dir)

    # Paths resolve against the config file's folder, so a config can move with its data.
    def path(self, section: str, name: str) -> Path:
        return (self.base_dir / str(self.get(section, name))).resolve()

    @property
    def database_url(self) -> str:
        url = self.get("database", "url")
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                return "sqlite:///" + str((self.base_dir / relative).resolve())
        return url

    @property
    def rules_dir(self) -> Path:
        chosen = self.get("paths", "rules")
        return self.path("paths", "rules") if chosen else _SHIPPED / "rules"

    @property
    def templates_dir(self) -> Path:
        chosen = self.get("paths", "templates")
        return self.path("paths", "templates") if chosen else _SHIPPED / "templates"

    @property
    def support_addresses(self) -> frozenset[str]:
        return self.support.addresses

    def support_name(self, lang: str) -> str:
        """The team's name as a letter in `lang` signs it."""
        if lang == "en" and self.get("support", "name_en"):
            return self.get("support", "name_en")
        return self.get("support", "name")

    def is_internal(self, address: str) -> bool:
        domain = address.rpartition("@")[2].lower()
        return any(domain == d.lower() or domain.endswith("." + d.lower())
                   for d in self.get("support", "company_domains"))

    def secret(self, section: str) -> str:
        """The password for `imap` or `smtp`: from a file, else from the environment."""
        path = self.get(section, "password_file")
        if path:
            try:
                return Path(path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{section}.password_file: cannot read {path}: {exc.strerror}") from exc
        return os.environ.get(self.get(section, "password_env"), "")


def defaults() -> Settings:
    return Settings({(k.section, k.name): k.default for k in KEYS})


def locate(explicit: str | None) -> Path | None:
    """The config file to read: --config, else $ASSISTANT_CONFIG, else ./assistant.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get("ASSISTANT_CONFIG"):
        return Path(os.environ["ASSISTANT_CONFIG"])
    local = Path("assistant.toml")
    return local if local.exists() else None


def load(path: Path | None) -> Settings:
    """Read settings from `path` (None: built-in defaults); unknown keys are an error."""
    if path is None:
        return defaults()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: no such configuration file") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    known = {(k.section, k.name): k for k in KEYS}
    values = {key: k.default for key, k in known.items()}
    for section, table in data.items():
        if section in _LIST_SECTIONS:
            continue
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] should be a table")
        for name, value in table.items():
            key = known.get((section, name))
            if key is None:
                raise ConfigError(f"{path}: unknown setting {section}.{name}")
            _check_type(path, key, value)
            values[(section, name)] = value
    _check_values(path, values)
    try:
        return Settings(
            values,
            consultants=_people(path, data.get("consultants", []), "consultants"),
            managers=_people(path, data.get("managers", []), "managers"),
            source=path,
            base_dir=path.resolve().parent,
        )
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


_KINDS = {bool: "true or false", int: "a number", float: "a number", str: "text in quotes",
          list: "a list"}
PORTS = ("imap.port", "smtp.port", "web.port")
SECURITY = ("imap.security", "smtp.security")
# Keys a [[consultants]] or [[managers]] entry may carry; anything else is a typo.
PERSON_KEYS = {"consultants": {"name", "email", "languages", "name_en"},
               "managers": {"name", "email", "languages", "companies"}}
LANGUAGES = ("ru", "en")


def _check_type(path: Path, key: Key, value: Any) -> None:
    wanted = type(key.default)
    if type(value) is wanted or (wanted is float and type(value) is int):
        return
    where = f"{path}: {key.section}.{key.name}"
    if wanted is list and isinstance(value, str):
        raise ConfigError(f'{where} is a list: write {key.name} = ["{value}"]')
    raise ConfigError(f"{where} should be {_KINDS.get(wanted, wanted.__name__)}, "
                      f"not {_KINDS.get(type(value), type(value).__name__)}")


def _check_values(path: Path, values: dict[tuple[str, str], Any]) -> None:
    """Values of the right type that still cannot work: ports, time zones, choices."""
    for dotted in PORTS:
        port = values.get(tuple(dotted.split(".")))
        if port is not None and not 0 < port < 65536:
            raise ConfigError(f"{path}: {dotted} = {port} is not a port (1-65535)")
    for dotted in SECURITY:
        chosen = values[tuple(dotted.split("."))]
        if chosen not in ("ssl", "starttls", "none"):
            raise ConfigError(f'{path}: {dotted} is "ssl", "starttls" or "none", not "{chosen}"')
    zone = values[("support", "timezone")]
    try:
        ZoneInfo(zone)
    except (ValueError, ZoneInfoNotFoundError):
        raise ConfigError(f'{path}: support.timezone = "{zone}" is not a time zone; '
                          f'write one like "Europe/Moscow" or "UTC"') from None


def _people(path: Path, rows: list, section: str) -> tuple[Person, ...]:
    people = []
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: write each of the {section} as its own [[{section}]] table")
    for row in rows:
        if not isinstance(row, dict) or "email" not in row:
            raise ConfigError(f"{path}: every [[{section}]] needs an email")
        unknown = sorted(set(row) - PERSON_KEYS[section])
        if unknown:
            raise ConfigError(f"{path}: [[{section}]] {row['email']}: unknown key {unknown[0]} "
                              f"(known: {', '.join(sorted(PERSON_KEYS[section]))})")
        languages = row.get("languages", list(LANGUAGES))
        if not isinstance(languages, list) or not set(languages) <= set(LANGUAGES):
            raise ConfigError(f'{path}: [[{section}]] {row["email"]}: languages is a list '
                              f'such as ["ru", "en"], not {languages!r}')
        people.append(Person(
            name=row.get("name", row["email"]),
            email=row["email"].strip().lower(),
            languages=tuple(languages),
            name_en=str(row.get("name_en", "")).strip(),
            companies=tuple(c.strip().lower() for c in row.get("companies", ())),
        ))
    return tuple(people)


def starter_toml() -> str:
    """The commented assistant.toml that `assistant init` writes, made from KEYS."""
    lines = ["# assistant.toml: every key is shown with its default; delete what you do not change.",
             "# Secrets never live here: passwords come from the environment or a file."]
    section = None
    for key in KEYS:
        if key.section != section:
            section = key.section
            lines += ["", f"[{section}]"]
        lines.append(f"{key.name} = {_toml_value(key.default):<34} # {key.comment}")
    for block in _LIST_SECTIONS.values():
        lines += ["", block]
    return "\n".join(lines) + "\n"


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
