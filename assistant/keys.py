"""Every configuration key, its default and what it means, and the values derived from them.

`assistant init` writes the starter assistant.toml from KEYS, `config.load` refuses keys that
are not here, and each key becomes a typed attribute of its section (settings.imap.host).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Key:
    section: str
    name: str
    default: Any
    comment: str


# Every configuration key, its default and what it means. `assistant init` writes the
# starter file from this table, and `load` refuses keys that are not here.
KEYS: tuple[Key, ...] = (
    Key("database", "url", "sqlite:///assistant.db", "or postgresql+psycopg://user@host/db"),
    Key("storage", "data_dir", "data", "raw messages and attachments, kept by content hash"),
    Key("storage", "max_message_mb", 50, "larger messages are kept raw and ticketed with a note, not parsed"),
    Key("storage", "max_attachment_mb", 25, "larger attachments stay inside the raw message only"),
    Key("imap", "host", "", "empty: no mailbox is read (import still works)"),
    Key("imap", "port", 993, "993 for ssl, 143 for starttls or none"),
    Key("imap", "security", "ssl", "ssl | starttls | none (none only for loopback)"),
    Key("imap", "username", "", "the support mailbox login"),
    Key("imap", "password_env", "ASSISTANT_IMAP_PASSWORD", "environment variable holding the password"),
    Key("imap", "password_file", "", "or a file holding it, e.g. /run/secrets/imap"),
    Key("imap", "folders", ["INBOX"], "folders to read; the same mail in several makes one ticket"),
    Key("imap", "done", "keyword", "how a processed message is marked: keyword | move"),
    Key("imap", "done_keyword", "$Ticketed", "the keyword set on processed messages"),
    Key("imap", "done_folder", "Ticketed", "the folder processed messages move to (done = move)"),
    Key("imap", "idle", True, "use IMAP IDLE when the server offers it, else poll"),
    Key("imap", "poll_seconds", 60, "how often to look for mail without IDLE"),
    Key("imap", "batch", 200, "messages fetched per round trip"),
    Key("imap", "ca_file", "", "PEM file of a private certificate authority; empty: the system's"),
    Key("imap", "sent_folder", "", "where copies of our mail go; empty: the folder marked \\Sent, else Sent"),
    Key("imap", "authserv_ids", [], "Authentication-Results read only from these ids of your own "
        "receiving server (RFC 8601 section 5), e.g. [\"mx.example.com\"]; empty: none trusted"),
    Key("smtp", "host", "", "empty: nothing is sent, drafts wait in the outbox"),
    Key("smtp", "port", 587, "587 for starttls, 465 for ssl"),
    Key("smtp", "security", "starttls", "ssl | starttls | none (none only for loopback)"),
    Key("smtp", "username", "", "empty: no SMTP authentication"),
    Key("smtp", "password_env", "ASSISTANT_SMTP_PASSWORD", "environment variable holding the password"),
    Key("smtp", "password_file", "", "or a file holding it"),
    Key("smtp", "ca_file", "", "PEM file of a private certificate authority; empty: the system's"),
    Key("support", "address", "support@example.com", "the address clients write to"),
    Key("support", "aliases", [], "other addresses that reach the same mailbox"),
    Key("support", "name", "Служба поддержки", "signs Russian letters; shown in From: of every reply"),
    Key("support", "name_en", "Support team", "signs English letters; empty: the same as name"),
    Key("support", "company_domains", ["example.com"], "their people are clients too (internal)"),
    Key("support", "timezone", "Europe/Moscow", "business hours and report times are read in it"),
    Key("support", "language", "ru", "the language used when a message gives no clue"),
    Key("support", "secret_file", "", "HMAC key for signed ticket references; empty: kept in the database"),
    Key("approval", "auto_send_acknowledgement", True, "send the acknowledgement of a new ticket without review"),
    Key("approval", "auto_mail_per_sender_per_day", 5, "cap on automatic mail to one mailbox a day (victim+1@ and Victim@ are victim@)"),
    Key("daemon", "lease_seconds", 30, "a daemon that dies hands its mailbox and schedule to another after this"),
    Key("performance", "workers", 1, "processes that parse and triage mail beside the daemon; 0: none"),
    Key("performance", "message_budget_seconds", 5.0,
        "CPU seconds one message may take to be understood; over it, it is quarantined "
        "(`quarantine retry` gives it ten times as long); 0: no limit"),
    Key("paths", "rules", "", "empty: the rules/ shipped with the assistant"),
    Key("paths", "templates", "", "empty: the templates/ shipped with the assistant"),
    Key("web", "enabled", False, "also serve the desk from `assistant run`"),
    Key("web", "host", "127.0.0.1", "where `assistant serve` listens; keep loopback behind a proxy"),
    Key("web", "port", 8025, "its port"),
    Key("web", "base_url", "http://127.0.0.1:8025", "the address in sign-in links (https behind a TLS proxy)"),
    Key("web", "operators", [], "addresses that may see quarantine and outbox pages"),
    Key("web", "session_hours", 12, "a signed-in browser stays signed in this long"),
    Key("web", "link_minutes", 15, "a sign-in link works this long, and once"),
)


def megabytes(count: float) -> int:
    """Bytes in `count` megabytes of 2**20: megabytes(1.5) == 1572864."""
    return int(count * 2**20)


def _lowered(addresses: list[str]) -> frozenset[str]:
    return frozenset(a.strip().lower() for a in addresses if a)


@dataclass(frozen=True)
class Derived:
    """A value computed from a section's keys (and the config file's folder) once."""

    section: str
    name: str
    kind: type
    compute: Callable[[Mapping[str, Any], Path], Any]
    comment: str


# Values every reader would otherwise work out again from the keys above. Each becomes an
# attribute of its section beside the keys: settings.storage.max_message_bytes.
DERIVED: tuple[Derived, ...] = (
    Derived("storage", "data_path", Path, lambda v, base: (base / str(v["data_dir"])).resolve(),
            "data_dir read against the config file's folder"),
    Derived("storage", "max_message_bytes", int, lambda v, _: megabytes(v["max_message_mb"]), "in bytes"),
    Derived("storage", "max_attachment_bytes", int, lambda v, _: megabytes(v["max_attachment_mb"]), "in bytes"),
    Derived("support", "domain", str, lambda v, _: v["address"].rpartition("@")[2] or "localhost",
            "what follows the @ of address; our Message-IDs end in it"),
    Derived("support", "addresses", frozenset, lambda v, _: _lowered([v["address"], *v["aliases"]]),
            "address and aliases in lower case: mail from them is our own"),
    Derived("web", "operator_addresses", frozenset, lambda v, _: _lowered(v["operators"]), "in lower case"),
)
