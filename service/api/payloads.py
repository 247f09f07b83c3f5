"""Read HTTP bodies (JSON or multipart) into raw items: bytes and strings, not yet decoded."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import ijson
from fastapi import Request
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from service.api.schemas import BatchRequest, ClassifyRequest
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
from service.evaluation.labelled_data import MAX_DRY_RUN_ITEMS, DryRunRequest


def data_url_prefix(media_type: str = r"[\w.+-]+") -> re.Pattern[str]:
    """Match the `data:<type>/<subtype>;base64,` prefix of a data URL whose type matches `media_type`."""
    return re.compile(rf"^data:{media_type}/[\w.+-]+;base64,", re.IGNORECASE)


_DATA_URL = data_url_prefix()  # `image` fields take any media type: the bytes decide the format
# JSON bodies from this size up are parsed, validated and base64-decoded in a worker thread: the largest
# allowed body (16 MiB) takes tens of milliseconds, which would stall every request on the event loop,
# while a typical one (tens of KB) parses faster than a thread hop.
OFF_LOOP_BYTES = 256 * 1024
# Only a \uD800-\uDFFF escape can put a surrogate into a parsed string (UTF-8 text cannot hold one).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
T = TypeVar("T")


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
    image = decode_base64(body.image) if body.image else None  # "" is no image, as "" is no text
    return RawItem(body.id, body.text, image, body.policy or default_policy)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def check_item_count(body: bytes, key: str, limit: int) -> None:
    """Raise TooManyItems when the array at the document's top-level `key` holds more than `limit`
    elements, counted on the bytes before anything is parsed: a 16 MB body of one-letter items would
    take ~300 MB as Python objects before its count could be refused.

    Fewer commas than `limit` means no array in the body can hold more (the common case, free); else a
    streaming parser (ijson) counts the elements and stops at the first one too many. A body that is
    not JSON is left for the parser, which says why.
    """
    if body.count(b",") < limit:
        return
    item, count = f"{key}.item", 0
    try:
        for prefix, event, _ in ijson.parse(body):
            if prefix == item and event in _VALUE_STARTS:
                count += 1
                if count > limit:
                    raise TooManyItems(f"more than {limit} items in `{key}`; the limit is {limit}")
    except ijson.JSONError:
        return


_VALUE_STARTS = frozenset({"start_map", "start_array", "string", "number", "boolean", "null"})


async def read_json(
    request: Request, parse: Callable[[Any], T], whole: bool = True, counted: tuple[str, int] | None = None
) -> T:
    """Read a non-empty `application/json` body (UTF-8, RFC 8259) and return `parse` of its document.

    A string holding a lone surrogate (not text, and the tokenizer's crash) refuses the body, unless
    `whole` is false: then `parse` checks the parts it can refuse one by one (`check_text`). `counted`
    (key, limit) refuses a body whose array at `key` is too long before parsing it (`check_item_count`).
    Parsing, validation and base64 decoding of a large body run in a worker thread, off the event loop.
    """
    media_type = _media_type(request)
    body = await request.body()
    if not body.strip():
        raise EmptyBody("the request body is empty")
    if media_type != "application/json":
        raise UnsupportedMediaType(f"content type {media_type or '(none)'!r}: send application/json")

    def run() -> T:
        if counted is not None:
            check_item_count(body, *counted)
        try:
            text = body.decode("utf-8-sig")  # json.loads would also take UTF-16 and UTF-32 bytes
        except UnicodeDecodeError:
            raise InvalidJSON("the body is not UTF-8 text") from None
        try:
            document = json.loads(text)
        except RecursionError:  # no request of this API nests more than a few levels
            raise InvalidJSON("the body is not usable JSON: it nests too deeply") from None
        except ValueError as exc:  # JSONDecodeError, or an integer of more than 4,300 digits
            raise InvalidJSON(f"the body is not valid JSON: {exc}") from None
        if whole and _SURROGATE_ESCAPE.search(text):  # pairs (an escaped emoji) are fine, a lone one is not
            check_text(document)
        return parse(document)

    return run() if len(body) < OFF_LOOP_BYTES else await asyncio.to_thread(run)


def check_text(value: Any) -> None:
    """Raise InvalidJSON if any string in a parsed document holds a lone surrogate."""
    if isinstance(value, str):
        if value.isascii():  # base64 images, most texts: nothing to check
            return
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidJSON("the body is not valid JSON text: a string holds a lone surrogate") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key)
            check_text(item)
    elif isinstance(value, list):
        for item in value:
            check_text(item)


async def read_classify(request: Request, max_body_bytes: int) -> RawItem:
    """Read `POST /v1/classify`: JSON with a base64 image, or multipart with an `image` file."""
    if _media_type(request) == "multipart/form-data":
        return await _read_multipart(request, max_body_bytes)
    return await read_json(request, lambda doc: item_from_request(ClassifyRequest.model_validate(doc)))


async def _read_multipart(request: Request, max_body_bytes: int) -> RawItem:
    form = await request.form(max_files=1, max_fields=8, max_part_size=max_body_bytes)
    fields: dict[str, str] = {}
    image: bytes | None = None
    for key, value in form.multi_items():
        if key == "image" and isinstance(value, UploadFile):
            image = await value.read() or None  # a form's file field left empty: no image
        elif key == "image" and isinstance(value, str):
            image = decode_base64(value) if value else None
        elif key in ("text", "policy", "id") and isinstance(value, str):
            fields[key] = value
        else:
            raise UnprocessableInput(f"unexpected form field {key!r}; use image, text, policy, id")
    await form.close()
    checked = ClassifyRequest.model_validate(fields)  # the JSON body's limits (an id of 256 characters)
    return RawItem(checked.id, checked.text, image, checked.policy)


async def read_batch(request: Request, max_items: int) -> list[RawItem | ItemFailure]:
    """Read `POST /v1/classify/batch`; an unusable item becomes its own error, not a failed request."""
    return await read_json(
        request, lambda document: batch_items(document, max_items), whole=False, counted=("items", max_items)
    )


def batch_items(document: Any, max_items: int) -> list[RawItem | ItemFailure]:
    """Validate a batch document item by item."""
    if isinstance(document, dict):
        check_text({k: v for k, v in document.items() if k != "items"})
    batch = BatchRequest.model_validate(document)
    if not batch.items:
        raise MissingInput("`items` is empty")
    if len(batch.items) > max_items:
        raise TooManyItems(f"{len(batch.items)} items; the limit is {max_items}")
    items: list[RawItem | ItemFailure] = []
    for raw in batch.items:
        try:
            check_text(raw)
            items.append(item_from_request(ClassifyRequest.model_validate(raw), batch.policy))
        except (ServiceError, ValidationError) as exc:
            item_id = raw.get("id") if isinstance(raw, dict) else None
            items.append(ItemFailure(item_id if _is_text(item_id) else None, exc))
    return items


def _is_text(value: Any) -> bool:
    try:
        check_text(value)
    except InvalidJSON:
        return False
    return isinstance(value, str)


async def read_dry_run(request: Request) -> DryRunRequest:
    """Read `POST /v1/policies/{name}/evaluate`: labelled items with base64 images."""
    return await read_json(request, dry_run_request, counted=("items", MAX_DRY_RUN_ITEMS))


def dry_run_request(document: Any) -> DryRunRequest:
    """Validate a dry-run document, refusing too many items before validating them."""
    items = document.get("items") if isinstance(document, dict) else None
    if isinstance(items, list) and len(items) > MAX_DRY_RUN_ITEMS:
        raise TooManyItems(f"{len(items)} items; a dry run takes at most {MAX_DRY_RUN_ITEMS}")
    return DryRunRequest.model_validate(document)
