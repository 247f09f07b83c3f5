"""End to end with the fake engine: readiness, failing batches, deadlines, back-pressure, start-up checks."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.app import create_app
from service.api.deps import app_service
from service.errors import ModelBundleError
from service.settings import Settings
from tests.service.bundle import make_bundle
from tests.service.fakes import FakeEngine
from tests.service.live import serve


def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    end = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(8) as executor:
        yield executor


@pytest.fixture(scope="module")
def fake() -> FakeEngine:
    return FakeEngine()


@pytest.fixture(scope="module")
def fake_url(test_bundle: Path, fake: FakeEngine) -> Iterator[str]:
    settings = Settings(  # one inference worker: a held run holds the whole queue behind it
        model_dir=test_bundle,
        queue_size=2,
        max_batch_items=2,  # a batch request must fit the queue
        max_batch_size=4,
        request_timeout_ms=2000,
        retry_after_s=3,
        inference_workers=1,
    )
    with serve(create_app(settings, engine_factory=lambda bundle, s: fake)) as url:
        yield url


@pytest.fixture
def engine(fake: FakeEngine) -> Iterator[FakeEngine]:
    """The module's fake engine, reset and released after each test."""
    fake.fail_next, fake.delay_s = 0, 0.0
    fake.gate.set()
    yield fake
    fake.gate.set()


def classify(url: str, text: str = "hello", timeout: float = 30) -> httpx.Response:
    return httpx.post(f"{url}/v1/classify", json={"text": text}, timeout=timeout)


def test_a_failing_engine_fails_only_its_batch(
    fake_url: str, engine: FakeEngine, pool: ThreadPoolExecutor
) -> None:
    engine.gate.clear()
    started = engine.runs_started
    first = pool.submit(classify, fake_url)
    wait_for(lambda: engine.runs_started == started + 1)  # the first request is in the engine
    engine.fail_next = 1
    doomed = [pool.submit(classify, fake_url) for _ in range(2)]
    wait_for(lambda: _metric(fake_url, "safety_queue_depth") == 2)
    engine.gate.set()
    assert first.result().status_code == 200
    for response in (f.result() for f in doomed):
        assert response.status_code == 500 and response.json()["error"]["code"] == "inference_failed"
    assert classify(fake_url).status_code == 200


def test_an_expired_deadline_gives_504_and_never_runs(
    fake_url: str, engine: FakeEngine, pool: ThreadPoolExecutor
) -> None:
    engine.gate.clear()
    started, done = engine.runs_started, len(engine.batch_sizes)
    first = pool.submit(classify, fake_url)
    wait_for(lambda: engine.runs_started == started + 1)
    late = classify(fake_url)  # queued behind the blocked batch for longer than request_timeout_ms
    assert late.status_code == 504 and late.json()["error"]["code"] == "deadline_exceeded"
    engine.gate.set()
    assert first.result().status_code == 200
    assert engine.batch_sizes[done:] == [1]  # only the first request ever ran
    assert _metric(fake_url, "safety_deadline_expired_total") >= 1


def test_a_full_queue_gives_429_with_retry_after(
    fake_url: str, engine: FakeEngine, pool: ThreadPoolExecutor
) -> None:
    engine.gate.clear()
    started = engine.runs_started
    first = pool.submit(classify, fake_url)
    wait_for(lambda: engine.runs_started == started + 1)
    queued = [pool.submit(classify, fake_url) for _ in range(2)]
    wait_for(lambda: _metric(fake_url, "safety_queue_depth") == 2)
    refused = classify(fake_url)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
    assert refused.json()["error"]["code"] == "queue_full"
    batch = httpx.post(f"{fake_url}/v1/classify/batch", json={"items": [{"text": "x"}]})
    assert batch.status_code == 429
    engine.gate.set()
    assert all(f.result().status_code == 200 for f in [first, *queued])


def test_items_waiting_to_be_decoded_are_bounded_too(test_bundle: Path, pool: ThreadPoolExecutor) -> None:
    settings = Settings(
        model_dir=test_bundle, queue_size=2, max_batch_items=2, decode_threads=1, retry_after_s=3
    )
    app = create_app(settings, engine_factory=lambda bundle, s: FakeEngine())
    with serve(app) as url:
        state = app_service(app)
        decoder_free = threading.Event()
        state.decode_pool.submit(decoder_free.wait)  # the only decode thread is busy
        try:
            waiting = [pool.submit(classify, url) for _ in range(2)]
            wait_for(lambda: state.preparing == 2)
            refused = classify(url)
            assert refused.status_code == 429 and refused.headers["retry-after"] == "3"
            assert "decoded" in refused.json()["error"]["message"]
            batch = httpx.post(f"{url}/v1/classify/batch", json={"items": [{"text": "x"}]})
            assert batch.status_code == 429  # a batch's items are admitted together or not at all
        finally:
            decoder_free.set()
        assert [f.result().status_code for f in waiting] == [200, 200]
        assert state.preparing == 0
        assert classify(url).status_code == 200


