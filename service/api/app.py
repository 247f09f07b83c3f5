"""The app factory: middleware, the error table, routes, and a lifespan that loads and warms the model."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.api import admin, feedback, playground
from service.api.audit import open_audit_log
from service.api.contract import openapi_with_limits
from service.api.deps import (
    ServiceState,
    app_admission,
    app_metrics,
    set_admission,
    set_metrics,
    set_service,
)
from service.api.middleware import Admission, RequestMiddleware
from service.api.routes import router
from service.errors import ErrorReply, ServiceError, reply_for
from service.metrics import Metrics
from service.policy.store import load_policies
from service.serving.batching import Batcher
from service.serving.bundle import Bundle
from service.serving.engine import CUDA_PROVIDER, Engine, OnnxEngine, batch_buckets
from service.serving.inputs import Preprocessor, configure_pillow
from service.serving.ocr import open_ocr, plan_ocr
from service.settings import Settings

log = logging.getLogger(__name__)

EngineFactory = Callable[[Bundle, Settings], Engine]

_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}


def create_app(
    settings: Settings, engine_factory: EngineFactory = OnnxEngine.load, *, reload_on_sighup: bool = False
) -> FastAPI:
    """Build the app; nothing is loaded until the lifespan starts.

    `reload_on_sighup` (the `serve` command sets it) re-reads the policy directory on SIGHUP; it needs
    the event loop in the main thread.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await _start(settings, engine_factory, app_metrics(app))
        set_service(app, state)
        warming = asyncio.create_task(_warm(state), name="warmup")
        reloads: set[asyncio.Task[None]] = set()
        loop = asyncio.get_running_loop()
        if reload_on_sighup:
            loop.add_signal_handler(signal.SIGHUP, admin.reload_on_signal, state, reloads)
        directory = state.policies.directory
        if directory is not None and settings.policy_watch_s > 0:
            watch = admin.watch_policy_files(state, directory, settings.policy_watch_s)
            reloads.add(asyncio.create_task(watch, name="policy-watch"))
        try:
            yield
        finally:
            if reload_on_sighup:
                loop.remove_signal_handler(signal.SIGHUP)
            for task in reloads:
                task.cancel()
            state.ready = False
            state.metrics.ready.set(0)
            app_admission(app).drain()  # requests that still come in the grace period: 503, retry elsewhere
            warming.cancel()
            await state.batcher.stop(settings.shutdown_grace_s)
            if state.audit is not None:  # the last decisions' lines
                await asyncio.to_thread(state.audit.close)
            state.decode_pool.shutdown(wait=False, cancel_futures=True)
            if state.ocr is not None:
                state.ocr.close()
            set_service(app, None)
            log.info("stopped")

    # fastapi-offline: FastAPI with /docs (Swagger UI) and /redoc served from its package's files, so
    # they work without internet and load no third-party script in the operator's browser
    app = FastAPIOffline(
        title="Joint image+text safety classifier",
        version="1",
        summary="Image-alone, text-alone and joint safety grades with VLSU categories and a policy verdict.",
        lifespan=lifespan,
    )
    metrics = Metrics()
    set_metrics(app, metrics)
    admission = Admission(settings.in_flight_limit, settings.retry_after_s)
    set_admission(app, admission)
    app.add_middleware(
        RequestMiddleware,
        metrics=metrics,
        admission=admission,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    for exc_class, handler in ERROR_HANDLERS:
        app.add_exception_handler(exc_class, handler)
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(feedback.router)
    app.include_router(playground.router)
    app.openapi = openapi_with_limits(app, settings)  # type: ignore[method-assign]
    return app


async def _start(settings: Settings, engine_factory: EngineFactory, metrics: Metrics) -> ServiceState:
    """Load the bundle, the engine (sha256-checked) and the policies; start the batcher."""
    configure_pillow(settings.max_image_pixels)
    bundle = Bundle.load(settings.model_dir)
    policies = load_policies(bundle.manifest.thresholds, settings.policies_dir, settings.shadow_policy)
    log.info(
        "policies loaded",
        extra={
            "policies_dir": str(settings.policies_dir) if settings.policies_dir else None,
            "versions": {p.name: p.version for p in policies.all()},
            "shadow": settings.shadow_policy,
        },
    )
    engine = await asyncio.to_thread(engine_factory, bundle, settings)
    ocr_plan = plan_ocr(settings.ocr, cuda=engine.info.provider == CUDA_PROVIDER)  # SAFETY_OCR, device
    preprocessor = Preprocessor(bundle, settings, settings.ocr_max_side if ocr_plan else None)
    batcher = Batcher(
        engine,
        image_size=bundle.manifest.image.size,
        absent_ids=preprocessor.text.absent_ids(),
        max_batch_size=settings.max_batch_size,
        max_wait_s=settings.max_wait_ms / 1000,
        queue_size=settings.queue_size,
        workers=max(settings.inference_workers, engine.info.sessions),  # CUDA: 2 sessions overlap
        retry_after_s=settings.retry_after_s,
        stats=metrics,
    )
    await batcher.start()
    metrics.track_queue(lambda: batcher.depth, lambda: batcher.in_flight)
    manifest, info = bundle.manifest, engine.info
    metrics.model_info.labels(manifest.name, manifest.version, info.sha256, info.variant, info.provider).set(
        1
    )
    decode_pool = ThreadPoolExecutor(settings.decode_threads, thread_name_prefix="decode")
    state = ServiceState(settings, bundle, engine, preprocessor, batcher, policies, metrics, decode_pool)
    state.feedback = feedback.open_feedback(settings)
    state.ocr = await asyncio.to_thread(open_ocr, ocr_plan, settings) if ocr_plan else None
    metrics.ocr_mode.labels(ocr_plan.mode if ocr_plan else "off").set(1)
    state.audit = open_audit_log(settings, metrics)  # last: its thread runs until the lifespan ends
    admin.publish_policies(state)
    return state


async def _warm(state: ServiceState) -> None:
    """Run the batch sizes the batcher will use, then mark the service ready."""
    sizes = list(batch_buckets(state.settings.max_batch_size))
    try:
        if state.settings.warmup:
            await asyncio.to_thread(state.engine.warmup, sizes)
            if state.ocr is not None:
                await asyncio.to_thread(state.ocr.reader.warmup)
    except Exception as exc:
        log.exception("warm-up failed; the service stays not ready")
        state.warmup_error = " ".join(f"{type(exc).__name__}: {exc}".split())[:500]
        return
    state.ready = True
    state.metrics.ready.set(1)
    log.info("ready", extra={"warmup_batch_sizes": sizes if state.settings.warmup else []})


# The error table: every exception becomes `{"error": {"code", "message"}}` with the status from
# service.errors.STATUS. Routes never catch.
def _json(reply: ErrorReply) -> JSONResponse:
    if reply.status >= 500 and reply.status not in (503, 504):
        log.error("request failed", extra={"code": reply.code, "status": reply.status})
    return JSONResponse(reply.body(), status_code=reply.status, headers=reply.headers)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    return _json(reply_for(exc))


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
    return _json(ErrorReply(422, "invalid_request", errors))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return _json(ErrorReply(exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})))


ERROR_HANDLERS: list[tuple[type[Exception], Callable[[Request, Exception], Awaitable[Response]]]] = [
    (ServiceError, _service_error),
    (ValidationError, _service_error),
    (RequestValidationError, _request_validation),
    (StarletteHTTPException, _http_error),
]  # anything else: RequestMiddleware answers it (a 500 that keeps its request id)
