"""Reading JSON bodies: small ones on the event loop, large ones in a worker thread, bad ones refused."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from starlette.requests import Request

from service.api.payloads import OFF_LOOP_BYTES, ItemFailure, RawItem, batch_items, read_json
from service.errors import InvalidJSON

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


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('{"text": "hi", "id": ' + "9" * 5000 + "}", "not valid JSON"),  # json.loads' digit limit
        ('{"text": "caf\u00e9"}'.encode("utf-16"), "not UTF-8"),
        ('{"text": "caf\u00e9"}'.encode("utf-32"), "not UTF-8"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
    ids=["a 5,000-digit integer", "UTF-16", "UTF-32", "not text"],
)
async def test_bodies_json_loads_refuses_or_reads_other_than_utf_8_are_invalid_json(
    body: str | bytes, message: str
) -> None:
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(InvalidJSON, match=message):
        await read_json(request_with(raw), parsed_on)
    document, _ = await read_json(request_with(b'\xef\xbb\xbf{"text": "caf\xc3\xa9"}'), parsed_on)
    assert document == {"text": "caf\u00e9"}  # UTF-8 with a byte-order mark is still UTF-8


async def test_a_lone_surrogate_in_one_batch_item_fails_that_item_alone() -> None:
    body = b'{"items": [{"id": "a", "text": "hi"}, {"id": "b", "text": "\\ud800"}, {"id": "\\udc00"}]}'
    items = await read_json(request_with(body), lambda d: batch_items(d, max_items=8), whole=False)
    assert isinstance(items[0], RawItem) and items[0].text == "hi"
    assert isinstance(items[1], ItemFailure) and items[1].id == "b"
    assert isinstance(items[1].error, InvalidJSON)
    assert isinstance(items[2], ItemFailure) and items[2].id is None  # an id that is not text is not echoed
    with pytest.raises(InvalidJSON, match="lone surrogate"):  # outside the items, the whole body is refused
        batch_items({"policy": "\ud800", "items": [{"text": "hi"}]}, max_items=8)


async def test_a_batch_of_too_many_items_is_refused_before_it_is_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    from service.api.payloads import read_batch
    from service.errors import TooManyItems

    body = json.dumps({"items": [{"text": "a"}] * 200_000}).encode()  # 3 MB of one-letter items

    def parsed(text: str) -> Any:
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(json, "loads", parsed)  # the module's json is this one
    with pytest.raises(TooManyItems, match="more than 64 items"):
        await read_batch(request_with(body), 64)


def test_the_item_count_is_exact_and_leaves_what_is_not_json_to_the_parser() -> None:
    import json

    from service.api.payloads import check_item_count
    from service.errors import TooManyItems

    wordy = [{"text": "one, two, three, " * 20, "id": str(i)} for i in range(64)]  # many commas, 64 items
    check_item_count(json.dumps({"items": wordy}).encode(), "items", 64)
    nested = {"items": [{"text": "x", "tags": list(range(100))}] * 3, "other": list(range(500))}
    check_item_count(json.dumps(nested).encode(), "items", 64)  # only the top-level `items` counts
    with pytest.raises(TooManyItems):
        check_item_count(json.dumps({"items": [1] * 65}).encode(), "items", 64)  # any element counts
    with pytest.raises(TooManyItems):
        check_item_count(json.dumps({"input": ["a"] * 65}).encode(), "input", 64)
    check_item_count(b'{"items": [1, 2, 3,,,,' + b"," * 100, "items", 64)  # not JSON: the parser says why
