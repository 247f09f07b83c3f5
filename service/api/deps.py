"""What the app holds while it runs, and typed accessors for routes (no untyped `app.state.x`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, FastAPI, Request

from service.api.audit import AuditLog
from service.api.middleware import Admission
from service.errors import NotReady
from service.metrics import Metrics
from service.policy.store import PolicyStore
from service.serving.batching import Batcher
from service.serving.bundle import Bundle
from service.serving.engine import Engine
from service.serving.inputs import Preprocessor
from service.serving.ocr import OcrStage
from service.settings import Settings

if TYPE_CHECKING:  # its routes import this module
    from service.api.feedback import FeedbackStore


@dataclass
class ServiceState:
    """Everything built at start-up; `ready` turns true after warm-up."""

    settings: Settings
    bundle: Bundle
    engine: Engine
    preprocessor: Preprocessor
    batcher: Batcher
    policies: PolicyStore
    metrics: Metrics
    decode_pool: ThreadPoolExecutor
    ready: bool = False
    warmup_error: str | None = None  # why warm-up failed: the service then never becomes ready
    preparing: int = 0  # items waiting for or in the decode pool (bounded by settings.queue_size)
    audit: AuditLog | None = None  # SAFETY_AUDIT_LOG: one line per decision (None: off)
    feedback: FeedbackStore | None = None  # POST /v1/feedback's labelled data (None: off)
    ocr: OcrStage | None = None  # SAFETY_OCR: reads the text in images (None: off)


def set_metrics(app: FastAPI, metrics: Metrics) -> None:
    """Attach the app's metrics (they exist before the model loads)."""
    app.state.metrics = metrics


def set_admission(app: FastAPI, admission: Admission) -> None:
    """Attach the app's admission bound (its drain flag is what shutdown raises)."""
    app.state.admission = admission


def app_admission(app: FastAPI) -> Admission:
    """Return the app's admission bound."""
    admission = app.state.admission
    assert isinstance(admission, Admission)
    return admission


def app_metrics(app: FastAPI) -> Metrics:
    """Return the app's metrics."""
    metrics = app.state.metrics
    assert isinstance(metrics, Metrics)
    return metrics


def set_service(app: FastAPI, state: ServiceState | None) -> None:
    """Attach (or detach) the loaded service."""
    app.state.service = state


def app_service(app: FastAPI) -> ServiceState:
    """Return the loaded service; NotReady while the model is still loading."""
    state = getattr(app.state, "service", None)
    if not isinstance(state, ServiceState):
        raise NotReady("the model is not loaded yet")
    return state


# The dependencies are `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool,
# a thread hop per request that showed up in the profile of the service at saturation (docs/performance.md).
async def _loaded(request: Request) -> ServiceState:
    return app_service(request.app)


async def _ready(request: Request) -> ServiceState:
    state = app_service(request.app)
    if state.warmup_error is not None:
        raise NotReady(f"warm-up failed, so this process will not become ready: {state.warmup_error}")
    if not state.ready:
        raise NotReady("the model is loaded but still warming up")
    return state


async def _metrics(request: Request) -> Metrics:
    return app_metrics(request.app)


LoadedDep = Annotated[ServiceState, Depends(_loaded)]
ReadyDep = Annotated[ServiceState, Depends(_ready)]
MetricsDep = Annotated[Metrics, Depends(_metrics)]


def arrival(request: Request) -> float:
    """When the request arrived (`time.perf_counter()`, set by RequestMiddleware before the body was
    read), so its deadline counts from then."""
    return float(request.state.arrived)
