"""The summary as a page: every open incident with its deadline, and a chart of recent weeks."""

from __future__ import annotations

from fastapi import APIRouter, Request

from assistant.desk import trends
from assistant.schedule.rhythm import AT_RISK, ON_TRACK, OVERDUE
from assistant.schedule.summary import TimeWords
from assistant.web import chart
from assistant.web.pages import desk, language, render, require
from assistant.web.people import CONSULTANT, MANAGER

router = APIRouter()

WEEKS = 8


@router.get("/summary")
def summary_page(request: Request):
    viewer = require(request, CONSULTANT, MANAGER)
    app = desk(request).app
    lang, zone, now = language(request), app.settings.support.timezone, app.clock()
    words = TimeWords(lang, zone, now)
    names = {p.email: p.name for p in app.settings.consultants}
    checkpoints = app.checkpoints
    with app.store.session() as session:
        rows = checkpoints.summary.collect(session, now, checkpoints.last_summary_at(session))
        weeks = trends.weekly(session, now, zone, WEEKS, domains=viewer.domains)
    incidents = [_incident(row, words, names) for row in rows
                 if viewer.sees(row.ticket.client_email)]
    groups = [{"name": status, "rows": [i for i in incidents if i["status"] == status]}
              for status in (OVERDUE, AT_RISK, ON_TRACK)]
    return render(request, "summary.html", incidents=incidents, groups=groups,
                  chart=chart.build(weeks, lang))


def _incident(row, words: TimeWords, names: dict[str, str]) -> dict:
    ticket = row.ticket
    return {"id": ticket.id, "subject": ticket.subject, "status": row.status,
            "client": ticket.client_name or ticket.client_email, "internal": ticket.internal,
            "priority": ticket.priority, "critical": ticket.critical,
            "due_text": words.at(ticket.resolution_due),
            "heard_text": words.span(row.silent_for) if row.silent_for is not None else "",
            "checkpoint_text": words.at(row.checkpoint),
            "missed": [{"due_text": words.at(p.due), "by": names.get(p.promised_by, p.promised_by)}
                       for p in row.missed],
            "consultant": row.consultant}
