"""Long texts end to end: the test bundle's graph behind a real server, read in windows (text_windows)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.api.app import create_app
from service.settings import Settings
from tests.service.bundle import MAX_TOKENS, SAFE_WORDS
from tests.service.images import solid
from tests.service.live import metric, serve

STRIDE = MAX_TOKENS // 2  # the test manifest names no window_stride
WIDTH = MAX_TOKENS - 2


def words(n: int) -> str:
    """`n` harmless one-token words of the test vocabulary."""
    return " ".join(SAFE_WORDS[i % len(SAFE_WORDS)] for i in range(n))


@pytest.fixture(scope="module")
def base_url(test_bundle: Path) -> Iterator[str]:
    settings = Settings(model_dir=test_bundle, max_batch_size=4, queue_size=8, max_batch_items=8)
    with serve(create_app(settings)) as url:
        yield url


@pytest.fixture(scope="module")
def capped_url(test_bundle: Path) -> Iterator[str]:
    with serve(create_app(Settings(model_dir=test_bundle, max_text_windows=3))) as url:
        yield url


def classify(client: httpx.Client, text: str | None, image: str | None = None) -> dict[str, object]:
    response = client.post("/v1/classify", json={"text": text, "image": image})
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, dict)
    return body


def test_a_short_text_is_one_window_and_no_text_is_none(client: httpx.Client) -> None:
    body = classify(client, "a photo of a cat")
    assert body["text_windows"] == 1 and body["text_truncated"] is False
    image = base64.b64encode(solid(0)).decode()
    assert classify(client, None, image)["text_windows"] is None


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_a_harmful_word_anywhere_in_a_long_text_is_read(client: httpx.Client, where: str) -> None:
    before, after = {"start": (0, 60), "middle": (30, 30), "end": (60, 0)}[where]
    text = " ".join(filter(None, [words(before), "bomb", words(after)]))
    body = classify(client, text)
    windows = 1 + -(-(61 - WIDTH) // STRIDE)
    assert body["text_windows"] == windows and body["text_truncated"] is True
    assert body["modalities"]["text"]["grade"] == "unsafe"  # type: ignore[index]
    assert body["verdict"] == "unsafe" and body["action"] == "block"
    harmless = classify(client, words(61))
    assert harmless["text_windows"] == windows and harmless["action"] == "allow"  # long is not harmful


def test_the_cap_reads_the_first_windows_and_the_last(capped_url: str) -> None:
    with httpx.Client(base_url=capped_url, timeout=30) as client:
        end = classify(client, words(100) + " bomb")
        assert end["text_windows"] == 3 and end["text_truncated"] is True and end["action"] == "block"
        start = classify(client, "bomb " + words(100))
        assert start["action"] == "block"
        middle = classify(client, words(50) + " bomb " + words(50))  # in the windows the cap skips
        assert middle["text_windows"] == 3 and middle["action"] == "allow"
        assert metric(capped_url, "safety_text_windows_capped_total") == 3


def test_a_batch_of_long_texts_larger_than_the_queue_still_runs(client: httpx.Client, base_url: str) -> None:
    counted = metric(base_url, "safety_text_windows_count")
    summed = metric(base_url, "safety_text_windows_sum")
    items = [
        {"id": "a", "text": words(80)},
        {"id": "b", "text": words(80) + " kill"},
        {"id": "c", "text": "hi"},
    ]
    response = client.post("/v1/classify/batch", json={"items": items})  # 2 x 10 + 1 rows > queue_size 8
    assert response.status_code == 200, response.text
    a, b, c = response.json()["results"]
    assert (a["text_windows"], b["text_windows"], c["text_windows"]) == (10, 10, 1)
    assert (a["action"], b["action"], c["action"]) == ("allow", "block", "allow")
    assert metric(base_url, "safety_text_windows_count") == counted + 3
    assert metric(base_url, "safety_text_windows_sum") == summed + 21


def test_moderations_carry_the_windows_in_the_safety_verdict(client: httpx.Client) -> None:
    response = client.post("/v1/moderations", json={"input": [words(60) + " attack", "hello"]})
    assert response.status_code == 200, response.text
    first, second = response.json()["results"]
    assert first["flagged"] is True and first["safety"]["text_windows"] > 1
    assert second["flagged"] is False and second["safety"]["text_windows"] == 1
