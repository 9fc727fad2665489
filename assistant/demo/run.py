"""`assistant demo`: a throwaway mail server, a dozen sample mails, the whole walk, then cleanup."""

from __future__ import annotations

import email
import logging
import shutil
import smtplib
import sys
import tempfile
from dataclasses import replace
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from assistant import config
from assistant.cli import views
from assistant.cli.commands import summary_text
from assistant.app import App
from assistant.config import Person
from assistant.daemon.runner import Daemon
from assistant.errors import AssistantError
from assistant.demo.mailserver import Dovecot, dovecot_binary, free_port
from assistant.demo.smtpsink import SmtpSink
from assistant.demo.samples import SUPPORT, all_samples
from assistant.web.server import start_beside
from assistant.web.state import Keeper

log = logging.getLogger("assistant.demo.run")

CONSULTANT = "maria@example.com"
CLIENT = "anna@romashka.example"


def demo_settings(root: Path, dovecot: Dovecot, sink: SmtpSink) -> config.Settings:
    """Settings for the throwaway servers, written as a real assistant.toml in `root`."""
    (root / "imap.secret").write_text(dovecot.password(SUPPORT))
    path = root / "assistant.toml"
    path.write_text(config.starter_toml(), encoding="utf-8")
    return config.load(path).with_values(
        database__url=f"sqlite:///{root / 'assistant.db'}",
        storage__data_dir=str(root / "data"),
        imap__host=dovecot.host, imap__port=dovecot.port, imap__security="none",
        imap__username=SUPPORT, imap__password_file=str(root / "imap.secret"),
        imap__poll_seconds=1, smtp__host=sink.host, smtp__port=sink.port, smtp__security="none",
        support__address=SUPPORT, support__company_domains=["example.com"])


def run_demo(keep: bool = False) -> int:
    if dovecot_binary() is None:
        print("The demo needs Dovecot: apt-get install dovecot-imapd (or run scripts/demo.sh)")
        return 1
    root = Path(tempfile.mkdtemp(prefix="assistant-demo-"))
    root.chmod(0o755)
    try:
        with Dovecot(root / "dovecot") as dovecot, SmtpSink(dovecot) as sink:
            dovecot.add_user(SUPPORT)
            settings = demo_settings(root, dovecot, sink)
            return _walk_through(settings, dovecot, sink)
    except AssistantError as exc:
        print(f"demo: {exc}")
        return 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


def _walk_through(settings: config.Settings, dovecot: Dovecot, sink: SmtpSink) -> int:
    settings = _with_people(settings, Person("Мария Иванова", CONSULTANT, ("ru", "en")))
    app = App(settings)
    daemon = Daemon(app)
    _say("1. Thirteen mails arrive in the support mailbox")
    for what, raw in all_samples():
        dovecot.append(SUPPORT, raw)
        print(f"   · {what}")
    # The narration is the demo's output; the daemon's own log lines would drown it.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    _say("2. The assistant reads the mailbox (IMAP) and walks every mail")
    tally = daemon.step()
    print("   " + views.tally(tally.as_dict()))
    _say("3. Tickets, most urgent first")
    print(_indent(views.tickets(app.ticket_rows())))
    _say("4. Set aside for a person to look at")
    print(_indent(views.quarantine(app.quarantine_rows())))
    _say(f"5. The acknowledgement of #1 in {CLIENT}'s mailbox, sent without waiting")
    print(_indent(_last_mail(dovecot, CLIENT, about="[#1]")))
    _say("6. A consultant's reply: drafted, mailed to Maria for approval")
    draft_id = app.drafts.new(1, "need_info", missing=[
        "номер одной из накладных, которая не проводится", "снимок экрана с текстом ошибки"])["id"]
    daemon.send()
    print(_indent(_last_mail(dovecot, CONSULTANT, lines=18)))
    _say("7. Maria answers «Согласовано» from her mailbox")
    _reply_from_consultant(dovecot, sink, "Согласовано")
    daemon.step()
    print(_indent(_last_mail(dovecot, CLIENT)))
    print(f"\n   draft {draft_id}: {app.drafts.show(draft_id)['status']}")
    _say("8. Ticket #1 now")
    print(_indent(views.ticket(app.ticket_detail(1)), limit=40))
    _say("9. What the managers see (assistant report)")
    with app.store.session() as session:
        rows = app.checkpoints.summary.collect(session, app.clock(), None)
    print(_indent(summary_text(app, rows, app.clock()), limit=45))
    _say("10. The web desk (assistant serve)")
    _open_desk(app)
    print("\nEverything the demo started is stopped and its files are removed.")
    return 0


def _open_desk(app) -> None:
    """Start the desk on loopback, print its address and a sign-in link for Maria, and
    keep it open while someone looks (Enter stops it; without a terminal it stops at once)."""
    port = free_port()
    app.settings = app.settings.with_values(web__port=port, web__base_url=f"http://127.0.0.1:{port}")
    server, thread = start_beside(app)      # creates the desk's tables too
    keeper = Keeper(app.store, app.clock, app.settings.web.link_minutes, 1)
    link = f"http://127.0.0.1:{port}/signin/{keeper.issue_link(CONSULTANT)}"
    print(f"   the desk:            http://127.0.0.1:{port}/")
    print(f"   sign in as Maria:    {link}")
    print("   (in real use the link comes by mail: type your address at /signin)")
    try:
        if sys.stdin.isatty():
            input("\n   Press Enter to stop the desk and end the demo… ")
    except EOFError:
        pass
    finally:
        server.should_exit = True
        thread.join(5)


def _with_people(settings, consultant):
    return replace(settings, consultants=(consultant,))


def _reply_from_consultant(dovecot: Dovecot, sink: SmtpSink, text: str) -> None:
    request = email.message_from_bytes(dovecot.messages(CONSULTANT)[-1], policy=default_policy)
    reply = EmailMessage()
    reply["From"] = f"Мария Иванова <{CONSULTANT}>"
    reply["To"] = SUPPORT
    reply["Subject"] = "Re: " + request["Subject"]
    reply["In-Reply-To"] = request["Message-ID"]
    reply["References"] = request["Message-ID"]
    reply.set_content(f"{text}\n\n> {request.get_content().splitlines()[0]}\n")
    with smtplib.SMTP(sink.host, sink.port) as smtp:
        smtp.send_message(reply)


def _last_mail(dovecot: Dovecot, user: str, lines: int = 30, about: str = "") -> str:
    messages = dovecot.messages(user) if dovecot.has_user(user) else []
    parsed = [email.message_from_bytes(raw, policy=default_policy) for raw in messages]
    parsed = [m for m in parsed if about in m["Subject"]]
    if not parsed:
        return "(nothing yet)"
    mail = parsed[-1]
    body = mail.get_body(("plain",)).get_content().strip().splitlines()
    head = [f"From: {mail['From']}", f"To: {mail['To']}", f"Subject: {mail['Subject']}",
            f"In-Reply-To: {mail['In-Reply-To'] or '-'}", ""]
    return "\n".join(head + body[:lines] + (["…"] if len(body) > lines else []))


def _say(title: str) -> None:
    print(f"\n\033[1m{title}\033[0m" if _tty() else f"\n{title}")


def _tty() -> bool:
    return sys.stdout.isatty()


def _indent(text: str, limit: int = 60) -> str:
    out = text.splitlines()
    return "\n".join("   " + line for line in out[:limit])
