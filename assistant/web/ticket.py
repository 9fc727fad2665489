"""The ticket page and what a consultant does on it: note, change, take, answer."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from assistant.tickets import promises, worklog
from assistant.cli.commands import situation_values
from assistant.errors import NotFound
from assistant.store.models import Attachment, Message
from assistant.store.states import PRIORITIES, Status
from assistant.web import mailview
from assistant.web.pages import Forbidden, back_to, desk, form_checked, render, require
from assistant.web.people import CONSULTANT, MANAGER, Viewer
from assistant.web.queue import names
from assistant.web.security import DOWNLOAD_POLICY, headers, mail_policy

router = APIRouter()

ANSWERS = ("need_info", "options", "progress", "resolved", "forwarded")


def visible_detail(request: Request, number: int, viewer: Viewer) -> dict:
    """The ticket as `App.ticket_detail` gives it, once this person may see it."""
    detail = desk(request).app.ticket_detail(number)
    if not viewer.sees(detail["client"]):
        raise Forbidden(f"{viewer.email} may not see ticket #{number}")
    return detail


@router.get("/tickets/{number}")
def ticket_page(request: Request, number: int, html: int = 0, images: int = 0):
    viewer = require(request, CONSULTANT, MANAGER)
    app = desk(request).app
    detail = visible_detail(request, number, viewer)
    with app.store.session() as session:
        entries = worklog.entries_since(session, [number], None,
                                        visible_only=not viewer.ours).get(number, [])
        promised = promises.of_ticket(session, number)
    return render(request, "ticket.html", d=detail, worklog=entries, promises=promised,
                  drafts=app.drafts.of_ticket(number) if viewer.can(CONSULTANT) else [],
                  names=names(app.settings), html_for=html, images=bool(images),
                  priorities=PRIORITIES, statuses=[s.value for s in Status],
                  situations=[s for s in ANSWERS if s in app.drafter.situations()])


def _message(request: Request, number: int, message_id: int, viewer: Viewer) -> Message:
    with desk(request).app.store.session() as session:
        message = session.get(Message, message_id)
    if message is None or message.ticket_id != number:
        raise NotFound(f"no message {message_id} on ticket #{number}")
    visible_detail(request, number, viewer)
    return message


@router.get("/tickets/{number}/messages/{message_id}/html")
def mail_frame(request: Request, number: int, message_id: int, images: int = 0):
    """The client's HTML, sanitised, for a sandboxed frame; outside images only when asked."""
    viewer = require(request, CONSULTANT, MANAGER)
    message = _message(request, number, message_id, viewer)
    body = mailview.safe_html(desk(request).app, message)
    page = desk(request).env.get_template("mail_frame.html").render(body=body)
    response = HTMLResponse(page)
    response.headers.update(headers(desk(request).https, mail_policy(bool(images))))
    return response


@router.get("/tickets/{number}/attachments/{attachment_id}")
def download(request: Request, number: int, attachment_id: int):
    """An attachment as a download only: never shown in the browser, whatever it claims to be."""
    viewer = require(request, CONSULTANT, MANAGER)
    with desk(request).app.store.session() as session:
        row = session.get(Attachment, attachment_id)
    if row is None:
        raise NotFound(f"no attachment {attachment_id}")
    message = _message(request, number, row.message_id, viewer)
    found = mailview.attachment(desk(request).app, message, row)
    response = Response(found.data, media_type="application/octet-stream")
    response.headers["Content-Disposition"] = _disposition(found.filename)
    response.headers.update(headers(desk(request).https, DOWNLOAD_POLICY))
    return response


def _disposition(filename: str) -> str:
    """RFC 6266: an ASCII fallback name and the real one in RFC 5987 encoding."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in filename)
    return f"attachment; filename=\"{fallback or 'attachment'}\"; filename*=UTF-8''{quote(filename)}"


@router.post("/tickets/{number}/note")
async def add_note(request: Request, number: int):
    viewer = require(request, CONSULTANT)
    form = await form_checked(request)
    desk(request).app.worklog.add(number, form.get("text", ""), viewer.email,
                                   internal=form.get("internal") == "1")
    return back_to(f"/tickets/{number}", "note")


@router.post("/tickets/{number}/change")
async def change(request: Request, number: int):
    viewer = require(request, CONSULTANT)
    form = await form_checked(request)
    app = desk(request).app
    detail = app.ticket_detail(number)
    wanted = {field: form[field] for field in ("priority", "status")
              if form.get(field) and form[field] != detail[field]}
    if not wanted:
        return back_to(f"/tickets/{number}", "unchanged")
    if not form.get("why", "").strip():
        return back_to(f"/tickets/{number}", "reason_needed")
    said = app.desk.change_ticket(number, wanted, who=viewer.email, why=form["why"].strip())
    return back_to(f"/tickets/{number}", "changed", "; ".join(said))


@router.post("/tickets/{number}/take")
async def take(request: Request, number: int):
    viewer = require(request, CONSULTANT)
    await form_checked(request)
    desk(request).app.desk.change_ticket(number, {"assignee": viewer.email}, who=viewer.email,
                                         why="taken at the desk")
    return back_to(f"/tickets/{number}", "taken")


@router.post("/tickets/{number}/drafts")
async def new_draft(request: Request, number: int):
    require(request, CONSULTANT)
    form = await form_checked(request)
    situation = form.get("situation", "")
    if situation not in ANSWERS:
        raise NotFound(f"no situation {situation!r} to answer with")
    items = [line.strip() for line in form.get("items", "").splitlines() if line.strip()]
    draft = desk(request).app.drafts.new(number, situation, **situation_values(situation, items))
    return back_to(f"/drafts/{draft['id']}", "drafted")
