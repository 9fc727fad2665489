"""The timetable of rules/checkpoints.toml: report modes, lead times, summary times and readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from assistant.errors import RuleError
from assistant.policy.rulebook import line_of, parse_span, read_toml
from assistant.policy.ruletypes import LANGUAGES, PRIORITY_NAMES

MODES = ("auto", "approve")


@dataclass(frozen=True)
class Readers:
    """Managers who get one summary: which tickets they see and in what language."""

    name: str
    emails: tuple[str, ...]
    language: str
    domain: str | None = None               # a client's managers: that domain's tickets only
    consultants: tuple[str, ...] | None = None  # a team lead: their consultants' tickets only

    @property
    def internal_notes(self) -> bool:
        """Our own people read internal work-log entries; a client's managers never do."""
        return self.domain is None


@dataclass(frozen=True)
class Timetable:
    send: dict[str, str]                    # priority -> "auto" | "approve"
    write_ahead: timedelta
    write_ahead_for_approval: timedelta
    quiet_statuses: tuple[str, ...]
    promise_lead: timedelta
    deadline_lead: timedelta
    unowned_critical: bool
    summary_calendar: str | None            # None: the default calendar of rules/sla.toml
    summary_times: tuple[time, ...]
    at_risk_share: float
    client_readers: tuple[Readers, ...] = ()
    team_readers: tuple[Readers, ...] = ()
    min_gap: timedelta = timedelta(minutes=30)      # no report sooner after our last letter
    oncall_batch: timedelta = timedelta(minutes=10)  # on-call alerts gathered this long

    def mode(self, priority: str, critical: bool = False) -> str:
        return self.send["critical" if critical else priority]

    def ahead(self, priority: str, critical: bool = False) -> timedelta:
        """How long before its checkpoint a report is written."""
        if self.mode(priority, critical) == "auto":
            return self.write_ahead
        return self.write_ahead_for_approval


def load(rules_dir: Path) -> Timetable:
    """`rules/checkpoints.toml` read and checked; a RuleError names the file and line."""
    path = rules_dir / "checkpoints.toml"
    data = read_toml(path)
    progress, alerts, summary = (_section(path, data, name) for name in ("progress", "alerts", "summary"))
    send = progress.get("send", {})
    where = f"{path}:{line_of(path, 'send.')}"
    for priority in PRIORITY_NAMES:
        if send.get(priority) not in MODES:
            raise RuleError(f'{where}: send.{priority} = "auto" or "approve" is needed')
    share = summary.get("at_risk_share", 0.25)
    if not isinstance(share, (int, float)) or not 0 < share < 1:
        raise RuleError(f"{path}:{line_of(path, 'at_risk_share')}: at_risk_share is a share, "
                        f"between 0 and 1")
    return Timetable(
        send={p: send[p] for p in PRIORITY_NAMES},
        write_ahead=_span(path, progress, "write_ahead", "15m"),
        write_ahead_for_approval=_span(path, progress, "write_ahead_for_approval", "1h"),
        quiet_statuses=tuple(progress.get("quiet_statuses", ["waiting"])),
        promise_lead=_span(path, alerts, "promise_lead", "10m"),
        deadline_lead=_span(path, alerts, "deadline_lead", "1h"),
        unowned_critical=bool(alerts.get("unowned_critical", True)),
        summary_calendar=summary.get("calendar"),
        summary_times=tuple(_time(path, t) for t in summary.get("times", ["09:30"])),
        at_risk_share=float(share),
        client_readers=tuple(_readers(path, row, "client") for row in summary.get("client", [])),
        team_readers=tuple(_readers(path, row, "team") for row in summary.get("team", [])),
        min_gap=_span(path, progress, "min_gap", "30m"),
        oncall_batch=_span(path, alerts, "oncall_batch", "10m"))


def _section(path: Path, data: dict, name: str) -> dict[str, Any]:
    table = data.get(name, {})
    if not isinstance(table, dict):
        raise RuleError(f"{path}:{line_of(path, f'[{name}]')}: [{name}] should be a table")
    return table


def _span(path: Path, table: dict, key: str, default: str) -> timedelta:
    where = f"{path}:{line_of(path, key)}"
    span = parse_span(table.get(key, default), where)
    if span.days:
        # A working day means nothing without a calendar; lead times are plain clock time.
        raise RuleError(f'{where}: {key} is written in hours and minutes ("1h", "30m")')
    return timedelta(minutes=span.minutes)


def _time(path: Path, text: Any) -> time:
    try:
        return time.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise RuleError(f'{path}:{line_of(path, "times")}: summary times are written '
                        f'["09:30", "16:30"], not {text!r}') from exc


def _readers(path: Path, row: dict, kind: str) -> Readers:
    label = row.get("domain") if kind == "client" else row.get("name")
    where = f"{path}:{line_of(path, str(label)) if label else line_of(path, f'[[summary.{kind}]]')}"
    emails = row.get("managers", [])
    if not label or not emails or not all(isinstance(e, str) and "@" in e for e in emails):
        need = "domain" if kind == "client" else "name"
        raise RuleError(f'{where}: every [[summary.{kind}]] needs {need} = "..." and '
                        f'managers = ["someone@domain"]')
    language = row.get("language", "ru")
    if language not in LANGUAGES:
        raise RuleError(f"{where}: language is one of {LANGUAGES}")
    emails = tuple(e.strip().lower() for e in emails)
    if kind == "client":
        return Readers(str(label), emails, language, domain=str(label).strip().lower())
    team = tuple(c.strip().lower() for c in row.get("consultants", []))
    return Readers(str(label), emails, language, consultants=team)