def test_a_failed_warm_up_says_so_on_readyz(test_bundle: Path) -> None:
    engine = FakeEngine()

    def broken(batch_sizes: list[int]) -> None:
        raise RuntimeError("Got invalid dimensions for input: pixels")

    engine.warmup = broken  # type: ignore[method-assign]
    with serve(create_app(Settings(model_dir=test_bundle), lambda b, s: engine), wait_ready=False) as url:
        wait_for(lambda: "warm-up failed" in httpx.get(f"{url}/readyz").text)  # "still warming up", for ever
        reply = httpx.get(f"{url}/readyz")
        assert (
            reply.status_code == 503
            and "invalid dimensions for input: pixels" in reply.json()["error"]["message"]
        )


def test_not_ready_until_warm(test_bundle: Path) -> None:
    engine = FakeEngine()
    engine.warm_gate.clear()
    with serve(create_app(Settings(model_dir=test_bundle), lambda b, s: engine), wait_ready=False) as url:
        assert httpx.get(f"{url}/healthz").status_code == 200
        not_ready = httpx.get(f"{url}/readyz")
        assert not_ready.status_code == 503 and not_ready.json()["error"]["code"] == "not_ready"
        assert classify(url).status_code == 503
        engine.warm_gate.set()
        wait_for(lambda: httpx.get(f"{url}/readyz").status_code == 200)
        assert classify(url).status_code == 200
        assert engine.warmed == [1, 2, 4, 8, 16, 32]


def test_shutdown_drains_in_flight_requests(test_bundle: Path, pool: ThreadPoolExecutor) -> None:
    engine = FakeEngine()
    engine.delay_s = 0.3
    settings = Settings(model_dir=test_bundle, inference_workers=1)
    with serve(create_app(settings, lambda b, s: engine)) as url:
        in_flight: list[Future[httpx.Response]] = [pool.submit(classify, url)]
        wait_for(lambda: engine.runs_started == 1)
        in_flight += [pool.submit(classify, url) for _ in range(2)]
        wait_for(lambda: _metric(url, "safety_queue_depth") == 2)  # all three are inside the server
    assert [f.result().status_code for f in in_flight] == [200, 200, 200]


def test_requests_cut_off_by_the_shutdown_get_a_json_503(test_bundle: Path, pool: ThreadPoolExecutor) -> None:
    engine = FakeEngine()
    engine.delay_s = 3.0  # longer than the server's shutdown grace
    settings = Settings(model_dir=test_bundle, inference_workers=1, max_batch_size=1)
    errors: list[str] = []

    class Errors(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            errors.append(record.getMessage())

    handler = Errors(level=logging.ERROR)
    logging.getLogger("uvicorn.error").addHandler(handler)
    try:
        with serve(create_app(settings, lambda b, s: engine), grace_s=1) as url:
            in_flight = [pool.submit(classify, url) for _ in range(3)]
            wait_for(lambda: engine.runs_started == 1 and _metric(url, "safety_queue_depth") == 2)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(handler)
    for reply in (f.result() for f in in_flight):  # uvicorn's own answer was a plain-text 500
        assert reply.status_code == 503 and reply.json()["error"]["code"] == "shutting_down"
        assert reply.headers["x-request-id"]
    # the on-call reads an error line as a bug: a cut-off request logged "Exception in ASGI application"
    assert not [e for e in errors if "Exception in ASGI application" in e]


def test_an_unexpected_error_is_a_json_500_logged_once_with_its_request_id(
    test_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service.logs import request_id_var
    from service.serving.inputs import Preprocessor

    def broken(self: Preprocessor, image: bytes | None, text: str | None) -> None:
        raise RuntimeError("a bug")

    seen: list[tuple[str, str | None]] = []

    class Tracebacks(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.exc_info:
                seen.append((record.name, request_id_var.get()))

    handler = Tracebacks()
    logging.getLogger().addHandler(handler)
    monkeypatch.setattr(Preprocessor, "prepare", broken)
    try:
        with serve(create_app(Settings(model_dir=test_bundle), lambda b, s: FakeEngine())) as url:
            reply = httpx.post(f"{url}/v1/classify", json={"text": "hi"}, headers={"x-request-id": "t-500"})
    finally:
        logging.getLogger().removeHandler(handler)
    assert reply.status_code == 500 and reply.headers["x-request-id"] == "t-500"
    assert reply.json()["error"] == {"code": "internal_error", "message": "internal error"}
    assert seen == [("service.errors", "t-500")]  # one traceback, with the request's id


def test_refuses_to_start_when_the_onnx_sha256_does_not_match(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bad", sha256="f" * 64)
    app = create_app(Settings(model_dir=bundle))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(ModelBundleError, match="sha256"):
        asyncio.run(start())


def _metric(url: str, name: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    values: dict[str, Any] = {
        s.name: s.value
        for family in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)
        for s in family.samples
        if not s.labels
    }
    return float(values.get(name, 0.0))
