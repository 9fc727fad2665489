"""Impact × urgency: how much of the client's business is hurt and how soon, with the words that decided.

Read from matches of the rules in `rules/priority/` (see `rules/priority/README.md`):

- `scope` says who is hurt ("ни у одного пользователя", "some users"), `stakes` what is
  hurt (the shop, orders, payroll, the tills) and how soon a stop of it does harm; both count
  only in a sentence that also holds a `stoppage` ("не запускается", "is down"), so "all
  users are happy" hurts nobody;
- `urgency` holds time and harm that speak for themselves ("сегодня последний день",
  "losing sales", "hacked"); `relief` lowers it (a workaround, an intermittent fault, a
  problem already fixed);
- the older `critical` and `high` files say both at once, through the `impact` and
  `urgency` keys of their rules.

The priority is then the ITIL matrix (`priority_of`).
"""

from __future__ import annotations

import bisect
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    # Only a type here: importing the language module loads spaCy, which `grades_of`
    # (read by `tickets show` and the desk) never needs.
    from assistant.policy.language import Match

log = logging.getLogger("assistant.policy.severity")

IMPACTS = ("user", "team", "department", "company")
URGENCIES = ("none", "days", "today", "now")
PRIORITY_ORDER = ("critical", "high", "normal", "low")
SEVERITY_FILES = ("scope", "stakes", "stoppage", "outage", "urgency", "security", "relief")
_SENTENCE = re.compile(r"[.!?…;]+(?=\s|$)|\n")
# Stakes and scope are read clause by clause: in "after updating ERPNext, payroll cannot be
# submitted" it is payroll that has stopped, not the ERP.
_CLAUSE = re.compile(r"[.!?…;]+(?=\s|$)|\n|[,:](?=\s)|\s[—–-]\s")
_NEGATOR = re.compile(r"(?:^|\W)(?:не|нет|ни|not|no|never|cannot|can't|won't|unable)(?:\W|$)", re.I)


@dataclass(frozen=True)
class Evidence:
    rule: str           # "scope/nobody", "urgency/last-day", "client-deadline"
    text: str           # the client's words


@dataclass(frozen=True)
class Grade:
    """One axis of the matrix: its level and the words that decided it (strongest first)."""

    level: str
    evidence: tuple[Evidence, ...] = ()

    def as_dict(self) -> dict:
        return {"level": self.level, "evidence": [{"rule": e.rule, "text": e.text} for e in self.evidence]}


@dataclass(frozen=True)
class Severity:
    impact: Grade
    urgency: Grade
    fault: bool                 # something is described as broken
    relief: tuple[Evidence, ...] = ()


def rule_name(match: Match) -> str:
    return f"{match.rule.name}/{match.rule.id}"


class _Sentences:
    """Sentence numbers of character offsets in one text."""

    def __init__(self, text: str, boundary: re.Pattern):
        self.text = text
        self.ends = [m.end() for m in boundary.finditer(text)]

    def of(self, offset: int) -> int:
        return bisect.bisect_right(self.ends, offset)

    def span(self, number: int) -> str:
        start = self.ends[number - 1] if number > 0 else 0
        end = self.ends[number] if number < len(self.ends) else len(self.text)
        return self.text[start:end]


def grade(matches: list[Match], texts: dict[str, str], *, deadline=None, now: datetime | None = None,
          tz: str = "Europe/Moscow") -> Severity:
    """Impact and urgency of one message from its rule matches (any language) and texts.

    Each clause where something stopped is one account of harm: who (scope, else the stake
    nearest the fault, else one person) and how soon (the fault's own words, the stake's).
    Urgency said outright (a date today, money being lost, a breach) goes with every account.
    The account that rates highest on the matrix is the message's.
    """
    sentences = {lang: _Sentences(text, _SENTENCE) for lang, text in texts.items()}
    clauses = {lang: _Sentences(text, _CLAUSE) for lang, text in texts.items()}
    matches = _outermost([m for m in matches if _counts(m, sentences)])
    named = {(m.rule.lang, m.rule.id) for m in matches}
    matches = [m for m in matches if not m.rule.extra.get("needs")
               or (m.rule.lang, m.rule.extra["needs"]) in named]
    fault = any(_is_stoppage(m) for m in matches)
    stated = [_said(m, "urgency") for m in matches
              if m.rule.name in ("urgency", "security", "critical") and _said(m, "urgency")]
    if deadline is not None and now is not None and _same_day(deadline.due, now, tz):
        stated.append((URGENCIES.index("today"), Evidence("client-deadline", deadline.text)))
    relief = [m for m in matches if m.rule.name == "relief"]
    kinds = {m.rule.extra.get("relief") for m in relief}
    accounts = _accounts(matches, clauses)
    # Rules that say both by themselves: a breach, a stated stop, payday today beside a fault.
    accounts += [(_said(m, "impact"), [_said(m, "urgency")]) for m in matches
                 if m.rule.extra.get("alone") and _said(m, "impact") and _said(m, "urgency")
                 and (fault or not m.rule.extra.get("with_fault"))]
    if not accounts:
        accounts = [((0, None), [])]
    best = None
    for (impact_rank, impact_evidence), derived in accounts:
        if kinds & {"intermittent", "long-standing"}:
            derived = [(min(rank, URGENCIES.index("days")), e) for rank, e in derived]
        urgency = _strongest(derived + stated, URGENCIES, "days" if fault else "none")
        rank = URGENCIES.index(urgency.level)
        rank = 0 if "fixed" in kinds else max(0, rank - 1) if "workaround" in kinds else rank
        impact = Grade(IMPACTS[impact_rank], (impact_evidence,) if impact_evidence else ())
        urgency = Grade(URGENCIES[rank], urgency.evidence)
        key = (-PRIORITY_ORDER.index(priority_of(impact.level, urgency.level)), impact_rank, rank)
        if best is None or key > best[0]:
            best = (key, impact, urgency)
        elif key == best[0]:
            # Several clauses say the same ("база не запускается ни у кого, офис парализован"):
            # all their words are the evidence.
            best = (key, _joined(best[1], impact), _joined(best[2], urgency))
    _, impact, urgency = best
    return Severity(impact=impact, urgency=urgency, fault=fault,
                    relief=tuple(Evidence(rule_name(m), m.text) for m in relief))


