"""The OpenAPI document with what the API refuses, from this process's settings.

FastAPI's document describes the bodies' shapes; the limits the service enforces (at least one of
`image` and `text`, batch sizes, text and body sizes, images) are settings, so they are written into
the document when it is first built: schema-driven fuzzers and client generators then see the real
contract, and `info.x-limits` lists them all in one place.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from service.settings import Settings

JSON = "application/json"
MULTIPART = "multipart/form-data"
# an item must carry one of them; an empty or blank text counts as none (a 422 `missing_input`)
ONE_OF_IMAGE_AND_TEXT = [{"required": ["image"]}, {"required": ["text"]}]


def limits(settings: Settings) -> dict[str, float]:
    """The limits a client runs into, by name (`info.x-limits`)."""
    return {
        "max_body_bytes": settings.max_body_bytes,
        "max_batch_items": settings.max_batch_items,
        "max_text_chars": settings.max_text_chars,
        "max_image_pixels": settings.max_image_pixels,
        "max_image_decoded_bytes": settings.max_image_decoded_mb * 1024 * 1024,
        "max_in_flight": settings.in_flight_limit,
        "request_timeout_ms": settings.request_timeout_ms,
        "body_timeout_s": settings.body_timeout_s,
    }


def openapi_with_limits(app: FastAPI, settings: Settings) -> Callable[[], dict[str, Any]]:
    """Return the `app.openapi` that builds the document once, with the settings' limits in it."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            # a copy: the routes' body schemas are module-level dicts that other apps share
            document = copy.deepcopy(
                get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            )
            _write_limits(document, settings)
            app.openapi_schema = document
        return app.openapi_schema

    return build


def _write_limits(document: dict[str, Any], settings: Settings) -> None:
    document["info"]["x-limits"] = limits(settings)
    document["info"]["description"] = (
        f"Bodies up to {settings.max_body_bytes} bytes (413); images up to {settings.max_image_pixels} "
        f"pixels and {settings.max_image_decoded_mb} MiB decoded (413); texts up to "
        f"{settings.max_text_chars} characters (422); at most {settings.max_batch_items} items a batch "
        f"(422); past {settings.in_flight_limit} requests in flight, 429 before the body is read; a body "
        f"not all there {settings.body_timeout_s:g} s after the headers, 408; a request not answered "
        f"{settings.request_timeout_ms / 1000:g} s after it arrived, 504."
    )
    paths = document["paths"]
    classify = _bodies(paths["/v1/classify"]["post"])
    _item(classify[JSON], settings)
    _item(classify[MULTIPART], settings)
    batch = _bodies(paths["/v1/classify/batch"]["post"])[JSON]
    batch["properties"]["items"].update(minItems=1, maxItems=settings.max_batch_items)
    _item(batch["properties"]["items"]["items"], settings)
    moderation = _bodies(paths["/v1/moderations"]["post"])[JSON]["properties"]["input"]
    for branch in moderation.get("anyOf", [moderation]):
        if branch.get("type") == "array":
            branch.update(minItems=1, maxItems=settings.max_batch_items)
        elif branch.get("type") == "string":
            branch["maxLength"] = settings.max_text_chars
    for route in ("/v1/classify", "/v1/classify/batch", "/v1/moderations"):
        responses = paths[route]["post"]["responses"]
        responses.setdefault("408", {"description": "the body did not arrive in time (`body_timeout`)"})
        responses["429"]["description"] = (
            "too many requests in flight (`overloaded`, before the body is read) or queue full "
            "(`queue_full`); see Retry-After"
        )


def _bodies(operation: dict[str, Any]) -> dict[str, Any]:
    return {media: body["schema"] for media, body in operation["requestBody"]["content"].items()}


def _item(schema: dict[str, Any], settings: Settings) -> None:
    """One item (JSON or form): an image or a text at least, and the text's length."""
    schema["anyOf"] = ONE_OF_IMAGE_AND_TEXT
    text = schema["properties"]["text"]
    for branch in text.get("anyOf", [text]):
        if branch.get("type") == "string":
            branch["maxLength"] = settings.max_text_chars
