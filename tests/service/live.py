"""Run an app under a real uvicorn server on loopback, in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI


@contextmanager
def serve(app: FastAPI, wait_ready: bool = True, grace_s: int = 5) -> Iterator[str]:
    """Start uvicorn on 127.0.0.1 at a free port; yield its base URL; shut it down gracefully
    (requests still open `grace_s` seconds after the shutdown began are cancelled)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_config=None, access_log=False, timeout_graceful_shutdown=grace_s)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: server.started, "server start")
        if wait_ready:
            wait_for(lambda: httpx.get(f"{base_url}/readyz").status_code == 200, "readiness")
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def wait_for(check: object, what: str, timeout_s: float = 60.0) -> None:
    """Poll `check()` until it is true; TimeoutError after `timeout_s`."""
    assert callable(check)
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.02)
    raise TimeoutError(f"timed out waiting for {what}")


def metric(base_url: str, name: str, **labels: str) -> float:
    """Return the sum of the samples of `name` on `/metrics` whose labels include `labels` (0 if none)."""
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{base_url}/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    )
