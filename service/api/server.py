"""The HTTP server: uvicorn with the service's connection limits and a drain before shutdown.

On SIGTERM (or SIGINT) the server first drains for `shutdown_drain_s`: the listener keeps accepting, so
connections already made (queued in the backlog, or keep-alive) get an answer, and every new request
gets 503 `shutting_down` with Retry-After; `/readyz` answers 503, so the load balancer stops sending.
Then uvicorn's own shutdown runs: the listener closes and the requests in flight get
`shutdown_grace_s` to finish. A second signal skips the drain.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from types import FrameType

import uvicorn
from fastapi import FastAPI

from service.api.deps import app_admission
from service.settings import Settings


class DrainingServer(uvicorn.Server):
    """uvicorn's server, with a drain between the exit signal and the listener's close."""

    def __init__(self, config: uvicorn.Config, drain: Callable[[], None], drain_s: float) -> None:
        super().__init__(config)
        self._drain = drain
        self._drain_s = drain_s
        self._drain_started: float | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._drain_started is None and self._drain_s > 0:
            self._captured_signals.append(sig)  # re-raised after the shutdown, as uvicorn does
            self._drain_started = time.monotonic()
            self._drain()
            return
        super().handle_exit(sig, frame)  # no drain, or a second signal: stop now

    async def on_tick(self, counter: int) -> bool:
        if self._drain_started is not None and time.monotonic() - self._drain_started >= self._drain_s:
            self.should_exit = True
        return await super().on_tick(counter)


def server_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
    """Return uvicorn's configuration: address, connection limit and backlog, graceful shutdown."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        # past this many connections uvicorn answers a plain-text 503 itself; the app's own bound
        # (SAFETY_MAX_IN_FLIGHT, far below it) answers the JSON 429 first
        limit_concurrency=settings.max_connections,
        backlog=settings.backlog,
        # 0 means do not wait; uvicorn's None would wait forever
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_s),
    )


def run_server(app: FastAPI, settings: Settings) -> None:
    """Serve `app` until a signal stops it (draining first)."""
    admission = app_admission(app)
    DrainingServer(server_config(app, settings), admission.drain, settings.shutdown_drain_s).run()
