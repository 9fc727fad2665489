"""The operator's pages: quarantine and outbox, with retry and release as on the command line."""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistant.web.pages import back_to, desk, form_checked, render, require
from assistant.web.people import OPERATOR

router = APIRouter()


@router.get("/quarantine")
def quarantine(request: Request):
    require(request, OPERATOR)
    return render(request, "quarantine.html", rows=desk(request).app.quarantine_rows())


@router.get("/quarantine/{number}")
def quarantined(request: Request, number: int):
    require(request, OPERATOR)
    return render(request, "quarantined.html", r=desk(request).app.desk.quarantine_detail(number))


@router.post("/quarantine/{number}/{action}")
async def settle(request: Request, number: int, action: str):
    require(request, OPERATOR)
    await form_checked(request)
    if action not in ("retry", "release"):
        return back_to("/quarantine")
    outcome = desk(request).app.desk.retry_quarantined(number, release=action == "release")
    where = f" #{outcome.ticket_id}" if outcome.ticket_id else ""
    said = f"{outcome.fate.value}{where}" + (f": {outcome.reason}" if outcome.reason else "")
    return back_to("/quarantine", "retried", said)


@router.get("/outbox")
def outbox(request: Request, all: int = 0):
    require(request, OPERATOR)
    rows = desk(request).app.outbox_rows(include_sent=bool(all))
    return render(request, "outbox.html", rows=rows, everything=bool(all))


@router.post("/outbox/{number}/retry")
async def retry(request: Request, number: int):
    require(request, OPERATOR)
    await form_checked(request)
    desk(request).app.outbox_desk.retry(number)
    return back_to("/outbox", "requeued")