def _joined(first: Grade, second: Grade) -> Grade:
    return Grade(first.level, tuple(dict.fromkeys(first.evidence + second.evidence)))


def _said(match: Match, axis: str) -> tuple[int, Evidence] | None:
    """(rank, evidence) of what a rule says on one axis by itself, or None."""
    levels = IMPACTS if axis == "impact" else URGENCIES
    level = match.rule.extra.get(axis)
    return (levels.index(level), Evidence(rule_name(match), match.text)) if level in levels else None


def _is_stoppage(match: Match) -> bool:
    return match.rule.name in ("stoppage", "outage") or bool(match.rule.extra.get("stops"))


def _accounts(matches: list[Match], clauses: dict[str, _Sentences]) -> list[tuple]:
    """One ((impact rank, evidence), [(urgency rank, evidence)…]) per clause with a fault."""
    found = []
    stopped = {(m.rule.lang, clauses[m.rule.lang].of(m.start)) for m in matches if _is_stoppage(m)}
    for lang, number in sorted(stopped):
        here = [m for m in matches if m.rule.lang == lang and clauses[lang].of(m.start) == number]
        anchors = [m for m in here if _is_stoppage(m)]
        nearest = lambda ms: min(ms, key=lambda m: min(_distance(m, a) for a in anchors)) if ms else None
        # The share is said by the quantifier nearest the fault ("all of them work, but one
        # of them has stopped" hurts one); without one, by what has stopped.
        scope = nearest([m for m in here if m.rule.name == "scope"])
        stake = nearest([m for m in here if m.rule.name == "stakes"])
        who = scope or stake
        impact = _said(who, "impact") if who else (0, None)
        derived = [_said(m, "urgency") for m in anchors + ([stake] if stake else []) if _said(m, "urgency")]
        found.append((impact, derived))
    return found


def _counts(match: Match, sentences: dict[str, _Sentences]) -> bool:
    """False for a workaround its own sentence denies: «вручную мы не успеваем»."""
    if match.rule.name != "relief" or match.rule.extra.get("relief") != "workaround":
        return True
    sentence = sentences[match.rule.lang].span(sentences[match.rule.lang].of(match.start))
    return not _NEGATOR.search(sentence)


def _outermost(matches: list[Match]) -> list[Match]:
    """Drops a match lying inside a longer one of the same file ("одного" in "ни у одного"),
    and a stake inside a fault's words ("server" in "Internal Server Error")."""
    def inside(match: Match, other: Match) -> bool:
        related = other.rule.name == match.rule.name or (
            match.rule.name == "stakes" and other.rule.name in ("stoppage", "outage"))
        return (other is not match and related and other.rule.lang == match.rule.lang
                and other.start <= match.start and match.end <= other.end
                and other.end - other.start > match.end - match.start)
    return [m for m in matches if not any(inside(m, other) for other in matches)]


def _distance(a: Match, b: Match) -> int:
    if a.end <= b.start:
        return b.start - a.end
    if b.end <= a.start:
        return a.start - b.end
    return 0


def _strongest(found: list[tuple[int, Evidence]], levels: tuple[str, ...], default: str) -> Grade:
    if not found:
        return Grade(default)
    top = max(rank for rank, _ in found)
    evidence = tuple(dict.fromkeys(e for rank, e in found if rank == top))
    return Grade(levels[top], evidence)


def _same_day(due: datetime, now: datetime, tz: str) -> bool:
    zone = ZoneInfo(tz)
    return due.astimezone(zone).date() == now.astimezone(zone).date()


def priority_of(impact: str, urgency: str, wish: bool = False) -> str:
    """The ITIL matrix: a department or the whole company hurt today or now is critical.

    >>> priority_of("company", "now"), priority_of("user", "now"), priority_of("company", "none")
    ('critical', 'high', 'normal')
    """
    wide = IMPACTS.index(impact) >= IMPACTS.index("department")
    pressing = URGENCIES.index(urgency) >= URGENCIES.index("today")
    if wide and pressing:
        return "critical"
    if pressing or (wide and urgency == "days"):
        return "high"
    if urgency == "none" and wish:
        return "low"
    return "normal"


def grades_of(reasons: list[dict]) -> dict[str, dict]:
    """Impact and urgency read back from stored reasons (`Assessment.reasons` as dicts).

    >>> grades_of([{"rule": "scope/nobody", "text": "никто", "effect": "impact: company"}])["impact"]
    {'level': 'company', 'evidence': [{'rule': 'scope/nobody', 'text': 'никто'}]}

    A ticket assessed before impact and urgency were kept has neither: both come back None.
    """
    grades: dict[str, dict | None] = {"impact": None, "urgency": None}
    for reason in reasons:
        axis, _, level = reason.get("effect", "").partition(": ")
        if axis in grades and level in (IMPACTS if axis == "impact" else URGENCIES):
            grade = grades[axis] = grades[axis] or {"level": level, "evidence": []}
            if reason.get("text"):
                grade["evidence"].append({"rule": reason["rule"], "text": reason["text"]})
    return grades
