"""The command line: `assistant COMMAND`; exit 0 done, 1 input rejected, 2 usage error."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from assistant import config
from assistant.config import Settings
from assistant.cli import logformat, views
from assistant.cli.parser import build_parser
from assistant.app import App
from assistant.daemon import health
from assistant.errors import AssistantError, ConfigError, NotFound, Rejected, crash_reason
from assistant.policy.timetable import Readers
from assistant.clock import utcnow

log = logging.getLogger("assistant.cli.commands")


# Builds the assembled assistant for one command from its settings and clock.
AppFactory = Callable[[Settings, Callable[[], datetime]], App]


def main(argv: list[str] | None = None, *, clock: Callable[[], datetime] = utcnow,
         make_app: AppFactory = App) -> int:
    """Run one command; returns its exit status.

    `clock` is where every "now" of the run comes from, and `make_app` builds the parts
    from the settings: a test passes a fixed clock, or a factory that hands back an App it
    keeps, to run a command at a known time and look at what it did.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    logformat.configure(logging.WARNING - 10 * min(args.verbose, 2) if args.command != "run"
                        else logging.INFO - 10 * min(args.verbose, 1), args.log_format, sys.stderr)
    try:
        path = config.locate(args.config)
        if args.command == "init" and path is not None and not path.exists():
            path = None       # init is what writes it
        return COMMANDS[args.command](make_app(config.load(path), clock), args)
    except (Rejected, NotFound, ConfigError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 1
    except AssistantError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


def _usage(message: str) -> int:
    print(f"assistant: {message}", file=sys.stderr)
    return 2


def cmd_init(app: App, args) -> int:
    target = config.locate(args.config) or Path("assistant.toml")
    if target.exists():
        print(f"{target} is already there; leaving it as it is")
    else:
        target.write_text(config.starter_toml(), encoding="utf-8")
        print(f"wrote {target}: fill in [imap], [smtp] and [support], then run `assistant run`")
        app = App(config.load(target), clock=app.clock)
    app.store  # creating the store migrates the database
    print(f"database ready: {app.settings.database_url}")
    return 0


def cmd_import(app: App, args) -> int:
    from assistant.transport import files as sources    # lazy: the mailbox module, for import only
    app.walk.read_history(sources.arrived, acknowledge=args.acknowledge)  # its own dates
    paths = list(args.paths)
    total = sources.count(paths) if not args.json else 0
    progress = views.Progress(total, enabled=not args.json and sys.stderr.isatty())
    tally = app.import_mail(sources.read(paths), progress=progress.step)
    progress.done()
    if args.json:
        print(json.dumps(tally.as_dict()))
    else:
        print(views.tally(tally.as_dict()))
    return 0


def cmd_parse(app: App, args) -> int:
    """One result per file, in the order given; a file that cannot be read says why.

    With --json every file gets its line, an unreadable one `{"file", "error"}`, so a
    consumer can line the output up with its input.
    """
    rejected = 0
    for name in args.files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else _read(name)
            understood = app.understand(raw, name)
        except Exception as exc:  # noqa: BLE001 - one file's failure is that file's line
            reason = (str(exc).splitlines() or [type(exc).__name__])[0] \
                if isinstance(exc, AssistantError) else crash_reason(exc)
            print(f"assistant: {name}: {reason}", file=sys.stderr)
            if args.json:
                print(json.dumps({"file": name, "error": reason}, ensure_ascii=False))
            rejected += 1
            continue
        if args.json:
            print(json.dumps(understood, ensure_ascii=False))
        else:
            print(views.understood(understood))
    return 1 if rejected else 0


def cmd_tickets(app: App, args) -> int:
    if args.action == "list":
        rows = app.ticket_rows(include_closed=args.all)
        print(json.dumps({"tickets": rows}, ensure_ascii=False) if args.json else views.tickets(rows))
        return 0
    if args.number is None:
        return _usage(f"tickets {args.action} needs a ticket number")
    if args.action == "acknowledge":
        said = app.desk.acknowledge_again(args.number, who=args.by or "operator", why=args.why)
        print(json.dumps({"ticket": args.number, "result": said}) if args.json else said)
        return 0
    if args.action == "show":
        detail = app.ticket_detail(args.number)
        print(json.dumps(detail, ensure_ascii=False, default=str) if args.json
              else views.ticket(detail))
        return 0
    changes = {}
    for item in args.changes:
        field, sep, value = item.partition("=")
        if not sep:
            return _usage(f"{item!r}: write changes as FIELD=VALUE")
        changes[field.strip()] = value.strip()
    if not changes:
        return _usage("tickets set N needs at least one FIELD=VALUE")
    for line in app.change_ticket(args.number, changes, who=args.by or "consultant", why=args.why):
        print(line)
    return 0


def cmd_quarantine(app: App, args) -> int:
    if args.action == "list":
        rows = app.quarantine_rows()
        print(json.dumps({"quarantine": rows}, ensure_ascii=False) if args.json
              else views.quarantine(rows))
        return 0
    if args.number is None:
        return _usage(f"quarantine {args.action} needs a number")
    if args.action == "show":
        detail = app.quarantine_detail(args.number)
        print(json.dumps(detail, ensure_ascii=False) if args.json else views.quarantined(detail))
        return 0
    outcome = app.retry_quarantined(args.number, release=args.action == "release")
    if args.json:
        print(json.dumps({"fate": outcome.fate.value, "ticket": outcome.ticket_id,
                          "reason": outcome.reason}))
    else:
        print(views.outcome(outcome))
    return 0 if outcome.fate.value != "quarantined" else 1


def cmd_drafts(app: App, args) -> int:
    if args.action == "list":
        rows = app.draft_rows(include_done=args.all)
        print(json.dumps({"drafts": rows}, ensure_ascii=False) if args.json else views.drafts(rows))
        return 0
    if args.number is None:
        return _usage(f"drafts {args.action} needs a number")
    who = args.by or "consultant"
    if args.action == "show":
        draft = app.drafts.show(args.number)
        print(json.dumps(draft, ensure_ascii=False) if args.json else views.draft(draft))
        return 0
    if args.action == "new":
        if not args.situation:
            return _usage("drafts new N SITUATION: which situation?")
        draft = app.drafts.new(args.number, args.situation, **situation_values(args.situation, args.item))
        print(json.dumps(draft, ensure_ascii=False) if args.json else views.draft(draft))
        return 0
    if args.action == "edit":
        text = _edited_text(app, args)
        said = app.drafts.edit(args.number, text, who)
    elif args.action == "approve":
        said = app.drafts.approve(args.number, who, anyway=args.anyway)
    else:
        said = app.drafts.reject(args.number, who)
    print(json.dumps({"draft": args.number, "result": said.text}) if args.json
          else f"draft {args.number}: {said.text}")
    from assistant.replies.approval import DecisionKind  # lazy: other commands need no verdicts
    return 1 if said.kind is DecisionKind.HELD else 0


def situation_values(situation: str, items: list[str]) -> dict:
    """What `--item` means for each situation, as the templates' extra values."""
    if situation == "need_info":
        return {"missing": items}
    if situation == "progress":
        return {"done": items, "next_steps": []}
    if situation == "options":
        return {"options": [{"title": item, "detail": "", "recommended": number == 0}
                            for number, item in enumerate(items)]}
    if situation == "forwarded":
        return {"team": items[0] if items else ""}
    if situation == "resolved":
        return {"resolution": items[0] if items else "", "check": items[1] if len(items) > 1 else ""}
    return {}


def _edited_text(app: App, args) -> str:
    if args.file == "-":
        return sys.stdin.read()
    if args.file:
        return _read(args.file).decode("utf-8")
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor or not sys.stdin.isatty():
        raise Rejected("give the new text with --file PATH (or - for standard input)")
    with tempfile.NamedTemporaryFile("w+", suffix=".txt", encoding="utf-8") as handle:
        handle.write(app.drafts.show(args.number)["text"])
        handle.flush()
        subprocess.run([*editor.split(), handle.name], check=False)
        handle.seek(0)
        return handle.read()


def cmd_outbox(app: App, args) -> int:
    if args.action == "list":
        rows = app.outbox_rows(include_sent=args.all)
        print(json.dumps({"outbox": rows}, ensure_ascii=False) if args.json else views.outbox(rows))
        return 0
    if args.number is None:
        return _usage("outbox retry needs a number")
    said = app.outbox_desk.retry(args.number)
    print(json.dumps({"mail": args.number, "result": said}) if args.json else said)
    return 0


def cmd_check_tone(app: App, args) -> int:
    text = sys.stdin.read() if args.file == "-" else _read(args.file).decode("utf-8", "replace")
    findings = app.tone.check(text, args.lang)
    if args.json:
        print(json.dumps({"findings": [
            {"rule": f.rule, "kind": f.kind, "start": f.start, "end": f.end, "text": f.text,
             "suggestion": f.suggestion, "explain": f.explain} for f in findings]},
            ensure_ascii=False))
    else:
        print(views.findings(text, findings))
    if findings:
        # Exit 1 lets a script or an editor hook stop on a letter that needs another look.
        print(f"{len(findings)} tone finding{'s' if len(findings) != 1 else ''}", file=sys.stderr)
        return 1
    return 0


def cmd_note(app: App, args) -> int:
    entries = app.worklog.add(args.number, " ".join(args.text), args.by,
                               internal=args.internal, next_step=args.next)
    if args.json:
        print(json.dumps({"ticket": args.number, "entries": [
            {"id": e.id, "kind": e.kind, "text": e.text, "client_visible": e.client_visible,
             "author": e.author} for e in entries]}, ensure_ascii=False))
        return 0
    for entry in entries:
        print(f"#{args.number} {'next step' if entry.kind == 'next' else 'done'}"
              f" ({'the client will see it' if entry.client_visible else 'internal'}): {entry.text}")
    return 0


def cmd_report(app: App, args) -> int:
    checkpoints, now = app.checkpoints, app.clock()
    with app.store.session() as session:
        since = checkpoints.last_summary_at(session)
        if args.send:
            queued = checkpoints.send_summary(session, now, since)
        else:
            rows = checkpoints.summary.collect(session, now, since)
    if args.send:
        sent = app.outbox.send_due(after_sent=app.dispatcher.after_sent)[0] \
            if app.settings.smtp.host else 0
        if args.json:
            print(json.dumps({"queued": len(queued), "sent": sent,
                              "to": [row.recipients for row in queued]}))
        else:
            for row in queued:
                print(f"summary for {row.recipients}: {row.status}")
            print(f"{len(queued)} summaries queued, {sent} sent"
                  + ("" if app.settings.smtp.host else " (no [smtp] host: `assistant run` sends them)"))
        return 0
    if args.json:
        from assistant.schedule.summary import row_json  # lazy: loads Babel, for reports only
        print(json.dumps({"generated_at": now.isoformat(), "since": since.isoformat() if since else None,
                          "incidents": [row_json(r) for r in rows]}, ensure_ascii=False))
        return 0
    print(summary_text(app, rows, now), end="")
    return 0


def summary_text(app: App, rows: list, now) -> str:
    """The manager summary as our own managers read it, in the support language."""
    ours = Readers("", (), app.settings.support.language)
    checkpoints = app.checkpoints
    return checkpoints.summary.render(rows, ours, now, checkpoints.next_slot(now))[1]


def cmd_run(app: App, args) -> int:
    # Lazy: the daemon brings imapclient and the scheduler, which the list commands never need.
    from assistant.daemon.runner import Daemon
    server = None
    if app.settings.web.enabled and not args.once:
        # Lazy: the web stack (FastAPI, uvicorn) takes half a second to import.
        from assistant.web.server import start_beside
        server, _thread = start_beside(app)
    try:
        return Daemon(app).run(once=args.once)
    finally:
        if server is not None:
            server.should_exit = True


def cmd_serve(app: App, args) -> int:
    # Lazy: the web stack (FastAPI, uvicorn) takes half a second to import.
    from assistant.web.server import serve
    return serve(app)


def cmd_status(app: App, args) -> int:
    found = health.check(app)
    print(json.dumps(found.as_dict()) if args.json else health.text(found))
    return 0 if not found.problems else 1


def cmd_demo(app: App, args) -> int:
    # Lazy: the demo brings its own test servers, which no other command loads.
    from assistant.demo.run import run_demo
    return run_demo()


def _read(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as exc:
        raise Rejected(exc.strerror or str(exc)) from exc


COMMANDS = {
    "init": cmd_init, "run": cmd_run, "demo": cmd_demo, "import": cmd_import,
    "parse": cmd_parse, "tickets": cmd_tickets, "quarantine": cmd_quarantine,
    "check-tone": cmd_check_tone, "drafts": cmd_drafts, "note": cmd_note, "report": cmd_report,
    "outbox": cmd_outbox, "status": cmd_status, "serve": cmd_serve,
}
