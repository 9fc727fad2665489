"""The draft editor: the reply beside the client's words, tone findings marked, and the decision."""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistant.replies.approval import DecisionKind
from assistant.errors import Stale
from assistant.replies.context import last_client_message
from assistant.store.models import Ticket
from assistant.store.states import DraftStatus
from assistant.web.pages import back_to, desk, form_checked, render, require
from assistant.web.people import CONSULTANT, Viewer
from assistant.web.queue import names
from assistant.web.ticket import visible_detail

router = APIRouter()

# What the page says after a decision (the said.* strings); anything else reads as saved.
OUTCOMES = {DecisionKind.APPROVED: "approved", DecisionKind.REJECTED: "rejected",
            DecisionKind.HELD: "held", DecisionKind.SAVED: "saved"}


def pieces(text: str, findings: list[dict]) -> list[tuple[str, dict | None]]:
    """The text cut at its findings: [("Sorry, ", None), ("you made a mistake", finding), ...]."""
    out, at = [], 0
    for found in sorted(findings, key=lambda f: f["start"]):
        if found["start"] < at or found["end"] > len(text):
            continue            # overlapping or out of date: listed, not marked
        out.append((text[at:found["start"]], None))
        out.append((text[found["start"]:found["end"]], found))
        at = found["end"]
    out.append((text[at:], None))
    return [(piece, found) for piece, found in out if piece]


def _findings(app, text: str, lang: str) -> list[dict]:
    return [{"rule": f.rule, "kind": f.kind, "start": f.start, "end": f.end, "text": f.text,
             "suggestion": f.suggestion, "explain": f.explain} for f in app.tone.check(text, lang)]


def _editor(request: Request, viewer: Viewer, number: int, status: int = 200,
            text: str | None = None, problem: str = ""):
    app = desk(request).app
    draft = app.drafts.show(number)
    visible_detail(request, draft["ticket"], viewer)
    with app.store.session() as session:
        ticket = session.get(Ticket, draft["ticket"])
        last = last_client_message(session, ticket)
    shown = draft["text"] if text is None else text
    findings = draft["findings"] if text is None else _findings(app, shown, draft["language"])
    editing = desk(request).keeper.seen_editing(number, viewer.email)
    return render(request, "draft.html", status=status, draft=draft, ticket=ticket, text=shown,
                  findings=findings, pieces=pieces(shown, findings), editing=editing,
                  editable=draft["status"] == DraftStatus.PENDING, problem=problem,
                  client_text=(last.visible_text or last.text) if last else "",
                  client_from=last.from_address if last else "", names=names(app.settings))


@router.get("/drafts/{number}")
def editor(request: Request, number: int):
    return _editor(request, require(request, CONSULTANT), number)


@router.post("/drafts/{number}")
async def decide(request: Request, number: int):
    viewer, form, app, draft = await _posted(request, number)
    text, action = form.get("text", ""), form.get("action", "save")
    if form.get("apply"):
        text, applied = apply_suggestion(app, text, draft["language"], form["apply"])
        action = "save"
    try:
        said = app.drafts.act(number, action, text, viewer.email, form.get("version"))
    except Stale as exc:
        return _editor(request, viewer, number, status=409, problem=str(exc))
    key = OUTCOMES.get(said.kind, "saved")
    if form.get("apply"):
        key = "applied" if applied else "not_found"
    if key in ("approved", "rejected"):
        return back_to(f"/tickets/{draft['ticket']}", key)
    return back_to(f"/drafts/{number}", key)


async def _posted(request: Request, number: int):
    """(viewer, form, app, draft) of a form posted about a draft the viewer may see."""
    viewer = require(request, CONSULTANT)
    form = await form_checked(request)
    app = desk(request).app
    draft = app.drafts.show(number)
    visible_detail(request, draft["ticket"], viewer)
    return viewer, form, app, draft


def apply_suggestion(app, text: str, lang: str, which: str) -> tuple[str, bool]:
    """The text with one finding's suggestion in place of the phrase; (text, False) if gone.

    `which` is "rule:start:end" as the page showed it; the text is checked again first,
    so a phrase that moved while the consultant typed is still found by its rule.
    """
    try:
        rule, start_text, end_text = which.rsplit(":", 2)
        start, end = int(start_text), int(end_text)
    except ValueError:
        return text, False
    found = [f for f in _findings(app, text, lang) if f["rule"] == rule and f["suggestion"]]
    if not found:
        return text, False
    best = min(found, key=lambda f: (abs(f["start"] - start) + abs(f["end"] - end)))
    suggestion = best["suggestion"]
    if best["text"][:1].isupper():
        suggestion = suggestion[:1].upper() + suggestion[1:]
    return text[:best["start"]] + suggestion + text[best["end"]:], True


@router.post("/drafts/{number}/check")
async def check(request: Request, number: int):
    """The findings of the text being typed, as the fragment the editor swaps in."""
    viewer, form, app, draft = await _posted(request, number)
    desk(request).keeper.seen_editing(number, viewer.email)
    text = form.get("text", "")
    findings = _findings(app, text, draft["language"])
    return render(request, "_findings.html", findings=findings, pieces=pieces(text, findings))
