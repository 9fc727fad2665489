"""The command line's grammar: every command, its arguments and their help."""

from __future__ import annotations

import argparse
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant", description="Email support assistant: every email a ticket.")
    parser.add_argument("--config", help="configuration file (else $ASSISTANT_CONFIG, else ./assistant.toml)")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log lines")
    parser.add_argument("--log-format", choices=["text", "json"], default="text",
                        help="json: one JSON object per log line, for log collectors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("init", help="write a starter assistant.toml and create the database")
    run = commands.add_parser("run", help="the daemon: read mail, send replies, run schedules")
    run.add_argument("--once", action="store_true", help="do what is waiting, then exit")
    commands.add_parser("demo", help="a throwaway mail server, sample mail, the whole walk")
    commands.add_parser("serve", help="the web desk for consultants, managers and operators ([web])")

    imp = commands.add_parser("import", help="ingest .eml files, folders, mbox or Maildir")
    imp.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    imp.add_argument("--json", action="store_true")
    imp.add_argument("--acknowledge", action="store_true",
                     help="send new tickets their acknowledgement too (off: old mail stays quiet)")

    parse = commands.add_parser("parse", help="show how messages are understood (nothing stored)")
    parse.add_argument("files", nargs="+", metavar="FILE", help="files, or - for standard input")
    parse.add_argument("--json", action="store_true")

    tickets = commands.add_parser("tickets", help="list, show or change tickets")
    tickets.add_argument("action", nargs="?", default="list",
                         choices=["list", "show", "set", "acknowledge"],
                         help="acknowledge N: write a failed acknowledgement again")
    tickets.add_argument("number", nargs="?", type=int)
    tickets.add_argument("changes", nargs="*", metavar="FIELD=VALUE",
                         help="with set: priority=high, category=billing, status=resolved")
    tickets.add_argument("--why", default="", help="with set: the reason, kept in the history")
    tickets.add_argument("--by", default="", help="with set: who makes the change")
    tickets.add_argument("--all", action="store_true", help="with list: closed tickets too")
    tickets.add_argument("--json", action="store_true")

    quarantine = commands.add_parser("quarantine", help="messages set aside, and why")
    quarantine.add_argument("action", nargs="?", default="list",
                            choices=["list", "show", "retry", "release"])
    quarantine.add_argument("number", nargs="?", type=int)
    quarantine.add_argument("--json", action="store_true")

    drafts = commands.add_parser("drafts", help="replies waiting for a consultant")
    drafts.add_argument("action", nargs="?", default="list",
                        choices=["list", "show", "new", "edit", "approve", "reject"])
    drafts.add_argument("number", nargs="?", type=int, help="the draft (with new: the ticket)")
    drafts.add_argument("situation", nargs="?", help="with new: acknowledgement, need_info, ...")
    drafts.add_argument("--file", help="with edit: the new text (- for standard input)")
    drafts.add_argument("--item", action="append", default=[], metavar="TEXT",
                        help="with new: what is missing (need_info), what was done (progress), "
                             "an option (options, the recommended one first), the team "
                             "(forwarded) or what was fixed (resolved); repeat as needed")
    drafts.add_argument("--anyway", action="store_true",
                        help="with approve: send despite tone findings")
    drafts.add_argument("--by", default="", help="who decides (a consultant's address)")
    drafts.add_argument("--all", action="store_true", help="with list: decided drafts too")
    drafts.add_argument("--json", action="store_true")

    note = commands.add_parser("note", help="a consultant's work-log entry (feeds progress reports)")
    note.add_argument("number", type=int, metavar="N", help="the ticket")
    note.add_argument("text", nargs="+", metavar="TEXT",
                      help='what was done; a line "next: ..." is the next step')
    note.add_argument("--internal", action="store_true",
                      help="for our own people only: never in a client's letter or summary")
    note.add_argument("--next", action="store_true", help="the whole text is the next step")
    note.add_argument("--by", default="", help="who did it (a consultant's address)")
    note.add_argument("--json", action="store_true")

    report = commands.add_parser("report", help="the manager summary of every open ticket, now")
    report.add_argument("--send", action="store_true",
                        help="mail it to the managers of assistant.toml and rules/checkpoints.toml")
    report.add_argument("--json", action="store_true")

    outbox = commands.add_parser("outbox", help="outgoing mail that failed, waits or may have gone out")
    outbox.add_argument("action", nargs="?", default="list", choices=["list", "retry"])
    outbox.add_argument("number", nargs="?", type=int)
    outbox.add_argument("--all", action="store_true", help="with list: sent mail too")
    outbox.add_argument("--json", action="store_true")

    status = commands.add_parser("status", help="health: mailbox contact, queues, oldest unsent letter, leases")
    status.add_argument("--json", action="store_true")

    tone = commands.add_parser("check-tone", help="find blame, boilerplate, deflection, bureaucratese")
    tone.add_argument("file", metavar="FILE", help="a text file, or - for standard input")
    tone.add_argument("--lang", choices=["ru", "en"])
    tone.add_argument("--json", action="store_true")
    return parser
