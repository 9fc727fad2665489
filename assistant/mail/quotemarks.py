"""The marks of quoted mail, read from rules/quotes/ and compiled once: which line is what.

Each predicate looks at one line (or a few joined lines) with invisible marks taken out and
answers one question: is this an attribution, a separator, a header field, a phone's
footer, a sign-off, a signature line, a disclaimer? The structure around them (what comes
before and after) is `quoting`'s and `signatures`' business.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from assistant.policy.rulebook import quote_marks
from assistant.policy.ruletypes import MarkRule

# Marks a reader never sees: direction marks, zero-width spaces, a byte-order mark, soft
# hyphens, Gmail's tracking dot. Narrow and no-break spaces read as spaces.
_INVISIBLE_MARK = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u00ad\u1427]")
_ODD_SPACE = re.compile("[\u00a0\u202f\u2007\u2009\u200a\u3000]")

HEADER_ROLES = ("from", "date", "to", "cc", "subject", "other")

_TIME = r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?\b"
_DATE = r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b(?:19|20)\d{2}\b"
_HAS_DATE = re.compile(f"{_TIME}|{_DATE}")
_HAS_TIME = re.compile(_TIME)
_ADDRESS = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+|mailto:", re.IGNORECASE)
# "…, Name <name@host>:" and «… от Имя <адрес>:»: a dated line ending in an angled address.
_ANGLED_END = re.compile(r"<[^<>\s]*@[^<>]*>\)?\s*[:：]$|@[^\s<>]+>\s*[:：]$")
_ANGLED = re.compile(r"<[^<>\s]+@[^<>\s]+>")
# Mail.ru's «…, 9:05 +03:00 от support@example.com:»: a bare address right after the time.
_BARE_SENDER_END = re.compile(
    r"\d[:.]\d{2}(?:\s*(?:GMT|UTC)?[+-]\d{2}:?\d{2})?(?:,|\s+от|\s+from)\s+"
    r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\s*[:：]$", re.IGNORECASE)
_PHONE = re.compile(r"(?:\+|\b)\d[\d ().\-]{6,}\d\b")
_URL = re.compile(r"\bhttps?://|\bwww\.\S+|\b[\w-]+\.(?:com|ru|org|net|de|fr|io|example)\b/?")


@functools.lru_cache(maxsize=8192)
def clean(line: str) -> str:
    """The line as a reader sees it: invisible marks gone, odd spaces made plain, trimmed."""
    if line.isascii():
        return line.strip()
    return _ODD_SPACE.sub(" ", _INVISIBLE_MARK.sub("", line)).strip()


def _alternation(words: list[str]) -> str:
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        body = r"\s+".join(re.escape(piece) for piece in word.split())
        start = r"(?<!\w)" if _is_letter(word[0]) else ""
        end = r"(?!\w)" if _is_letter(word[-1]) else ""
        parts.append(f"{start}{body}{end}")
    return "|".join(parts) or r"(?!x)x"


def _is_letter(char: str) -> bool:
    return char.isalpha() and ord(char) < 0x2E80  # CJK words have no spaces around them


@dataclass(frozen=True)
class Marks:
    """Compiled vocabulary; build it with `marks_from(rules_dir)`."""

    verb: re.Pattern[str]
    verb_words: frozenset[str]
    verb_glyphs: tuple[str, ...]   # verbs written without spaces around them (写道)
    intro: re.Pattern[str]
    quoting: re.Pattern[str]
    separator: re.Pattern[str]
    field: re.Pattern[str]
    field_roles: dict[str, str]
    footer: re.Pattern[str]
    signoff: re.Pattern[str]
    closing: re.Pattern[str]       # sign-offs that never address anyone ("Best regards")
    signature_word: re.Pattern[str]
    disclaimer: re.Pattern[str]

    # ---- attribution --------------------------------------------------------------------

    def attribution(self, text: str) -> str:
        """ "strong" for an attribution that ends the new words by itself (it has a date or
        an address), "weak" for one that only introduces quoted lines below it, else "".

        >>> marks_from(Path("rules")).attribution("On Mon, 3 Mar 2025, Ann <a@b.c> wrote:")
        'strong'
        """
        text = clean(text).strip("-– ").strip()
        if not text or len(text) > 400:
            return ""
        ends = text.endswith((":", "：")) or self._ends_with_verb(text)
        if not ends:
            # "2011/4/7 Nathan <support@example.com>" right above a quote, no colon
            dated_angle = _HAS_DATE.search(text) and _ANGLED.search(text) and len(text) < 160
            return "weak" if dated_angle else ""
        dated = bool(_HAS_DATE.search(text)) or bool(_ADDRESS.search(text))
        if _HAS_TIME.search(text) and (_ANGLED_END.search(text) or _BARE_SENDER_END.search(text)
                                       or _ANGLED.search(text) and len(text) < 200):
            return "strong"
        if self.has_verb(text):
            return "strong" if dated else "weak" if len(text) < 120 else ""
        if self.quoting.match(text):
            return "strong" if _ADDRESS.search(text) else "weak"
        return ""

    def has_verb(self, text: str) -> bool:
        """Whether a verb of the rules stands in the text as a word ("wrote", «пишет»)."""
        low = text.lower()
        return any(v in low for v in self.verb_words) and bool(self.verb.search(text))

    def _ends_with_verb(self, text: str) -> bool:
        """ "…, Julius Caesar wrote" (no colon): the last words are a verb of the rules."""
        words = text.lower().split()[-3:]
        tails = {" ".join(words[k:]) for k in range(len(words))}
        return bool(tails & self.verb_words) or text.endswith(self.verb_glyphs)

    def may_open_attribution(self, text: str) -> bool:
        """Could an attribution wrapped over several lines begin with this line?"""
        text = clean(text)
        return bool(self.intro.match(text) or self.quoting.match(text) or _HAS_DATE.search(text)
                    or _ADDRESS.search(text)
                    or re.match(r"[^\W\d]{2,12}\.?,\s", text) or "<" in text or '"' in text)

    def glued_attribution(self, text: str) -> int:
        """Where an attribution glued to the end of a line of text begins, or -1.

        "Works now. On Wed, Apr 4, 2012 at 3:59 PM, bob@example.com wrote:" → 11.
        """
        text = clean(text)
        if not text.endswith((":", "：")) and not self._ends_with_verb(text):
            return -1
        if self.intro.match(text) or self.quoting.match(text) or _HAS_DATE.match(text):
            return -1        # the line opens an attribution itself
        for found in re.finditer(r"(?<=\s)[^\W\d_]", text):
            start = found.start()
            tail = text[start:]
            if tail[0].isupper() and (self.intro.match(tail) or self.quoting.match(tail)):
                if self.attribution(tail) == "strong":
                    return start
        return -1

    # ---- separators and header blocks ---------------------------------------------------

    def is_separator(self, line: str) -> bool:
        """ "-----Original Message-----", "Begin forwarded message:" and their translations."""
        text = clean(line)
        bare = text.strip("-–—_=*> ").strip()
        if not bare or not self.separator.match(bare):
            return False
        fenced = text.startswith(("--", "––", "__", "==", "**")) or text.endswith(("--", "__"))
        if len(bare.split()) == 1 and bare.isascii():
            return fenced and text.endswith(("--", "__"))   # Foxmail's "--- Original ---"
        return fenced or bare.endswith((":", "：")) or len(bare) < 60 and text.endswith("-")

    def field_role(self, line: str) -> str | None:
        """The role of a header line ("From: …" → "from"), or None."""
        found = self.field.match(clean(line))
        if not found:
            return None
        name = " ".join(found.group("name").lower().split())
        return self.field_roles.get(name)

    # ---- footers, sign-offs, signatures, disclaimers ------------------------------------

    def is_footer(self, line: str) -> bool:
        text = clean(line).strip("*_ ")
        return 0 < len(text) <= 110 and bool(self.footer.match(text))

    def is_signoff(self, line: str) -> bool:
        """ "Best regards,", «С уважением, Иван», "Thanks!" — not "Thanks for the fix"."""
        text = clean(line)
        found = self.signoff.match(text)
        if not found or len(text) > 45:
            return False
        rest = text[found.end():].strip()
        return not rest or rest[0] in ",!.;-–—。！，、" and len(rest.split()) <= 4 or (
            len(rest.split()) <= 3 and all(w[:1].isupper() for w in rest.split()))

    def closing_name(self, line: str) -> str:
        """The name after a closing on the same line («С уважением, Иван» → "Иван"), or ""."""
        text = clean(line)
        found = self.closing.match(text)
        if not found or len(text) > 60:
            return ""
        rest = text[found.end():]
        return rest.lstrip(" ,").strip() if rest.startswith(",") else ""

    def is_signature_line(self, line: str) -> bool:
        """A phone, an address, a site, a position or a company form: a signature's stuff."""
        text = clean(line)
        if not text or len(text) > 80:
            return False
        return bool(_PHONE.search(text) or _ADDRESS.search(text) or _URL.search(text)
                    or self.signature_word.search(text))

    def is_disclaimer(self, paragraph: str) -> bool:
        return bool(self.disclaimer.search(" ".join(clean(paragraph).split())))


