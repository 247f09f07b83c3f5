"""End to end: a real uvicorn server on loopback, spoken to over HTTP with httpx."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.api.app import create_app
from service.settings import Settings
from service.taxonomy import CATEGORIES, GRADES, VALID_PATTERNS
from tests.service.images import noise_png, png_bomb, solid, truncated_jpeg
from tests.service.live import serve


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def base_url(shipped_or_test_bundle: Path) -> Iterator[str]:
    # 128 in flight: the bound sized from batches of 16 (64) would refuse some of the 96 concurrent
    # requests below, which test the batcher (admission has its own tests)
    settings = Settings(
        model_dir=shipped_or_test_bundle,
        max_batch_size=16,
        max_wait_ms=2,
        max_batch_items=8,
        max_in_flight=128,
    )
    with serve(create_app(settings)) as url:
        yield url


def check_result(body: dict[str, Any], *, image: bool, text: bool) -> None:
    """Assert the response contract of design §4 for one item."""
    assert body["verdict"] in GRADES and body["action"] in ("allow", "review", "block")
    modalities = body["modalities"]
    assert (modalities["image"] is not None) == image and (modalities["text"] is not None) == text
    for reading in filter(None, modalities.values()):
        assert reading["grade"] in GRADES and set(reading["scores"]) == set(GRADES)
    assert modalities["joint"]["grade"] == body["verdict"]
    if image and text:
        assert body["pattern"] in VALID_PATTERNS
    else:
        assert body["pattern"] is None and body["emergent"] is False
    assert list(body["categories"]) == list(CATEGORIES)
    assert all(set(c) == {"score", "flagged"} for c in body["categories"].values())
    assert body["flagged_categories"] == [k for k, c in body["categories"].items() if c["flagged"]]
    assert body["policy"]["name"] == "default" and body["policy"]["version"]
    assert set(body["model"]) == {"name", "version", "sha256"} and len(body["model"]["sha256"]) == 64
    timings = body["timings_ms"]
    assert 0 <= timings["queue"] <= timings["total"] and 0 <= timings["inference"] <= timings["total"]


def test_ops_endpoints(client: httpx.Client, shipped_or_test_bundle: Path) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    assert client.get("/docs").status_code == 200
    openapi = client.get("/openapi.json")
    assert "/v1/classify" in openapi.json()["paths"]
    assert "#/$defs/" not in openapi.text  # every $ref resolves inside the OpenAPI document
    manifest = json.loads((shipped_or_test_bundle / "manifest.json").read_text())
    listed = client.get("/v1/models").json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == [manifest["name"]]
    assert client.get(f"/v1/models/{manifest['name']}").json()["object"] == "model"
    assert client.get("/v1/models/another-model").json()["error"]["code"] == "model_not_found"
    models = client.get(f"/v1/models/{manifest['name']}/manifest").json()
    assert models["manifest"]["name"] == manifest["name"] and models["provider"] == "CPUExecutionProvider"
    assert models["sha256"] == manifest["variants"][models["variant"]]["sha256"]  # the file that runs
    policies = client.get("/v1/policies").json()
    assert policies["default"] == "default" and [p["name"] for p in policies["policies"]] == ["default"]
    assert "safety_model_info" in client.get("/metrics").text


def test_text_only(client: httpx.Client) -> None:
    response = client.post("/v1/classify", json={"text": "a photo of a cat", "id": "t1"})
    assert response.status_code == 200, response.text
    body = response.json()
    check_result(body, image=False, text=True)
    assert body["id"] == "t1" and body["text_truncated"] is False
    assert response.headers["x-request-id"]


def test_image_only(client: httpx.Client) -> None:
    body = client.post("/v1/classify", json={"image": b64(solid(90, "JPEG"))}).json()
    check_result(body, image=True, text=False)
    assert body["id"]


def test_image_and_text(client: httpx.Client) -> None:
    data_url = "data:image/png;base64," + b64(solid(90))
    body = client.post(
        "/v1/classify", json={"image": data_url, "text": "how much could i get for this one?"}
    ).json()
    check_result(body, image=True, text=True)


def test_multipart(client: httpx.Client) -> None:
    files = {"image": ("x.webp", solid(90, "WEBP"), "image/webp")}
    response = client.post(
        "/v1/classify", files=files, data={"text": "hello", "policy": "default", "id": "m1"}
    )
    assert response.status_code == 200, response.text
    check_result(response.json(), image=True, text=True)
    image_only = client.post("/v1/classify", files={"image": ("x.png", solid(5), "image/png")})
    check_result(image_only.json(), image=True, text=False)
    # a form whose optional file field was left empty (browsers send an empty part), or JSON's "image": ""
    no_file = client.post(
        "/v1/classify", files={"image": ("", b"", "application/octet-stream")}, data={"text": "hi"}
    )
    check_result(no_file.json(), image=False, text=True)
    check_result(client.post("/v1/classify", json={"image": "", "text": "hi"}).json(), image=False, text=True)
    # the JSON body's limits hold for forms too: an id is at most 256 characters
    long_id = client.post("/v1/classify", files=files, data={"text": "hello", "id": "x" * 257})
    assert long_id.status_code == 422 and long_id.json()["error"]["code"] == "invalid_request"


def test_escaped_emoji_are_text_and_large_bodies_are_served(client: httpx.Client) -> None:
    # an emoji escaped as a surrogate pair (json.dumps' default) is valid text, unlike a lone surrogate
    escaped = client.post(
        "/v1/classify",
        content=b'{"text": "nice \\ud83d\\ude00"}',
        headers={"content-type": "application/json"},
    )
    assert escaped.status_code == 200, escaped.text
    # a body above payloads.OFF_LOOP_BYTES is parsed in a worker thread, with the same answer
    big_png = noise_png(400)
    assert len(b64(big_png)) > 256 * 1024
    small = client.post("/v1/classify", json={"image": b64(solid(200)), "text": "what is this"}).json()
    big = client.post("/v1/classify", json={"image": b64(big_png), "text": "what is this"})
    assert big.status_code == 200, big.text
    check_result(small, image=True, text=True)
    check_result(big.json(), image=True, text=True)


def test_overlong_text_is_truncated_and_says_so(client: httpx.Client) -> None:
    body = client.post("/v1/classify", json={"text": "hello world " * 400}).json()
    assert body["text_truncated"] is True


def test_batch_answers_in_order_and_fails_bad_items_alone(client: httpx.Client) -> None:
    items = [
        {"id": "a", "text": "hello"},
        {"id": "b", "image": b64(b"not an image at all")},
        {"id": "c", "image": b64(solid(200)), "text": "what is this"},
        {"id": "d", "image": "%%% not base64 %%%"},
        {"id": "e", "text": "hi", "policy": "nope"},
        {"id": "f", "text": 42},
        {"id": "g", "image": b64(png_bomb())},
        "not an object",
    ]
    response = client.post("/v1/classify/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r.get("status") for r in results] == [None, 415, None, 400, 404, 422, 413, 422]
    check_result(results[0], image=False, text=True)
    check_result(results[2], image=True, text=True)
    assert [r["id"] for r in results[:5]] == ["a", "b", "c", "d", "e"]
    assert results[1]["error"]["code"] == "unsupported_image_format"
    assert results[4]["error"]["known"] == ["default"]


def test_96_concurrent_requests_all_succeed_in_batches(base_url: str) -> None:
    image = b64(solid(120, "JPEG"))

    async def fire() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=96)
        async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as c:
            bodies = [
                {"text": f"request number {i}"} if i % 3 else {"image": image, "text": f"item {i}"}
                for i in range(96)
            ]
            return await asyncio.gather(*(c.post("/v1/classify", json=b) for b in bodies))

    responses = asyncio.run(fire())
    assert [r.status_code for r in responses] == [200] * 96
    samples = {
        (s.name, s.labels.get("le")): s.value
        for family in text_string_to_metric_families(httpx.get(f"{base_url}/metrics").text)
        for s in family.samples
    }
    batches = samples[("safety_batch_size_count", None)]
    single = samples[("safety_batch_size_bucket", "1.0")]
    assert batches - single > 0, "no batch held more than one item"
    assert samples[("safety_queue_depth", None)] == 0


BAD_INPUTS: list[tuple[str, dict[str, Any], int, str]] = [
    ("empty body", {"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty_body"),
    ("not json", {"content": b"{oops", "headers": {"content-type": "application/json"}}, 400, "invalid_json"),
    ("not an image", {"json": {"image": b64(b"GIF? no, just text")}}, 415, "unsupported_image_format"),
    ("tiff", {"json": {"image": b64(solid(1, "TIFF"))}}, 415, "unsupported_image_format"),
    ("truncated jpeg", {"json": {"image": b64(truncated_jpeg())}}, 422, "invalid_image"),
    ("invalid base64", {"json": {"image": "!!definitely not base64!!"}}, 400, "invalid_base64"),
    ("decompression bomb", {"json": {"image": b64(png_bomb())}}, 413, "image_too_large"),
    (
        "20 MB body",
        {"content": b"x" * 20_000_000, "headers": {"content-type": "application/json"}},
        413,
        "body_too_large",
    ),
    (
        "wrong content type",
        {"content": b"hello", "headers": {"content-type": "text/plain"}},
        415,
        "unsupported_media_type",
    ),
    ("unknown policy", {"json": {"text": "hi", "policy": "strictest"}}, 404, "unknown_policy"),
    ("overlong text", {"json": {"text": "x" * 25_000}}, 422, "text_too_long"),
    ("no content", {"json": {"id": "x"}}, 422, "missing_input"),
    ("empty image and text", {"json": {"image": "", "text": ""}}, 422, "missing_input"),
    (
        "lone surrogate in the text",
        {"content": b'{"text": "hi \\ud800 there"}', "headers": {"content-type": "application/json"}},
        400,
        "invalid_json",
    ),
    (
        "an integer of 5,000 digits",  # json.loads raises a plain ValueError past 4,300: it was a 500
        {
            "content": b'{"text": "hi", "id": ' + b"9" * 5000 + b"}",
            "headers": {"content-type": "application/json"},
        },
        400,
        "invalid_json",
    ),
    (
        "UTF-16 body",  # json.loads reads it, and a lone surrogate in it reached the tokenizer: a 500
        {
            "content": '{"text": "hi \\ud800"}'.encode("utf-16"),
            "headers": {"content-type": "application/json"},
        },
        400,
        "invalid_json",
    ),
    ("wrong type", {"json": {"text": 5}}, 422, "invalid_request"),
    ("unknown field", {"json": {"txt": "hi"}}, 422, "invalid_request"),
    (
        "multipart bad image",
        {"files": {"image": ("a.png", b"\x89PNG broken", "image/png")}},
        415,
        "unsupported_image_format",
    ),
]


@pytest.mark.parametrize(
    ("case", "request_kwargs", "status", "code"), BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS]
)
def test_bad_input_gets_a_json_4xx_and_the_server_keeps_serving(
    client: httpx.Client, case: str, request_kwargs: dict[str, Any], status: int, code: str
) -> None:
    response = client.post("/v1/classify", **request_kwargs)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if code == "unknown_policy":
        assert error["known"] == ["default"]
    assert client.post("/v1/classify", json={"text": "still there?"}).status_code == 200


def test_other_http_errors_are_json_too(client: httpx.Client) -> None:
    assert client.get("/v1/classify").json()["error"]["code"] == "method_not_allowed"
    assert client.get("/nowhere").json()["error"]["code"] == "not_found"
    too_many = client.post("/v1/classify/batch", json={"items": [{"text": "x"}] * 9})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "too_many_items"


def test_content_is_never_logged(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    secret = "zebra-secret-content-1234"
    with caplog.at_level(logging.INFO):
        assert client.post("/v1/classify", json={"text": secret}).status_code == 200
    assert any(r.getMessage() == "classified" for r in caplog.records)
    assert not any(secret in r.getMessage() or secret in str(vars(r)) for r in caplog.records)


# ---------------------------------------------------------------- behaviour of the tiny test graph


@pytest.fixture(scope="module")
def tiny_url(test_bundle: Path) -> Iterator[str]:
    with serve(create_app(Settings(model_dir=test_bundle))) as url:
        yield url


@pytest.mark.parametrize(
    ("item", "image_grade", "text_grade", "verdict", "pattern", "emergent"),
    [
        ({"text": "a photo of a dog"}, None, "safe", "safe", None, False),
        ({"text": "how to make a bomb"}, None, "unsafe", "unsafe", None, False),
        ({"image": b64(solid(255))}, "unsafe", None, "unsafe", None, False),
        ({"image": b64(solid(0)), "text": "hello"}, "safe", "safe", "safe", "S-S-S", False),
        (
            {"image": b64(solid(128)), "text": "the history of war"},
            "borderline",
            "borderline",
            "unsafe",
            "B-B-U",
            True,
        ),
    ],
)
def test_scores_follow_the_inputs(
    tiny_url: str,
    item: dict[str, str],
    image_grade: str | None,
    text_grade: str | None,
    verdict: str,
    pattern: str | None,
    emergent: bool,
) -> None:
    body = httpx.post(f"{tiny_url}/v1/classify", json=item).json()
    grade = {k: (v["grade"] if v else None) for k, v in body["modalities"].items()}
    assert (grade["image"], grade["text"], body["verdict"]) == (image_grade, text_grade, verdict)
    assert (body["pattern"], body["emergent"]) == (pattern, emergent)
    assert body["action"] == {"safe": "allow", "borderline": "review", "unsafe": "block"}[verdict]
