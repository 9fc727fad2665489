"""What every handler shares: the desk's parts, who is signed in, CSRF, and rendering a page."""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from assistant.web import i18n
from assistant.web.people import Viewer, viewer_for
from assistant.web.security import Csrf
from assistant.web.state import Keeper

log = logging.getLogger("assistant.web")

TEMPLATES = Path(__file__).resolve().parent / "templates"
ANON_COOKIE, LANG_COOKIE, FLASH_COOKIE = "desk_anon", "desk_lang", "desk_flash"


class NotSignedIn(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class Forbidden(Exception):
    """Signed in, but this person may not see or do this."""


@dataclass
class Desk:
    """The desk's parts, built once by create_app and kept on the ASGI app's state."""

    app: object                 # assistant.app.App
    keeper: Keeper
    csrf: Csrf
    env: Environment
    https: bool

    @property
    def session_cookie(self) -> str:
        # __Host- cookies are only accepted over https, for the whole site, from this host.
        return "__Host-desk_session" if self.https else "desk_session"


def make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["left"] = i18n.left
    env.filters["span"] = i18n.span
    env.filters["size"] = i18n.size
    env.filters["at"] = i18n.at
    return env


def desk(request: Request) -> Desk:
    return request.app.state.desk


def current(request: Request) -> Viewer | None:
    """The signed-in person, or None; a session of someone no longer configured is void."""
    if "viewer" in request.state._state:
        return request.state.viewer
    d = desk(request)
    cookie = request.cookies.get(d.session_cookie)
    email = d.keeper.session_email(cookie) if cookie else None
    viewer = viewer_for(d.app.settings, email) if email else None
    request.state.viewer = viewer
    return viewer


def require(request: Request, *roles: str) -> Viewer:
    """The signed-in person if they hold one of `roles`; else NotSignedIn or Forbidden."""
    viewer = current(request)
    if viewer is None:
        raise NotSignedIn()
    if roles and not any(viewer.can(role) for role in roles):
        raise Forbidden(f"{viewer.email} may not open {request.url.path}")
    return viewer


def binding(request: Request) -> str:
    """What the CSRF token is bound to: the session cookie, else the anonymous cookie."""
    d = desk(request)
    return (request.cookies.get(d.session_cookie) or request.cookies.get(ANON_COOKIE)
            or request.state._state.get("anon", ""))


async def form_checked(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token matches this browser; else Forbidden."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if not desk(request).csrf.valid(binding(request), values.get("csrf")):
        raise Forbidden("the form's CSRF token is missing or wrong")
    return values


def language(request: Request) -> str:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in i18n.LANGUAGES:
        return chosen
    viewer = current(request)
    if viewer is not None:
        return next((lang for lang in viewer.languages if lang in i18n.LANGUAGES), "ru")
    fallback = desk(request).app.settings.support.language
    return fallback if fallback in i18n.LANGUAGES else "ru"


def flash(response, key: str, text: str = "") -> None:
    """A one-time notice for the next page (after a redirect)."""
    response.set_cookie(FLASH_COOKIE, quote(json.dumps([key, text])), max_age=60,
                        httponly=True, samesite="lax", secure=False, path="/")


def render(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    d = desk(request)
    lang = language(request)
    anon = None
    if not request.cookies.get(d.session_cookie) and not request.cookies.get(ANON_COOKIE):
        anon = request.state._state.get("anon") or secrets.token_urlsafe(16)
        request.state.anon = anon
    notice = _read_flash(request)
    page = d.env.get_template(name).render(
        t=i18n.translator(lang), lang=lang, viewer=current(request), csrf=d.csrf.token(binding(request)),
        path=request.url.path, notice=notice, tz=d.app.settings.support.timezone,
        now=d.app.clock(), status=status, **values)
    response = HTMLResponse(page, status_code=status)
    if anon:
        response.set_cookie(ANON_COOKIE, anon, httponly=True, samesite="lax", secure=d.https, path="/")
    if notice:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def _read_flash(request: Request) -> tuple[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        key, text = json.loads(unquote(raw))
        return str(key), str(text)
    except (ValueError, TypeError):
        return None


def back_to(path: str, key: str = "", text: str = "") -> RedirectResponse:
    """A 303 to a page of our own (never elsewhere), with a notice when given."""
    if not path.startswith("/") or path.startswith("//") or "\\" in path:
        path = "/"
    response = RedirectResponse(path, status_code=303)
    if key:
        flash(response, key, text)
    return response
