"""Mailboxes in From, To and Cc read the way mail programs and DMARC read them (RFC 5322 §3.4).

`email.utils.getaddresses` recurses once per nested comment (a few thousand "(" stop the
interpreter), and from `anna@client.example <mallory@evil.example>` it returns Anna's
address first, although every mail program shows and DMARC checks Mallory's. This
reader is one linear pass: the address is the one in angle brackets, a display name or a
comment never supplies one, and a mailbox that names two addresses has none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A header of addresses longer than this is cut here: 64 KB holds a thousand recipients.
MAX_HEADER_CHARS = 65_536
# RFC 5321 §4.5.3.1 allows 254 characters in a path; longer is not an address.
MAX_ADDRESS_CHARS = 254
_TOKEN = re.compile(r'\\.?|[()"<>,:;]|[^\\()"<>,:;]+', re.DOTALL)
_SPECIALS = frozenset('<>(),;\\"')
# Words of an address written without <>: a quoted string is one word, spaces and all.
_WORD = re.compile(r'(?:"(?:\\.|[^"\\])*"?|[^\s"])+')


@dataclass(frozen=True)
class Mailbox:
    """One mailbox as written: `name` still RFC 2047-encoded, `address` "" when the mailbox
    holds none it can be trusted for (no address, or two of them)."""

    name: str
    address: str


class _Reader:
    """One pass over a header value; the state of the mailbox being read."""

    def __init__(self) -> None:
        self.found: list[Mailbox] = []
        self.start()

    def start(self) -> None:
        self.words: list[str] = []       # text outside <>: quotes kept, comments dropped
        self.name: list[str] = []        # the same text with the quotes taken off
        self.comment: list[str] = []     # what comments say: a name of last resort
        self.angles: list[str] = []      # the contents of each <...>

    def end_mailbox(self) -> None:
        if self.words or self.angles:
            self.found.append(self._mailbox())
        self.start()

    def _mailbox(self) -> Mailbox:
        name = " ".join("".join(self.name).split())
        if len(self.angles) > 1:
            return Mailbox(name, "")
        if self.angles:
            route, _, address = self.angles[0].rpartition(":")
            address = address if route.startswith("@") else self.angles[0]
            return Mailbox(name or self._comment(), _bounded(address))
        words = _WORD.findall("".join(self.words))
        with_at = [w for w in words if "@" in w]
        if len(words) == 1 or len(with_at) == 1:
            address = words[0] if len(words) == 1 else with_at[0]
            rest = " ".join(w for w in words if w != address).strip('"')
            return Mailbox(rest or self._comment(), _bounded(address))
        return Mailbox(name, "")

    def _comment(self) -> str:
        return " ".join("".join(self.comment).split())


def mailboxes(value: str) -> list[Mailbox]:
    """The mailboxes of an address header, in order; groups are read as their members.

    >>> mailboxes('anna@client.example <mallory@evil.example>, (x@y) "B, C" <b@c>')
    [Mailbox(name='anna@client.example', address='mallory@evil.example'), Mailbox(name='B, C', address='b@c')]
    """
    reader = _Reader()
    depth = 0                    # inside comments, nested
    quoted = False
    angle: list[str] | None = None
    for token in _TOKEN.findall(value[:MAX_HEADER_CHARS]):
        if depth:
            depth += {"(": 1, ")": -1}.get(token, 0)
            if depth and len(reader.comment) < 64:
                reader.comment.append(token if token not in "()" else " ")
        elif quoted:
            quoted = token != '"'
            if quoted:
                text = token[1:] if token.startswith("\\") else token
                (angle if angle is not None else reader.name).append(text)
                if angle is None:
                    reader.words.append(token)
            elif angle is None:
                reader.words.append(token)
            else:
                angle.append(token)
        elif token == "(":
            depth = 1
        elif token == '"':
            quoted = True
            (angle if angle is not None else reader.words).append(token)
        elif angle is not None:
            if token == ">":
                reader.angles.append("".join(angle).strip())
                angle = None
            else:
                angle.append(token)
        elif token == "<":
            angle = []
        elif token in (",", ";"):
            reader.end_mailbox()
        elif token == ":":
            reader.start()  # "Group name:" begins a group; the name is no one's
        elif token not in (">", ")"):
            reader.words.append(token)
            reader.name.append(token)
    if angle is not None:
        reader.angles.append("".join(angle).strip())
    if quoted:  # a quote left open swallows the rest: which address was meant is unknown
        reader.angles.append("")
    reader.end_mailbox()
    return reader.found


def _bounded(address: str) -> str:
    """The address, or "" when it is too long or holds what no address can outside quotes."""
    if '"' in address:
        address = address.strip()
    else:
        address = "".join(address.split())
        if _SPECIALS & set(address):
            return ""
    return address if len(address) <= MAX_ADDRESS_CHARS else ""
