"""Running the desk: in the foreground for `assistant serve`, or in a thread beside the daemon."""

from __future__ import annotations

import logging
import threading

import uvicorn

from assistant.web.factory import create_app

log = logging.getLogger("assistant.web.server")


def _server(app) -> uvicorn.Server:
    settings = app.settings
    # Behind a reverse proxy the client's address comes in X-Forwarded-For; trusted from
    # loopback only, which is where the proxy sits when the desk listens on loopback.
    config = uvicorn.Config(create_app(app), host=settings.web.host, port=settings.web.port,
                            proxy_headers=True, forwarded_allow_ips="127.0.0.1",
                            log_level="warning", access_log=False, server_header=False)
    return uvicorn.Server(config)


def serve(app) -> int:
    """Serve until SIGTERM or Ctrl-C; returns 0."""
    server = _server(app)
    log.warning("web: the desk listens on http://%s:%s (links point to %s)",
                app.settings.web.host, app.settings.web.port, app.settings.web.base_url)
    server.run()
    return 0


def start_beside(app) -> tuple[uvicorn.Server, threading.Thread]:
    """The desk in a daemon thread next to `assistant run`; stop it with `server.should_exit`."""
    server = _server(app)
    thread = threading.Thread(target=server.run, name="web-desk", daemon=True)
    thread.start()
    log.info("web: the desk listens on %s:%s", app.settings.web.host, app.settings.web.port)
    return server, thread
