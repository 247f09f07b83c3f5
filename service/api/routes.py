"""The v1 HTTP routes: parse, call, return a schema. Errors are answered by the table in api/app.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel

from service.api.classify import classify_all, classify_many, classify_one
from service.api.deps import LoadedDep, MetricsDep, ReadyDep, ServiceState, arrival
from service.api.dry_run import dry_run
from service.api.moderations import (
    ModerationRequest,
    ModerationResponse,
    moderation_id,
    moderation_items,
    moderation_result,
)
from service.api.payloads import read_batch, read_classify, read_dry_run, read_json
from service.api.schemas import (
    BatchResponse,
    ClassifyRequest,
    ClassifyResponse,
    DryRunResponse,
    ErrorResponse,
    HealthResponse,
    ModelCard,
    ModelList,
    ModelsResponse,
    PoliciesResponse,
    PolicyInfo,
    error_responses,
)
from service.errors import UnknownModel
from service.evaluation.labelled_data import DryRunRequest

router = APIRouter()

_ERRORS = error_responses(
    {
        400: "malformed body, JSON or base64",
        404: "unknown policy",
        408: "the body did not arrive in time",
        413: "body or image too large, or an image too costly to decode",
        415: "unsupported content type or image format",
        422: "unusable input",
        429: "too many requests in flight, or queue full (see Retry-After)",
        503: "model not ready",
        504: "deadline passed while queued",
    }
)

_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "image": {"type": "string", "format": "binary"},
        "text": {"type": "string"},
        "policy": {"type": "string"},
        "id": {"type": "string"},
    },
}


def body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return a model's JSON schema with its `$defs` inlined (the OpenAPI document cannot resolve them)."""
    schema = model.model_json_schema()
    defs: dict[str, Any] = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            # a discriminator's mapping names $defs too; propertyName alone still documents it
            return {
                key: {"propertyName": value["propertyName"]} if key == "discriminator" else inline(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [inline(value) for value in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


_CLASSIFY_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": body_schema(ClassifyRequest)},
            "multipart/form-data": {"schema": _MULTIPART_SCHEMA},
        },
    }
}
_BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["items"],
                    "properties": {
                        "items": {"type": "array", "items": body_schema(ClassifyRequest)},
                        "policy": {"type": "string"},
                    },
                }
            }
        },
    }
}
_MODERATION_ERRORS = error_responses(
    {
        400: "malformed body or JSON; a malformed data URL (`invalid_data_url`)",
        404: "unknown policy",
        413: "body or image too large",
        415: "unsupported content type or image format",
        422: "unusable input; a remote image URL (`remote_image_url_refused`)",
        429: "queue full (see Retry-After)",
        503: "model not ready",
        504: "deadline passed while queued",
    }
)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """Return a route's `openapi_extra` for a required JSON body of `model` (a route that reads it itself)."""
    return {
        "requestBody": {"required": True, "content": {"application/json": {"schema": body_schema(model)}}}
    }


_MODERATION_BODY = json_body(ModerationRequest)
_DRY_RUN_BODY = json_body(DryRunRequest)


@router.post("/v1/classify", responses=_ERRORS, openapi_extra=_CLASSIFY_BODY, tags=["classify"])
async def classify(request: Request, state: ReadyDep) -> ClassifyResponse:
    """Classify an image, a text, or both together."""
    raw = await read_classify(request, state.settings.max_body_bytes)
    return await classify_one(state, raw, arrival(request))


@router.post("/v1/classify/batch", responses=_ERRORS, openapi_extra=_BATCH_BODY, tags=["classify"])
async def classify_batch(request: Request, state: ReadyDep) -> BatchResponse:
    """Classify several items; each gets its result or its own error, in order."""
    items = await read_batch(request, state.settings.max_batch_items)
    return BatchResponse(results=await classify_many(state, items, arrival(request)))


