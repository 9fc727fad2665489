"""Human output for the command line: tables, a progress bar, one ticket at a glance."""

from __future__ import annotations

import shutil
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from assistant.store.states import Direction


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain table that fits the terminal: the widest column is cut first."""
    if not rows:
        return ""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    room = shutil.get_terminal_size((120, 20)).columns
    while sum(widths) + 2 * (len(widths) - 1) > room and max(widths) > 12:
        widest = widths.index(max(widths))
        widths[widest] -= 1
    lines = [_line(headers, widths), _line(["─" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in rows]
    return "\n".join(lines)


def _line(cells: list[str], widths: list[int]) -> str:
    out = []
    for cell, width in zip(cells, widths):
        out.append(cell if len(cell) <= width else cell[: width - 1] + "…")
        out[-1] = out[-1].ljust(width)
    return "  ".join(out).rstrip()


def left(seconds: int | None) -> str:
    """"3h 20m left", "overdue 1d 2h", or "-"."""
    if seconds is None:
        return "-"
    span = abs(seconds)
    days, rest = divmod(span, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    text = f"{days}d {hours}h" if days else f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"
    return f"{text} left" if seconds >= 0 else f"overdue {text}"


def local(iso: str | None, tz: str) -> str:
    """An ISO time as the operator reads it: "Mon 23 Nov 09:03" in the support time zone."""
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M")


def zone_name(tz: str) -> str:
    """"Etc/GMT-5" as people write it: "UTC+5"."""
    if tz.startswith("Etc/GMT") and len(tz) > 7:
        return "UTC" + ("+" if tz[7] == "-" else "-") + tz[8:]
    return tz


def _for_client(d: dict) -> str:
    zone = d.get("client_timezone")
    if not zone or not d["due"]:
        return ""
    return f"; for the client {local(d['due'], zone)} {zone_name(zone)}"


def tickets(rows: list[dict]) -> str:
    if not rows:
        return "No open tickets."
    body = [[r["ref"], ("CRITICAL" if r["critical"] else r["priority"]), r["status"],
             left(r["seconds_left"]), r["client"] + (" (internal)" if r["internal"] else ""),
             r["subject"]] for r in rows]
    return table(["ticket", "priority", "status", "due", "client", "subject"], body)


def ticket(d: dict) -> str:
    lines = [f"{d['ref']}  {d['subject']}",
             f"client:   {d['client_name'] + ' ' if d['client_name'] else ''}<{d['client']}>"
             + ("  (colleague)" if d["internal"] else ""),
             f"status:   {d['status']}    priority: {d['priority']}"
             + ("  CRITICAL" if d["critical"] else "") + f"    category: {d['category']}",
             f"due:      {d['due_kind']} {local(d['due'], d['timezone'])} "
             f"({left(d['seconds_left'])}, {d['timezone']})" + _for_client(d)]
    lines += grade_lines(d, "          ")
    for reason in d["reasons"]:
        if not reason["effect"].startswith(_GRADE_EFFECTS) and reason["text"] not in _shown(d):
            lines.append(f"          {reason['effect']}: «{reason['text']}» ({reason['rule']})")
    for m in d["messages"]:
        arrow = "→ client" if m["direction"] == Direction.OUT else "← " + m["from"]
        lines += ["", f"── {local(m['received'], d['timezone'])}  {arrow}  [{m['fate']}]",
                  m["visible_text"].strip()]
        for a in m["attachments"]:
            lines.append(f"   📎 {a['name']} ({a['type']}, {size(a['size'])})")
        if m["notes"]:
            lines.append("   note: " + m["notes"].replace("\n", "; "))
    if d["history"]:
        lines += ["", "history:"]
        lines += [f"  {local(h['at'], d['timezone'])}  {h['field']}: {h['old'] or '-'} → {h['new']}"
                  f"  ({h['who']}: {h['why']})" for h in d["history"]]
    return "\n".join(lines)


_GRADE_EFFECTS = ("impact: ", "urgency: ")


def grade_lines(d: dict, indent: str) -> list[str]:
    """ "impact:  company («ни у одного пользователя»)" and the same for urgency, when known."""
    lines = []
    for axis in ("impact", "urgency"):
        grade = d.get(axis)
        if grade:
            said = ", ".join(f"«{e['text']}»" for e in grade["evidence"])
            lines.append(f"{indent}{axis + ':':<9}{grade['level']}" + (f" ({said})" if said else ""))
    return lines


def _shown(d: dict) -> set[str]:
    return {e["text"] for axis in ("impact", "urgency") if d.get(axis) for e in d[axis]["evidence"]}


def size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def tally(t: dict) -> str:
    return (f"read {t['read']}: {t['new_tickets']} new tickets, {t['replies']} replies, "
            f"{t['duplicates']} duplicates, {t['system']} system, {t['quarantined']} quarantined")


def understood(d: dict) -> str:
    flags = [k for k in ("auto_reply", "bounce", "mailing_list", "loop") if d.get(k)]
    lines = [f"{d['file']}", f"  from:     {d['from']}", f"  subject:  {d['subject']}",
             f"  language: {d['language']}   priority: {d['priority']}"
             + ("  CRITICAL" if d["critical"] else "") + f"   category: {d['category']}"]
    lines += grade_lines(d, "            ")
    for r in d["priority_reasons"]:
        if r["text"] and not r["effect"].startswith(_GRADE_EFFECTS) and r["text"] not in _shown(d):
            lines.append(f"            {r['effect']}: «{r['text']}»")
    if flags:
        lines.append("  flags:    " + ", ".join(flags))
    for a in d["attachments"]:
        lines.append(f"  📎 {a['name']} ({a['type']}, {size(a['size'])})")
    for note in d["notes"]:
        lines.append(f"  note:     {note}")
    lines += ["  text:", *("    " + ln for ln in d["visible_text"].strip().splitlines())]
    return "\n".join(lines)


def quarantine(rows: list[dict]) -> str:
    if not rows:
        return "Quarantine is empty."
    return table(["#", "kind", "from", "subject", "reason"],
                 [[str(r["id"]), r["kind"], r["from"] or "?", r["subject"] or "?", r["reason"]]
                  for r in rows])


def quarantined(d: dict) -> str:
    return "\n".join([f"quarantine {d['id']} ({d['kind']}): {d['reason']}",
                      f"from {d['from'] or '?'}, source {d['source'] or '?'}, {size(d['size'])}",
                      "", d["head"]])


def outcome(o) -> str:
    where = f" → #{o.ticket_id}" if o.ticket_id else ""
    return f"{o.fate.value}{where}" + (f": {o.reason}" if o.reason else "")


def drafts(rows: list[dict]) -> str:
    if not rows:
        return "No drafts wait for approval."
    return table(["draft", "ticket", "situation", "lang", "status", "tone", "client", "subject"],
                 [[str(r["id"]), r["ref"], r["situation"], r["language"], r["status"],
                   f"{r['findings']} findings" if r["findings"] else "ok", r["client"], r["subject"]]
                  for r in rows])


def draft(d: dict) -> str:
    lines = [f"draft {d['id']} for #{d['ticket']} ({d['situation']}, {d['language']}): {d['status']}",
             f"template: {d['template']}", "", f"Subject: {d['subject']}", "", d["text"].rstrip()]
    if d["findings"]:
        lines += ["", "tone:"]
        for f in d["findings"]:
            lines.append(f"  {f['kind']}: «{f['text']}» — {f['explain']}"
                         + (f" Try: «{f['suggestion']}»" if f["suggestion"] else ""))
    return "\n".join(lines)


def outbox(rows: list[dict]) -> str:
    if not rows:
        return "Nothing waits in the outbox."
    return table(["#", "status", "kind", "ticket", "to", "tries", "why"],
                 [[str(r["id"]), r["status"], r["kind"], f"#{r['ticket']}" if r["ticket"] else "-",
                   r["to"], str(r["attempts"]), r["error"] or "-"] for r in rows])


def findings(text: str, found: list) -> str:
    if not found:
        return "No tone problems found."
    lines = []
    for f in found:
        line_no = text.count("\n", 0, f.start) + 1
        lines.append(f"line {line_no}: {f.kind}: «{f.text}» ({f.rule})")
        if f.explain:
            lines.append(f"    why: {f.explain}")
        if f.suggestion:
            lines.append(f"    try: {f.suggestion}")
    return "\n".join(lines)


class Progress:
    """A one-line progress bar on stderr, redrawn at most ten times a second."""

    def __init__(self, total: int, enabled: bool = True):
        self.total, self.count, self.enabled = total, 0, enabled and total > 20
        self._drawn = 0.0

    def step(self) -> None:
        self.count += 1
        now = time.monotonic()
        if self.enabled and (now - self._drawn > 0.1 or self.count == self.total):
            self._drawn = now
            share = self.count / self.total if self.total else 1
            bar = "█" * int(share * 30)
            sys.stderr.write(f"\r{bar:<30} {self.count}/{self.total}")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
