"""JSON-lines logging with the current request id on every line. Never log content, only its hash."""

from __future__ import annotations

import atexit
import json
import logging
import logging.handlers
import queue
import time
from contextvars import ContextVar
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# attributes every LogRecord has; anything else was passed with `extra=` and is logged as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_STANDARD.add("color_message")  # uvicorn's ANSI-coloured copy of msg


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, request_id, and the record's extras."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            line["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send every logger (uvicorn's too) to stderr as JSON lines, written by a background thread.

    Lines are formatted where they are logged (so the request id is the caller's), then queued: the
    write to stderr cost 10% of the event loop's time at saturation when it happened inline.
    """
    global _listener
    stop_logging()
    lines: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = logging.handlers.QueueHandler(lines)
    handler.setFormatter(JsonFormatter())
    _listener = logging.handlers.QueueListener(lines, logging.StreamHandler())
    _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def stop_logging() -> None:
    """Write out every queued line (at exit, and before reconfiguring)."""
    global _listener
    if _listener is not None:
        _listener.stop()
        _listener = None


_listener: logging.handlers.QueueListener | None = None
atexit.register(stop_logging)
