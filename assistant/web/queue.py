"""My queue: open tickets, critical first, then by what is due, with the drafts waiting on them."""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistant.web.pages import desk, render, require
from assistant.web.people import CONSULTANT, MANAGER

router = APIRouter()

PAGE = 50
SHOWS = ("mine", "all", "unassigned")


@router.get("/queue")
def my_queue(request: Request, show: str = "", page: int = 1):
    viewer = require(request, CONSULTANT, MANAGER)
    app = desk(request).app
    show = show if show in SHOWS else ("mine" if viewer.can(CONSULTANT) else "all")
    page = max(1, page)
    count, rows = app.desk.queue(assignee=viewer.email if show == "mine" else None,
                                 unassigned=show == "unassigned", domains=viewer.domains,
                                 limit=PAGE, offset=(page - 1) * PAGE)
    return render(request, "queue.html", rows=rows, count=count, show=show,
                  shows=SHOWS if viewer.can(CONSULTANT) else ("all",), page=page,
                  pages=max(1, -(-count // PAGE)), names=names(app.settings))


def names(settings) -> dict[str, str]:
    """Addresses of our people to their names, for every page that shows who did what."""
    found = {p.email: p.name for p in (*settings.managers, *settings.consultants)}
    found.setdefault("assistant", "assistant")
    return found
