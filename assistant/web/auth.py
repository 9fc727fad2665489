"""Signing in by a one-time link mailed to a configured address, signing out, the language.

The request for a link answers the same for every address, and takes the same time: the
mail is written after the answer has gone. A link works once, for `web.link_minutes`,
for the address it was mailed to; opening it shows a button, because mail scanners
open links too and must not spend them.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from datetime import timedelta

from fastapi import APIRouter, BackgroundTasks, Request

from assistant.errors import MailboxUnavailable
from assistant.transport.outbox import Letter
from assistant.web import i18n
from assistant.web.pages import (LANG_COOKIE, back_to, current, desk, form_checked, language,
                                 render)
from assistant.web.people import CONSULTANT, MANAGER, viewer_for
from assistant.store.states import MailKind

log = logging.getLogger("assistant.web.auth")
router = APIRouter()

LINKS_PER_ADDRESS = 3           # per ADDRESS_WINDOW; more are dropped without a word
ADDRESS_WINDOW = timedelta(minutes=15)
REQUESTS_PER_BROWSER = 10       # per BROWSER_WINDOW seconds from one client address
BROWSER_WINDOW = 600.0


class Limiter:
    """At most `count` events per `window` seconds per key, remembered in this process."""

    def __init__(self, count: int, window: float, clock=time.monotonic):
        self.count, self.window, self.clock = count, window, clock
        self.seen: dict[str, deque] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self.lock:
            times = self.seen.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) >= self.count:
                return False
            times.append(now)
            return True


@router.get("/")
def home(request: Request):
    viewer = current(request)
    if viewer is None:
        return back_to("/signin")
    if viewer.can(CONSULTANT):
        return back_to("/queue")
    if viewer.can(MANAGER):
        return back_to("/summary")
    return back_to("/outbox")


@router.get("/signin")
def signin_page(request: Request):
    return render(request, "signin.html")


@router.post("/signin")
async def ask_for_link(request: Request, tasks: BackgroundTasks):
    form = await form_checked(request)
    d = desk(request)
    if not request.app.state.signin_limiter.allow(request.client.host if request.client else "?"):
        return render(request, "error.html", status=429, message="")
    email = form.get("email", "").strip().lower()
    viewer = viewer_for(d.app.settings, email) if "@" in email else None
    if viewer is not None:
        tasks.add_task(_mail_link, d, viewer, language(request))
    minutes = d.app.settings.web.link_minutes
    return render(request, "signin_sent.html", minutes=minutes)


def _mail_link(d, viewer, lang: str) -> None:
    """Queue the link through the outbox and send it at once (the daemon retries it)."""
    app = d.app
    since = app.clock() - ADDRESS_WINDOW
    if d.keeper.links_since(viewer.email, since) >= LINKS_PER_ADDRESS:
        log.warning("web: sign-in link for %s not sent: %d already in %s", viewer.email,
                    LINKS_PER_ADDRESS, ADDRESS_WINDOW)
        return
    token = d.keeper.issue_link(viewer.email)
    lang = next((code for code in viewer.languages if code in i18n.LANGUAGES), lang)
    t = i18n.translator(lang)
    link = f"{str(app.settings.web.base_url).rstrip('/')}/signin/{token}"
    domain = app.settings.support.domain
    letter = Letter(to=(viewer.email,), subject=t("mail.signin.subject"),
                    text=t("mail.signin.body", name=viewer.name, link=link,
                           minutes=app.settings.web.link_minutes),
                    message_id=f"signin.{secrets.token_hex(8)}@{domain}",
                    from_name=app.settings.support_name(lang))
    outbox = app.outbox
    with app.store.session() as session:
        row_id = outbox.queue(session, letter, kind=MailKind.SIGNIN).id
    try:
        outbox.send_now(row_id)
    except MailboxUnavailable as exc:
        log.warning("web: sign-in link for %s waits in the outbox: %s", viewer.email, exc)
    log.info("web: sign-in link mailed to %s", viewer.email)


@router.get("/signin/{token}")
def open_link(request: Request, token: str):
    email = desk(request).keeper.link_email(token)
    if email is not None and viewer_for(desk(request).app.settings, email) is None:
        email = None
    return render(request, "signin_confirm.html", status=200 if email else 410,
                  email=email, token=token)


@router.post("/signin/link")
async def use_link(request: Request):
    form = await form_checked(request)
    d = desk(request)
    signed = d.keeper.redeem(form.get("token", ""))
    if signed is None or viewer_for(d.app.settings, signed.email) is None:
        return render(request, "signin_confirm.html", status=410, email=None, token="")
    log.info("web: %s signed in", signed.email)
    response = back_to("/", "signed_in")
    response.set_cookie(d.session_cookie, signed.token, httponly=True, samesite="lax",
                        secure=d.https, path="/",
                        max_age=int(d.keeper.session_life.total_seconds()))
    return response


@router.post("/signout")
async def sign_out(request: Request):
    await form_checked(request)
    d = desk(request)
    cookie = request.cookies.get(d.session_cookie)
    if cookie:
        d.keeper.close(cookie)
    response = back_to("/signin", "signed_out")
    response.delete_cookie(d.session_cookie, path="/", secure=d.https, httponly=True)
    return response


@router.post("/language")
async def choose_language(request: Request):
    form = await form_checked(request)
    response = back_to(form.get("back", "/"))
    if form.get("lang") in i18n.LANGUAGES:
        response.set_cookie(LANG_COOKIE, form["lang"], max_age=365 * 86400, samesite="lax",
                            secure=desk(request).https, path="/")
    return response
