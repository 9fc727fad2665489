"""Log lines for people (the default) or as one JSON object per line (`--log-format json`)."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per event, for journald, Loki or a container's log collector:
    {"time": "...Z", "level": "WARNING", "logger": "assistant.transport.outbox", "message": "...",
    "process": 4242}, plus "error" with the traceback when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        event = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage(), "process": record.process}
        if record.exc_info:
            event["error"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False)


def configure(level: int, style: str, stream) -> None:
    """Send every log line to `stream` at `level`, as text or JSON."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if style == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level, handlers=[handler])
