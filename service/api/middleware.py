"""ASGI middleware: admission, request id, body limits, per-route metrics, one access-log line per request.

Admission comes first, before any byte of the body is read: past `Admission.limit` classify requests in
flight a request gets 429 `overloaded`, and while the service drains for shutdown every request but
the probes gets 503 `shutting_down` (both with Retry-After and Connection: close). The arrival time goes
into the request's state, so deadlines count from it. The body must arrive within `body_timeout_s` of
arrival (408 `body_timeout`) and stay under `max_body_bytes` (413).

It also answers what escapes the routes: an unexpected error becomes a JSON 500 that keeps its
request id (its traceback logged once, with that id); a client that went away is counted and logged at
info as status 499, never as an error; and a request cut off by the server's shutdown gets a JSON 503
`shutting_down` (a client retries that elsewhere) instead of uvicorn's plain-text 500.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import dataclass

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import BodyTimeout, Overloaded, PayloadTooLarge, ShuttingDown, reply_for
from service.logs import request_id_var
from service.metrics import Metrics

log = logging.getLogger("service.access")
errors_log = logging.getLogger("service.errors")

_SAFE_REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")
# The routes that classify (the model's work): admitted against the in-flight bound, refused while draining
_CLASSIFY_ROUTES = {"/v1/classify", "/v1/classify/batch", "/v1/moderations"}
_EVALUATE_ROUTE = re.compile(r"^/v1/policies/[^/]+/evaluate$")
_PROBES = {"/healthz", "/readyz", "/metrics"}
CLIENT_CLOSED = 499  # the status counted for a request whose client went away (nginx's convention)


def classify_route(path: str) -> str | None:
    """Return the route template of a path that classifies (admitted against the bound), else None."""
    if path in _CLASSIFY_ROUTES:
        return path
    return "/v1/policies/{name}/evaluate" if _EVALUATE_ROUTE.match(path) else None


@dataclass
class Admission:
    """The bound on classify requests in flight, and the drain flag that shutdown raises.

    One per app (`app.state.admission`): the server's SIGTERM handler calls `drain()`.
    """

    limit: int
    retry_after_s: int
    in_flight: int = 0
    draining: bool = False

    def drain(self) -> None:
        """From now on every request but the probes gets 503 `shutting_down`."""
        self.draining = True

    def refusal(self, path: str, classifies: bool) -> Exception | None:
        """Return why a request for `path` (`classifies`: a classify route) is refused before its body is
        read; None to admit it."""
        if self.draining and path not in _PROBES:
            return ShuttingDown("the service is shutting down; retry on another replica")
        if classifies and self.in_flight >= self.limit:
            return Overloaded(
                f"too many requests in flight ({self.limit}); retry later", retry_after_s=self.retry_after_s
            )
        return None


class RequestMiddleware:
    """Admit, tag, limit, time and count every HTTP request."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics,
        admission: Admission,
        max_body_bytes: int,
        body_timeout_s: float,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.admission = admission
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        scope.setdefault("state", {})["arrived"] = started  # `request.state.arrived`: deadlines count from it
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        given = headers.get("x-request-id", "")
        request_id = given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        declared = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
        limit = self.max_body_bytes
        body_deadline = started + self.body_timeout_s
        received = 0
        body_done = False
        status = 500
        responding = False  # whether the response has started (then no other can be sent)
        admission = self.admission
        template = classify_route(scope["path"])  # None: not a classify route
        refusal = admission.refusal(scope["path"], template is not None)
        counted = refusal is None and template is not None

        async def limited_receive() -> Message:
            # Raised inside whoever reads the body (a route), so the error table answers it (413, 408).
            nonlocal received, body_done
            if body_done:  # the body is all there: what follows is the wait for a disconnect
                return await receive()
            if declared is not None and declared > limit:
                raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit} bytes")
            try:
                message = await asyncio.wait_for(receive(), body_deadline - time.perf_counter())
            except TimeoutError:
                raise BodyTimeout(
                    f"the body did not arrive within {self.body_timeout_s:g} s of the request"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
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

        if counted:
            admission.in_flight += 1
        try:
            if refusal is not None:  # before any byte of the body: it is never read
                self.metrics.admission_refused.labels(reply_for(refusal).code).inc()
                await answer(refusal)
            else:
                await self.app(scope, limited_receive, tagged_send)
        except asyncio.CancelledError:
            if responding:
                raise
            # The server's shutdown grace ran out while this request waited: uvicorn cancels it and,
            # were the cancellation to reach it, would log an error with a traceback for each such
            # request. The caller gets its 503 and the task ends here, as answered.
            await answer(ShuttingDown("the service shut down before this request was answered"))
        except ClientDisconnect:
            # the client went away mid-upload: nobody to answer, and no fault of the service
            status = CLIENT_CLOSED
            self.metrics.client_disconnects.inc()
            log.info("client disconnected", extra={"method": scope["method"], "path": scope["path"]})
        except Exception as exc:
            errors_log.error("unhandled error", exc_info=exc)
            if not responding:  # else the reply is under way: nothing more can be sent
                await answer(exc)
        finally:
            if counted:
                admission.in_flight -= 1
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or template or "other"
            self.metrics.requests.labels(path, scope["method"], str(status)).inc()
            self.metrics.request_seconds.labels(path).observe(seconds)
            if path not in _PROBES:
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
