"""Read HTTP bodies (JSON or multipart) into raw items: bytes and strings, not yet decoded."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from service.errors import (
    EmptyBody,
    InvalidBase64,
    InvalidJSON,
    MissingInput,
    ServiceError,
    TooManyItems,
    UnprocessableInput,
    UnsupportedMediaType,
)
from service.labelled_data import MAX_DRY_RUN_ITEMS, DryRunRequest
from service.schemas import BatchRequest, ClassifyRequest

_DATA_URL = re.compile(r"^data:[\w.+-]+/[\w.+-]+;base64,", re.IGNORECASE)


@dataclass(frozen=True)
class RawItem:
    """One item as received: image bytes still encoded, text as given."""

    id: str | None
    text: str | None
    image: bytes | None
    policy: str | None


@dataclass(frozen=True)
class ItemFailure:
    """A batch item that could not even be read; it is answered with its own error."""

    id: str | None
    error: ServiceError | ValidationError


def decode_base64(value: str) -> bytes:
    """Decode standard base64 (a `data:<type>;base64,` prefix and whitespace are allowed)."""
    value = _DATA_URL.sub("", value, count=1)
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidBase64("`image` is not valid base64") from None


def item_from_request(body: ClassifyRequest, default_policy: str | None = None) -> RawItem:
    """Turn a validated JSON item into a raw item."""
    image = decode_base64(body.image) if body.image is not None else None
    return RawItem(body.id, body.text, image, body.policy or default_policy)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_json(request: Request) -> Any:
    """Read a non-empty `application/json` body."""
    media_type = _media_type(request)
    body = await request.body()
    if not body.strip():
        raise EmptyBody("the request body is empty")
    if media_type != "application/json":
        raise UnsupportedMediaType(f"content type {media_type or '(none)'!r}: send application/json")
    try:
        return json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidJSON(f"the body is not valid JSON: {exc}") from None


async def read_classify(request: Request, max_body_bytes: int) -> RawItem:
    """Read `POST /v1/classify`: JSON with a base64 image, or multipart with an `image` file."""
    if _media_type(request) == "multipart/form-data":
        return await _read_multipart(request, max_body_bytes)
    return item_from_request(ClassifyRequest.model_validate(await read_json(request)))


async def _read_multipart(request: Request, max_body_bytes: int) -> RawItem:
    form = await request.form(max_files=1, max_fields=8, max_part_size=max_body_bytes)
    fields: dict[str, str] = {}
    image: bytes | None = None
    for key, value in form.multi_items():
        if key == "image" and isinstance(value, UploadFile):
            image = await value.read()
        elif key == "image" and isinstance(value, str):
            image = decode_base64(value) if value else None
        elif key in ("text", "policy", "id") and isinstance(value, str):
            fields[key] = value
        else:
            raise UnprocessableInput(f"unexpected form field {key!r}; use image, text, policy, id")
    await form.close()
    return RawItem(fields.get("id"), fields.get("text"), image, fields.get("policy"))


async def read_batch(request: Request, max_items: int) -> list[RawItem | ItemFailure]:
    """Read `POST /v1/classify/batch`; an unusable item becomes its own error, not a failed request."""
    batch = BatchRequest.model_validate(await read_json(request))
    if not batch.items:
        raise MissingInput("`items` is empty")
    if len(batch.items) > max_items:
        raise TooManyItems(f"{len(batch.items)} items; the limit is {max_items}")
    items: list[RawItem | ItemFailure] = []
    for raw in batch.items:
        try:
            items.append(item_from_request(ClassifyRequest.model_validate(raw), batch.policy))
        except (ServiceError, ValidationError) as exc:
            item_id = raw.get("id")
            items.append(ItemFailure(item_id if isinstance(item_id, str) else None, exc))
    return items


async def read_dry_run(request: Request) -> DryRunRequest:
    """Read `POST /v1/policies/{name}/evaluate`: labelled items with base64 images."""
    body = await read_json(request)
    items = body.get("items") if isinstance(body, dict) else None
    if isinstance(items, list) and len(items) > MAX_DRY_RUN_ITEMS:
        raise TooManyItems(f"{len(items)} items; a dry run takes at most {MAX_DRY_RUN_ITEMS}")
    return DryRunRequest.model_validate(body)
