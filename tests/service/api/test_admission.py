"""Admission before the body, deadlines from arrival, stalled and abandoned uploads: a real server on
loopback (the fake engine holds or counts the model's runs), spoken to over raw sockets so each test
controls exactly which bytes of a request have been sent."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from loadtests.servers import free_port, stop_process
from service.api.app import create_app
from service.settings import Settings
from tests.service.fakes import FakeEngine
from tests.service.live import metric, serve

REPO = Path(__file__).resolve().parents[3]
BODY = json.dumps({"text": "hello"}).encode()


def head(url: str, length: int, path: str = "/v1/classify") -> bytes:
    host = url.removeprefix("http://")
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=10)
    return sock


def read_reply(
    sock: socket.socket, wait_for_close: bool = True
) -> tuple[int, dict[str, str], dict[str, object], bool]:
    """Read one response; return status, headers, JSON body, and whether the server then closed (waits
    for that unless told not to)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection without an answer"
        data += chunk
    raw_head, _, body = data.partition(b"\r\n\r\n")
    lines = raw_head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    while len(body) < int(headers.get("content-length", 0)):
        body += sock.recv(65536)
    closed = wait_for_close and sock.recv(1) == b""
    return int(lines[0].split()[1]), headers, json.loads(body), closed


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine()
    yield fake
    fake.gate.set()


def test_past_the_bound_a_request_gets_429_before_its_body_is_sent(
    test_bundle: Path, engine: FakeEngine
) -> None:
    settings = Settings(model_dir=test_bundle, max_in_flight=1, retry_after_s=2, inference_workers=1)
    with serve(create_app(settings, lambda b, s: engine)) as url, ThreadPoolExecutor(1) as pool:
        engine.gate.clear()  # the one admitted request stays in the engine
        held = pool.submit(httpx.post, f"{url}/v1/classify", json={"text": "hello"}, timeout=30)
        deadline = time.monotonic() + 10
        while engine.runs_started == 0:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        sock = connect(url)
        started = time.monotonic()
        sock.sendall(head(url, 10_000_000))  # a 10 MB body announced, not one byte of it sent
        status, headers, body, closed = read_reply(sock)
        refused_in = time.monotonic() - started
        sock.close()
        # probes and metrics bypass the bound: they answer while the service is full
        assert httpx.get(f"{url}/healthz").status_code == 200
        engine.gate.set()
        assert held.result().status_code == 200
        assert metric(url, "safety_admission_refused_total", reason="overloaded") == 1
        assert metric(url, "safety_requests_total", route="/v1/classify", status="429") == 1
    assert status == 429 and body["error"]["code"] == "overloaded"  # type: ignore[index]
    assert headers["retry-after"] == "2" and headers["connection"] == "close" and closed
    assert refused_in < 5  # answered without waiting for the body (which never comes)


def test_the_deadline_counts_from_arrival_and_a_late_request_never_runs(
    test_bundle: Path, engine: FakeEngine
) -> None:
    settings = Settings(model_dir=test_bundle, request_timeout_ms=300)
    with serve(create_app(settings, lambda b, s: engine)) as url:
        runs = engine.runs_started
        sock = connect(url)
        sock.sendall(head(url, len(BODY)))
        time.sleep(0.5)  # the body comes after the request's whole deadline
        sock.sendall(BODY)
        status, _, body, _ = read_reply(sock)
        sock.close()
        assert engine.runs_started == runs  # it was never scored
        on_time = httpx.post(f"{url}/v1/classify", content=BODY, headers={"content-type": "application/json"})
    assert status == 504 and body["error"]["code"] == "deadline_exceeded"  # type: ignore[index]
    assert on_time.status_code == 200


def test_a_stalled_upload_gets_408_and_its_connection_closes(test_bundle: Path, engine: FakeEngine) -> None:
    settings = Settings(model_dir=test_bundle, body_timeout_s=0.3)
    with serve(create_app(settings, lambda b, s: engine)) as url:
        sock = connect(url)
        sock.sendall(head(url, len(BODY)) + BODY[:5])  # then nothing more
        status, headers, body, closed = read_reply(sock)
        sock.close()
    assert status == 408 and body["error"]["code"] == "body_timeout"  # type: ignore[index]
    assert headers["connection"] == "close" and closed


def test_a_client_that_leaves_mid_upload_is_counted_not_an_error(
    test_bundle: Path, engine: FakeEngine, caplog: pytest.LogCaptureFixture
) -> None:
    with serve(create_app(Settings(model_dir=test_bundle), lambda b, s: engine)) as url:
        with caplog.at_level(logging.INFO):
            sock = connect(url)
            sock.sendall(head(url, 100_000) + b'{"text": "hel')
            time.sleep(0.2)
            sock.close()
            deadline = time.monotonic() + 10
            while metric(url, "safety_client_disconnects_total") == 0:
                assert time.monotonic() < deadline, "the disconnect was never counted"
                time.sleep(0.05)
        assert metric(url, "safety_requests_total", route="/v1/classify", status="500") == 0
        assert metric(url, "safety_requests_total", route="/v1/classify", status="499") == 1
    assert [
        r for r in caplog.records if r.getMessage() == "client disconnected" and r.levelno == logging.INFO
    ]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.slow
def test_sigterm_under_load_answers_every_connection_made_before_it(
    tmp_path: Path, test_bundle: Path
) -> None:
    """`python -m service serve`, clients on fresh connections all along, SIGTERM in the middle: every
    connection made before the signal gets an HTTP answer (200, 429 or 503 with Retry-After)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SAFETY_SHUTDOWN_DRAIN_S": "1.5", "SAFETY_POLICY_WATCH_S": "0"}
    command = [sys.executable, "-m", "service", "serve", "--model", str(test_bundle), "--port", str(port)]
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{url}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        stop = threading.Event()
        signalled: list[float] = []
        outcomes: list[tuple[float, int | None, str | None]] = []  # connected at, status, retry-after

        def client() -> None:
            while not stop.is_set():
                try:
                    sock = connect(url)
                except OSError:
                    continue  # the listener is closed: no connection, nothing owed
                connected = time.monotonic()
                try:
                    sock.sendall(head(url, len(BODY)) + BODY)
                    status, headers, _, _ = read_reply(sock, wait_for_close=False)
                    outcomes.append((connected, status, headers.get("retry-after")))
                except (OSError, AssertionError):
                    outcomes.append((connected, None, None))
                finally:
                    sock.close()

        with ThreadPoolExecutor(16) as pool:
            for _ in range(16):
                pool.submit(client)
            time.sleep(1.5)
            signalled.append(time.monotonic())
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            exited_after = time.monotonic() - signalled[0]
            stop.set()
    finally:
        stop_process(process)
    before = [(status, retry) for connected, status, retry in outcomes if connected < signalled[0]]
    assert before and not [s for s, _ in before if s is None], (
        "connections made before SIGTERM went unanswered"
    )
    assert {s for s, _ in before} <= {200, 429, 503}
    during = [(s, retry) for connected, s, retry in outcomes if connected >= signalled[0] and s is not None]
    assert during and all(s == 503 and retry == "1" for s, retry in during)  # the drain: retry elsewhere
    assert exited_after < 1.5 + 10 + 5  # the drain, the shutdown grace, a margin