@router.post(
    "/v1/moderations",
    responses=_MODERATION_ERRORS,
    openapi_extra=_MODERATION_BODY,
    tags=["classify"],
)
async def moderations(request: Request, state: ReadyDep) -> ModerationResponse:
    """OpenAI-compatible moderation: `flagged` is our policy's action not being `allow`."""
    response_id = moderation_id()
    items = await read_json(
        request,
        lambda document: moderation_items(
            ModerationRequest.model_validate(document), response_id, state.settings.max_batch_items
        ),
        counted=("input", state.settings.max_batch_items),
    )
    results = await classify_all(state, items, arrival(request))
    return ModerationResponse(
        id=response_id,
        model=state.bundle.manifest.name,
        results=[moderation_result(result) for result in results],
    )


@router.get("/healthz", tags=["ops"])
async def healthz() -> HealthResponse:
    """The process is alive."""
    return HealthResponse(status="ok")


@router.get("/readyz", responses={503: {"model": ErrorResponse}}, tags=["ops"])
async def readyz(state: ReadyDep) -> HealthResponse:
    """The model is loaded and warm."""
    return HealthResponse(status="ready")


@router.get("/metrics", tags=["ops"], response_class=Response)
async def metrics(metrics: MetricsDep) -> Response:
    """Prometheus metrics."""
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)


OWNER = "safety-service"  # `owned_by` of the served model: this deployment, not a vendor


def _model_card(state: ServiceState) -> ModelCard:
    manifest = state.bundle.manifest
    created = state.bundle.raw.get("created")
    try:
        seconds = int(datetime.fromisoformat(str(created).replace("Z", "+00:00")).timestamp())
    except ValueError:  # a bundle without a creation time
        seconds = 0
    return ModelCard(id=manifest.name, created=seconds, owned_by=OWNER)


def _loaded_model(state: ServiceState, model_id: str) -> ModelCard:
    card = _model_card(state)
    if model_id != card.id:
        raise UnknownModel(f"unknown model {model_id!r}; this server serves {card.id!r}")
    return card


_MODEL_ERRORS = error_responses({404: "this server serves another model", 503: "model not loaded"})


@router.get("/v1/models", responses={503: {"model": ErrorResponse}}, tags=["models"])
async def models(state: LoadedDep) -> ModelList:
    """The served model, in OpenAI's list shape (`client.models.list()`)."""
    return ModelList(data=[_model_card(state)])


@router.get("/v1/models/{model_id}", responses=_MODEL_ERRORS, tags=["models"])
async def model(model_id: str, state: LoadedDep) -> ModelCard:
    """One model in OpenAI's shape (`client.models.retrieve(id)`)."""
    return _loaded_model(state, model_id)


@router.get("/v1/models/{model_id}/manifest", responses=_MODEL_ERRORS, tags=["models"])
async def model_manifest(model_id: str, state: LoadedDep) -> ModelsResponse:
    """The loaded model: its manifest, the variant that runs, its file's sha256 and the provider."""
    _loaded_model(state, model_id)
    info = state.engine.info
    return ModelsResponse(
        variant=info.variant,
        sha256=info.sha256,
        provider=info.provider,
        file=info.file,
        manifest=state.bundle.raw,
    )


@router.get("/v1/policies", responses={503: {"model": ErrorResponse}}, tags=["policies"])
async def policies(state: LoadedDep) -> PoliciesResponse:
    """The loaded threshold policies, with their versions and which is the default and the shadow."""
    store = state.policies
    shadow = store.shadow
    return PoliciesResponse(
        default=store.default_name,
        shadow=shadow.name if shadow else None,
        policies=[PolicyInfo.model_validate(entry) for entry in store.describe()],
    )


@router.post(
    "/v1/policies/{name}/evaluate",
    responses=_ERRORS,
    openapi_extra=_DRY_RUN_BODY,
    tags=["policies"],
)
async def evaluate_policy(name: str, request: Request, state: ReadyDep) -> DryRunResponse:
    """Dry run: measure the named policy on up to 1,000 labelled items (the metrics of `eval`)."""
    body = await read_dry_run(request)
    return DryRunResponse.model_validate(await dry_run(state, name, body))
