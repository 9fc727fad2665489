"""Write a reply from the templates for a situation and language, in words that vary per ticket."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from assistant.replies import grammar
from assistant.errors import TemplateError

if TYPE_CHECKING:       # the tone checker brings spaCy; rendering alone does not need it
    from assistant.policy.tone import Finding, ToneChecker
from assistant.mail.subjects import split_subject, without_reply_prefixes

WORDS_LIMIT = 200
# What a letter cannot do without: an empty list would print a heading followed by nothing.
REQUIRED = {"need_info": ("missing", "what the client should send"),
            "options": ("options", "the options to choose from"),
            "forwarded": ("team", "the team it went to"),
            "resolved": ("resolution", "what was fixed")}
# Situations that are not a reply on a ticket: the manager summary has its own schedule.
NOT_REPLIES = frozenset({"manager_summary"})
_VARIANT = re.compile(r"^(\d+)\.txt\.j2$")


@dataclass(frozen=True)
class ReplyContext:
    ticket_id: int
    tag: str                        # "[#42]": kept in every subject so replies thread back
    subject: str                    # the client's own subject
    language: str                   # "ru" or "en"
    client_name: str                # as the client signs, "" when unknown
    client_email: str
    client_tz: str                  # times in the letter are shown in this zone
    client_words: str               # the client's problem in their own words
    now: datetime
    next_contact_at: datetime | None
    priority: str
    critical: bool
    consultant_name: str
    support_name: str
    # Per situation: done, next_steps, missing, options (title, detail, recommended),
    # team, resolution, check, incidents (manager summary rows).
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RenderedDraft:
    situation: str
    language: str
    template: str                   # e.g. "ru/progress/2.txt.j2"
    subject: str
    text: str                       # the body, without the Subject line
    html: str | None
    findings: tuple[Finding, ...]

    @property
    def letter(self) -> str:
        """The whole letter as the template wrote it: Subject line, blank line, body."""
        return f"Subject: {self.subject}\n\n{self.text}"


class Drafter:
    """Renders `templates/replies/<lang>/<situation>/<n>.txt.j2` and checks the tone of the result."""

    def __init__(self, templates_dir: Path, tone: ToneChecker):
        self.root = Path(templates_dir) / "replies"
        self.tone = tone
        self.env = Environment(
            loader=FileSystemLoader(str(self.root)), undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False,
                                         default=False),
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
        self.env.filters.update(plural=grammar.plural, inflect=grammar.inflect,
                                when=_when_filter, duration=_duration_filter)

    def situations(self) -> list[str]:
        """Every situation some language has templates for, e.g. ["acknowledgement", ...]."""
        if not self.root.is_dir():
            return []
        return sorted({folder.name for lang in self.root.iterdir() if lang.is_dir()
                       for folder in lang.iterdir() if folder.is_dir() and not folder.name.startswith("_")})

    def reply_situations(self) -> list[str]:
        """The situations a consultant may draft for a ticket (not the manager summary)."""
        return [s for s in self.situations() if s not in NOT_REPLIES]

    def variants(self, situation: str, language: str) -> list[str]:
        """Template names of the phrasings of a situation, in number order."""
        folder = self.root / language / situation
        numbered = [(int(m.group(1)), p.name) for p in folder.glob("*.txt.j2")
                    if (m := _VARIANT.match(p.name))] if folder.is_dir() else []
        return [f"{language}/{situation}/{name}" for _, name in sorted(numbered)]

    def draft(self, situation: str, ctx: ReplyContext) -> RenderedDraft:
        """The reply for `situation`, its variant fixed by the ticket, with its tone findings.

        Raises TemplateError naming the template when it is missing or fails to render.
        """
        variants = self.variants(situation, ctx.language)
        if not variants:
            raise TemplateError(f"{self.root / ctx.language / situation}/1.txt.j2: missing "
                                f"(no template for {situation!r} in {ctx.language!r})")
        if situation in REQUIRED and REQUIRED[situation][0] in ctx.extra \
                and not ctx.extra[REQUIRED[situation][0]]:
            key, what = REQUIRED[situation]
            raise TemplateError(f"a {situation} letter needs {what} ({key}; "
                                f"`assistant drafts new N {situation} --item TEXT`)")
        name = variants[choose_variant(ctx.ticket_id, situation, len(variants))]
        values = template_values(ctx)
        subject, text = _split_letter(name, self._render(name, values))
        html_name = name.replace(".txt.j2", ".html.j2")
        html = None
        if (self.root / html_name).is_file():
            html = _split_letter(html_name, self._render(html_name, values))[1]
        findings = tuple(self._findings(text, ctx.language, _quoted(values)))
        return RenderedDraft(situation, ctx.language, name, subject, text, html, findings)

    def _render(self, name: str, values: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(values)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"{name}: a template it needs is missing: {exc.name}") from exc
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{name}: {exc}") from exc
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise TemplateError(f"{name}: {type(exc).__name__}: {exc}") from exc

    def _findings(self, text: str, language: str, quoted: list[str]) -> list[Finding]:
        # The client's own words are quoted back to them; a phrase inside a quote is theirs,
        # not ours, and must not hold the draft back.
        spans = [(m.start(), m.end()) for words in quoted if words
                 for m in re.finditer(re.escape(words), text)]
        return [f for f in self.tone.check(text, language)
                if not any(start <= f.start and f.end <= end for start, end in spans)]


def choose_variant(ticket_id: int, situation: str, count: int) -> int:
    """A stable index in range(count): the same ticket and situation always get the same one.

    Python's hash() changes between runs, so the index comes from SHA-256.
    """
    digest = hashlib.sha256(f"{ticket_id}:{situation}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % count


def template_values(ctx: ReplyContext) -> dict[str, Any]:
    """What a template sees: every context field, the extras by name, subject and words tidied."""
    values = {f.name: getattr(ctx, f.name) for f in fields(ctx) if f.name != "extra"}
    values.update(ctx.extra)
    values["subject"] = clean_subject(ctx.subject, ctx.tag)
    values["client_words"] = trim_words(ctx.client_words)
    return values


def clean_subject(subject: str, tag: str) -> str:
    """The client's subject without line breaks, "Re:"/"Fwd:" prefixes and a repeated tag.

    >>> clean_subject("Re: [#42] Отгрузка\\r\\nBcc: x@y", "[#42]")
    'Отгрузка Bcc: x@y'
    """
    flat = " ".join(subject.split())
    if tag:
        flat = flat.replace(tag, " ")
    flat = " ".join(without_reply_prefixes(" ".join(flat.split())).split())
    return flat


def trim_words(words: str, limit: int = WORDS_LIMIT) -> str:
    """The client's words on one line, without outer quotes, cut at a word near `limit`."""
    # A closing full stop goes outside the quotes in Russian and English alike: «…ошибкой».
    flat = " ".join(words.split()).strip("«»\"'„“” ").removesuffix(".").rstrip()
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—-") + "…"


