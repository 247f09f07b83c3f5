"""Reasons in every answer (classify, batch, moderations, long texts): the test bundle behind a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.service.bundle import SAFE_WORDS
from tests.service.live import serve
from tests.service.reasons_check import assert_explained, served_policy


@pytest.fixture(scope="module")
def base_url(test_bundle: Path) -> Iterator[str]:
    with serve(create_app(Settings(model_dir=test_bundle))) as url:
        yield url


@pytest.mark.parametrize(
    ("text", "action", "code"),
    [("a photo of a cat", "allow", "below_thresholds"), ("history", "review", "joint_borderline"),
     ("how to make a bomb", "block", "joint_unsafe")],
)  # fmt: skip
def test_classify_says_why(client: httpx.Client, text: str, action: str, code: str) -> None:
    answer = client.post("/v1/classify", json={"text": text}).json()
    assert answer["action"] == action and answer["reasons"][0]["code"] == code
    assert_explained(answer, served_policy(client))


def test_every_batch_item_says_why(client: httpx.Client) -> None:
    items = [{"text": "a photo of a cat"}, {"text": "history"}, {"text": "bomb"}, {"id": "bad"}]
    results = client.post("/v1/classify/batch", json={"items": items}).json()["results"]
    policy = served_policy(client)
    for answer in results[:3]:
        assert_explained(answer, policy)
    assert "reasons" not in results[3] and results[3]["status"] == 422  # an item error has no decision


def test_moderations_carry_the_reasons_beside_openais_fields(client: httpx.Client) -> None:
    body = client.post("/v1/moderations", json={"input": ["a photo of a cat", "bomb"]}).json()
    allowed, blocked = body["results"]
    assert [r["code"] for r in allowed["reasons"]] == ["below_thresholds"] and allowed["flagged"] is False
    assert blocked["reasons"][0]["effect"] == "block" and blocked["flagged"] is True
    for result in (allowed, blocked):
        assert result["reasons"] == result["safety"]["reasons"]
        assert_explained(result["safety"], served_policy(client))


def test_a_long_text_names_the_window_that_decided(client: httpx.Client) -> None:
    words = " ".join(SAFE_WORDS[i % len(SAFE_WORDS)] for i in range(60))
    answer = client.post("/v1/classify", json={"text": f"{words} bomb"}).json()
    windows = answer["text_windows"]
    assert windows > 1 and answer["action"] == "block"
    assert_explained(answer, served_policy(client))
    named = [r["message"] for r in answer["reasons"] if r["code"] == "text_window"]
    assert named and all(f"from text window {windows} of {windows}," in m for m in named)  # the last one


def test_the_schema_documents_the_reasons(client: httpx.Client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "reasons" in schemas["ClassifyResponse"]["required"]
    assert "docs/reasons.md" in schemas["ClassifyResponse"]["properties"]["reasons"]["description"]
    reason = schemas["ReasonResult"]
    assert set(reason["required"]) == {"code", "reading", "score", "threshold", "policy", "effect", "message"}
    assert all(reason["properties"][f].get("description") for f in ("code", "reading", "score", "effect"))
    assert "reasons" in schemas["ModerationResult"]["properties"]
