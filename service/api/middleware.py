"""ASGI middleware: request id, body-size limit, per-route metrics and one access-log line per request.

It also answers what escapes the routes: an unexpected error becomes a JSON 500 that keeps its
request id (its traceback logged once, with that id), and a request cut off by the server's shutdown
gets a JSON 503 `shutting_down` (a client retries that elsewhere) instead of uvicorn's plain-text 500.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import PayloadTooLarge, ShuttingDown, reply_for
from service.logs import request_id_var
from service.metrics import Metrics

log = logging.getLogger("service.access")
errors_log = logging.getLogger("service.errors")

_SAFE_REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")


class RequestMiddleware:
    """Tag, limit, time and count every HTTP request."""

    def __init__(self, app: ASGIApp, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        declared = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
        limit = self.max_body_bytes
        received = 0
        status = 500
        responding = False  # whether the response has started (then no other can be sent)
        started = time.perf_counter()

        async def limited_receive() -> Message:
            # Raised inside whoever reads the body (a route), so the error table answers it with 413.
            nonlocal received
            if declared is not None and declared > limit:
                raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit} bytes")
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
            return message

        async def tagged_send(message: Message) -> None:
            nonlocal status, responding
            if message["type"] == "http.response.start":
                responding = True
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        async def answer(exc: BaseException) -> None:
            reply = reply_for(exc)
            await JSONResponse(reply.body(), reply.status, reply.headers)(scope, receive, tagged_send)

        try:
            await self.app(scope, limited_receive, tagged_send)
        except asyncio.CancelledError:
            if responding:
                raise
            # The server's shutdown grace ran out while this request waited: uvicorn cancels it and,
            # were the cancellation to reach it, would log an error with a traceback for each such
            # request. The caller gets its 503 and the task ends here, as answered.
            await answer(ShuttingDown("the service shut down before this request was answered"))
        except Exception as exc:
            errors_log.error("unhandled error", exc_info=exc)
            if not responding:  # else the reply is under way: nothing more can be sent
                await answer(exc)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "other"
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()
            self.metrics.request_seconds.labels(path).observe(seconds)
            if path not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "request",
                    extra={
                        "method": scope["method"],
                        "route": path,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    },
                )
            request_id_var.reset(token)