def _split_letter(name: str, rendered: str) -> tuple[str, str]:
    subject, rest = split_subject(rendered, name)
    body = re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", rest.strip("\n")).strip() + "\n"
    return subject, body


def _quoted(values: dict[str, Any]) -> list[str]:
    quoted = [values["client_words"], values["subject"]]
    for row in values.get("incidents", []) or []:
        if isinstance(row, dict):
            quoted += [str(row.get("subject", "")), str(row.get("client_words", ""))]
    return quoted


@pass_context
def _when_filter(context, moment: datetime | None, by: bool | None = None) -> str:
    """`{{ next_contact_at|when }}`: the time in the reader's zone and language, relative to now."""
    if moment is None:
        raise ValueError("a time is needed here (next_contact_at is empty): "
                         "a reply that does not solve the problem must say when we write next")
    said = grammar.when(moment, context["language"], context["client_tz"], context["now"], by=by)
    if context["language"] == "en":
        # An English reader may be anywhere: a time without its zone is a guess.
        said = f"{said} {zone_words(moment, context['client_tz'])}"
    return said


def zone_words(moment: datetime, tz: str) -> str:
    """ "Moscow time (UTC+3)", or "(UTC+5)" for a zone without a city name."""
    offset = moment.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "−"
    hours, rest = divmod(abs(minutes), 60)
    utc = f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "") if minutes else "UTC"
    city = tz.rsplit("/", 1)[-1].replace("_", " ") if "/" in tz and not tz.startswith("Etc/") else ""
    return f"{city} time ({utc})" if city else f"({utc})"


@pass_context
def _duration_filter(context, span: timedelta) -> str:
    return grammar.duration(span, context["language"])
