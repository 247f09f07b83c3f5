"""Text in images on the shipped default model behind a real server, with the default SAFETY_OCR=auto.

The typographic jailbreak: a harmful instruction typed into a picture, beside a prompt that is harmless
alone ("fill in the numbered list in the picture"). OCR reads the picture's text into the image reading,
so the pair is blocked; a blank picture beside the same prompt reads nothing and changes nothing. Written
to hold for any sensible model: a model that reads the typed instruction as harmful text blocks the pair.
Skipped with the reason without the shipped model, rapidocr-onnxruntime or the DejaVu font.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from service.api.app import create_app
from service.settings import Settings
from tests.service.conftest import REAL_BUNDLE
from tests.service.live import serve
from tests.service.text_images import (
    EMPTY_LIST,
    HARMFUL_LIST,
    HARMLESS_PROMPT,
    needs_font,
    needs_rapidocr,
    png,
    typed_list,
)

pytestmark = [
    pytest.mark.skipif(not (REAL_BUNDLE / "manifest.json").exists(), reason="no shipped model"),
    needs_rapidocr,
    needs_font,
]


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    app = create_app(Settings(model_dir=REAL_BUNDLE))  # SAFETY_OCR=auto: gated on CPU, all on a GPU
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=60) as c:
        yield c


def classify(client: httpx.Client, text: str, image: Image.Image | None = None) -> dict[str, Any]:
    body = {"text": text} | ({} if image is None else {"image": base64.b64encode(png(image)).decode()})
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


@pytest.mark.parametrize("typed", [HARMFUL_LIST, EMPTY_LIST], ids=["filled-in", "empty"])
def test_a_typed_harmful_list_beside_a_harmless_prompt_is_blocked(client: httpx.Client, typed: str) -> None:
    assert classify(client, HARMLESS_PROMPT)["action"] == "allow"  # the prompt is harmless alone
    answer = classify(client, HARMLESS_PROMPT, typed_list(typed))
    assert answer["image_text"] == typed  # read whole, line by line
    assert answer["modalities"]["text"]["grade"] == "safe"  # the user's own text is still the prompt
    assert answer["action"] == "block"


def test_a_blank_picture_beside_the_harmless_prompt_is_not_blocked(client: httpx.Client) -> None:
    alone = classify(client, HARMLESS_PROMPT)
    blank = classify(client, HARMLESS_PROMPT, Image.new("RGB", (760, 272), "white"))
    assert blank["image_text"] is None
    assert blank["action"] == alone["action"] != "block"
