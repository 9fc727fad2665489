"""The web desk: consultants' queue, tickets and drafts; managers' summary; operators' pages.

`create_app(app)` builds the ASGI app on an assembled `assistant.app.App`; `serve` runs it.
"""

from assistant.web.factory import create_app

__all__ = ["create_app"]