def marks_from(rules_dir: Path) -> Marks:
    """The compiled marks of `rules_dir`/quotes (read once per folder)."""
    return _compiled(Path(rules_dir).resolve())


@functools.lru_cache(maxsize=4)
def _compiled(rules_dir: Path) -> Marks:
    rules = quote_marks(rules_dir)
    return compile_marks(rules)


def compile_marks(rules: list[MarkRule]) -> Marks:
    """Marks from a list of rules (tests build them from a few rules of their own)."""
    def words(role: str) -> list[str]:
        return [w for r in rules if r.role == role for w in r.words]

    def patterns(role: str) -> str:
        return "|".join(f"(?:{p})" for r in rules if r.role == role for p in r.patterns) or "(?!x)x"

    roles = {" ".join(w.lower().split()): r.role.removeprefix("header.")
             for r in rules if r.role.startswith("header.") for w in r.words}
    flags = re.IGNORECASE
    return Marks(
        verb=re.compile(_alternation(words("verb")), flags),
        verb_words=frozenset(" ".join(w.lower().split()) for w in words("verb")),
        verb_glyphs=tuple(w for w in words("verb") if not _is_letter(w[-1])),
        intro=re.compile(f"(?:{_alternation(words('intro'))})\\s", flags),
        quoting=re.compile(f"(?:{_alternation(words('quoting'))})\\s", flags),
        separator=re.compile(f"(?:{_alternation(words('separator'))})", flags),
        field=re.compile(r"[*_]{0,2}(?P<name>" + _alternation(list(roles)) +
                         r")[*_]{0,2}\s?[:：][*_]{0,2}(?:\s|$)", flags),
        field_roles=roles,
        footer=re.compile(patterns("footer"), flags),
        signoff=re.compile(_alternation(words("signoff") + words("signoff.closing")), flags),
        closing=re.compile(_alternation(words("signoff.closing")), flags),
        signature_word=re.compile(_alternation(words("signature.line")), flags),
        disclaimer=re.compile(patterns("disclaimer"), flags),
    )
