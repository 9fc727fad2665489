"""The desk's ASGI app: routes by role, security headers on every response, errors as pages."""

from __future__ import annotations

import hashlib
import hmac
import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlmodel import select
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import NotFound, Rejected, Stale
from assistant.store.models import Setting
from assistant.web import auth, drafts, manager, operator, queue, ticket
from assistant.web.pages import Desk, Forbidden, NotSignedIn, back_to, make_env, render
from assistant.web.security import Csrf, headers
from assistant.web.state import Keeper, ensure_tables

log = logging.getLogger("assistant.web")

STATIC = Path(__file__).resolve().parent / "static"


def create_app(app) -> FastAPI:
    """The desk for an assembled `assistant.app.App` (its settings, store and clock)."""
    settings = app.settings
    ensure_tables(app.store)
    https = str(settings.web.base_url).lower().startswith("https://")
    keeper = Keeper(app.store, app.clock, settings.web.link_minutes,
                    settings.web.session_hours)
    web = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    web.state.desk = Desk(app=app, keeper=keeper, csrf=Csrf(_web_key(app)), env=make_env(),
                          https=https)
    web.state.signin_limiter = auth.Limiter(auth.REQUESTS_PER_BROWSER, auth.BROWSER_WINDOW)
    web.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for module in (auth, queue, ticket, drafts, manager, operator):
        web.include_router(module.router)
    _errors(web)

    @web.middleware("http")
    async def guard(request: Request, call_next):
        response = await call_next(request)
        for name, value in headers(https).items():
            response.headers.setdefault(name, value)
        return response

    return web


def _web_key(app) -> bytes:
    """The desk's own key, derived from the store's signing key (never the key itself)."""
    with app.store.session() as session:
        row = session.exec(select(Setting).where(Setting.key == "signing_key")).one()
    return hmac.new(bytes.fromhex(row.value), b"web desk", hashlib.sha256).digest()


def _errors(web: FastAPI) -> None:
    def page(request: Request, status: int, message: str = "") -> HTMLResponse:
        return render(request, "error.html", status=status, message=message)

    @web.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn):
        return back_to("/signin")

    @web.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden):
        log.warning("web: refused %s %s: %s", request.method, request.url.path, exc)
        return page(request, 403)

    @web.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return page(request, 404, str(exc))

    @web.exception_handler(Stale)
    async def stale(request: Request, exc: Stale):
        return page(request, 409, str(exc))

    @web.exception_handler(Rejected)
    async def rejected(request: Request, exc: Rejected):
        return page(request, 400, str(exc))

    @web.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError):
        return page(request, 404)

    @web.exception_handler(Exception)
    async def broken(request: Request, exc: Exception):
        # Outside the header middleware: the error page brings its own headers.
        log.exception("web: %s %s failed", request.method, request.url.path)
        response = page(request, 500)
        response.headers.update(headers(request.app.state.desk.https))
        return response

    @web.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        status = exc.status_code if exc.status_code in (400, 403, 404, 409, 429) else 400
        return page(request, status)
