"""Reading JSON bodies: small ones on the event loop, large ones in a worker thread, bad ones refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from starlette.requests import Request

from service.errors import InvalidJSON
from service.payloads import OFF_LOOP_BYTES, batch_items, read_json

pytestmark = pytest.mark.anyio


def request_with(body: bytes) -> Request:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": "POST", "headers": [(b"content-type", b"application/json")]}
    return Request(scope, receive)


def parsed_on(document: Any) -> tuple[Any, str]:
    return document, threading.current_thread().name


async def test_large_bodies_are_parsed_off_the_event_loop() -> None:
    loop_thread = threading.current_thread().name
    small, small_thread = await read_json(request_with(b'{"text": "hi"}'), parsed_on)
    padding = "x" * OFF_LOOP_BYTES
    large, large_thread = await read_json(request_with(f'{{"text": "{padding}"}}'.encode()), parsed_on)
    assert small == {"text": "hi"} and large == {"text": padding}
    assert small_thread == loop_thread
    assert large_thread != loop_thread


@pytest.mark.parametrize("size", [100, OFF_LOOP_BYTES + 100])
async def test_a_lone_surrogate_is_refused_wherever_it_hides(size: int) -> None:
    padding = "x" * size
    body = f'{{"items": [{{"text": "{padding}"}}, {{"id": "\\udc00", "text": "ok"}}]}}'.encode()
    with pytest.raises(InvalidJSON, match="lone surrogate"):
        await read_json(request_with(body), parsed_on)
    pair = b'{"items": [{"text": "\\ud83d\\ude00"}]}'
    document, _ = await read_json(request_with(pair), parsed_on)
    assert document == {"items": [{"text": "\U0001f600"}]}


@pytest.mark.parametrize("size", [100, OFF_LOOP_BYTES + 100])
async def test_json_nested_too_deeply_is_invalid_json_not_a_crash(size: int) -> None:
    depth = 100_000  # json.loads raised RecursionError: a 500
    body = ('{"id": "' + "x" * size + '", "text": ' + "[" * depth + "]" * depth + "}").encode()
    with pytest.raises(InvalidJSON, match="nests too deeply"):
        await read_json(request_with(body), parsed_on)


def test_a_batch_item_that_is_not_an_object_fails_alone() -> None:
    items = batch_items({"items": [{"id": "a", "text": "hi"}, "hello", 7, None]}, max_items=8)
    assert [type(i).__name__ for i in items] == ["RawItem", "ItemFailure", "ItemFailure", "ItemFailure"]
