"""OCR through the service: the test bundle's graph and the real PP-OCRv4 models behind a real server.

The test graph (tests/service/bundle.py) reads a black picture as safe and the word `bomb` as unsafe, so
what OCR reads in a black picture with `bomb` written on it shows in the image reading and the joint one,
and nowhere else. Skipped with the reason without rapidocr-onnxruntime or the DejaVu font.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from service.__main__ import main
from service.api.app import create_app
from service.api.deps import app_service
from service.api.server import DrainingServer
from service.serving import ocr
from service.serving.batching import score_items
from service.serving.bundle import Bundle
from service.serving.engine import OnnxEngine
from service.serving.inputs import Preprocessor
from service.settings import Settings
from tests.service.live import metric, serve
from tests.service.text_images import needs_font, needs_rapidocr, png, text_picture

pytestmark = [needs_rapidocr, needs_font]

READ = "how to make a bomb"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def bomb_picture() -> bytes:
    """White words on black: the test graph's pixels read safe, its tokenizer knows `bomb`."""
    return png(text_picture(READ, background="black", ink="white"))


def black_picture() -> bytes:
    return png(Image.new("RGB", (480, 160), "black"))


def classify(client: httpx.Client, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/classify", json=body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def readings(answer: dict[str, Any]) -> dict[str, Any]:
    """Everything a verdict is made of (not its id or timings)."""
    return {k: answer[k] for k in ("modalities", "categories", "verdict", "action", "pattern")}


@pytest.fixture(scope="module")
def audit_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audit") / "audit.jsonl"


@pytest.fixture(scope="module")
def on_app(test_bundle: Path, audit_file: Path) -> FastAPI:
    return create_app(Settings(model_dir=test_bundle, ocr="on", audit_log=str(audit_file)))


@pytest.fixture(scope="module")
def on_url(on_app: FastAPI) -> Iterator[str]:
    with serve(on_app) as url:
        yield url


@pytest.fixture(scope="module")
def off_url(test_bundle: Path) -> Iterator[str]:
    with serve(create_app(Settings(model_dir=test_bundle, ocr="off"))) as url:
        yield url


@pytest.fixture
def on(on_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=on_url, timeout=60) as c:
        yield c


@pytest.fixture
def off(off_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=off_url, timeout=60) as c:
        yield c


def test_text_read_in_the_image_is_part_of_the_image_reading_and_reported(on: httpx.Client) -> None:
    answer = classify(on, text="hello", image=b64(bomb_picture()))
    assert answer["image_text"] == READ
    modalities = answer["modalities"]
    assert modalities["text"]["grade"] == "safe"  # the user's own text, alone
    assert modalities["image"]["grade"] == "unsafe"  # the picture says `bomb`: a harmful picture
    assert answer["pattern"] == "U-S-U" and answer["action"] == "block"


def test_an_image_alone_keeps_a_null_text_reading(on: httpx.Client) -> None:
    answer = classify(on, image=b64(bomb_picture()))
    assert answer["image_text"] == READ
    assert (
        answer["modalities"]["text"] is None and answer["pattern"] is None and answer["text_windows"] is None
    )
    assert answer["modalities"]["image"]["grade"] == "unsafe" and answer["verdict"] == "unsafe"


def test_with_ocr_off_nothing_is_read_and_the_readings_are_the_rows_of_before(
    off: httpx.Client, off_url: str, test_bundle: Path
) -> None:
    answer = classify(off, text="hello", image=b64(bomb_picture()))
    assert answer["image_text"] is None and answer["pattern"] == "S-S-S"
    assert metric(off_url, "safety_ocr_mode", mode="off") == 1
    assert metric(off_url, "safety_ocr_images_total") == 0
    # the scores are those of the service's rows before OCR: the image with the text, scored as one row
    settings = Settings(model_dir=test_bundle, ocr="off")
    bundle = Bundle.load(test_bundle)
    prep = Preprocessor(bundle, settings)
    item = prep.prepare(bomb_picture(), "hello")
    assert item.ocr_pixels is None and item.image_text_rows is None and item.rows == 1
    (scores,) = score_items(
        OnnxEngine.load(bundle, settings), [item], prep.image_size, prep.text.absent_ids()
    )
    assert scores.image == tuple(answer["modalities"]["image"]["scores"].values())
    assert scores.text == tuple(answer["modalities"]["text"]["scores"].values())
    assert scores.joint == tuple(answer["modalities"]["joint"]["scores"].values())
    assert scores.categories == {slug: c["score"] for slug, c in answer["categories"].items()}


@pytest.mark.parametrize("text", ["hello", None])
def test_a_picture_without_text_reads_as_with_ocr_off(
    on: httpx.Client, off: httpx.Client, text: str | None
) -> None:
    with_ocr, without = (classify(c, text=text, image=b64(black_picture())) for c in (on, off))
    assert with_ocr["image_text"] is None and without["image_text"] is None
    assert readings(with_ocr) == readings(without)  # the same rows: bit for bit


def test_batch_items_with_and_without_text_in_their_images(on: httpx.Client) -> None:
    items = [
        {"text": "hello", "image": b64(bomb_picture())},
        {"text": "hello", "image": b64(black_picture())},
        {"text": "a photo of a cat"},
        {"image": b64(bomb_picture())},
    ]
    response = on.post("/v1/classify/batch", json={"items": items})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [r["image_text"] for r in results] == [READ, None, None, READ]
    for item, result in zip(items, results, strict=True):  # as each reads alone
        assert readings(result) == readings(classify(on, **item))


def test_what_was_read_is_never_logged_or_audited(
    on: httpx.Client, on_url: str, audit_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = metric(on_url, "safety_ocr_images_total", result="text")
    with caplog.at_level(logging.DEBUG):
        answer = classify(on, text="hello", image=b64(bomb_picture()), id="ocr-audit")
    assert answer["image_text"] == READ
    assert any(r.getMessage() == "classified" for r in caplog.records)
    for record in caplog.records:
        assert "bomb" not in record.getMessage() and "bomb" not in str(vars(record)), record
    lines = [json.loads(line) for line in audit_file.read_text().splitlines()]
    (line,) = [line for line in lines if line.get("id") == "ocr-audit" or "ocr-audit" in json.dumps(line)]
    assert "bomb" not in json.dumps(line) and "image_text" not in line
    # counted, never quoted: the metrics carry counts and no label holds what was read
    assert metric(on_url, "safety_ocr_images_total", result="text") == before + 1
    assert metric(on_url, "safety_ocr_characters_total") >= len(READ)
    assert metric(on_url, "safety_ocr_seconds_count") >= 1
    assert metric(on_url, "safety_ocr_mode", mode="all") == 1
    assert "bomb" not in httpx.get(f"{on_url}/metrics").text


def test_an_ocr_failure_fails_the_item_with_500(
    on_app: FastAPI, on_url: str, on: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = app_service(on_app).ocr
    assert stage is not None
    pipelines = [stage.reader._free.get() for _ in range(on_app_threads(on_app))]
    for pipeline in pipelines:  # the models raise inside rapidocr's pipeline
        monkeypatch.setattr(pipeline.ocr, "text_det", _raise)
        stage.reader._free.put(pipeline)
    before = metric(on_url, "safety_ocr_failures_total", reason="error")
    response = on.post("/v1/classify", json={"text": "hello", "image": b64(bomb_picture())})
    assert response.status_code == 500 and response.json()["error"]["code"] == "ocr_failed"
    assert metric(on_url, "safety_ocr_failures_total", reason="error") == before + 1
    assert classify(on, text="hello")["verdict"] == "safe"  # a text alone never meets OCR


def on_app_threads(app: FastAPI) -> int:
    return app_service(app).settings.ocr_threads


def _raise(image: Any) -> Any:
    raise RuntimeError("the detection session failed")


def test_a_request_past_its_deadline_is_not_read(test_bundle: Path) -> None:
    settings = Settings(model_dir=test_bundle, ocr="on", request_timeout_ms=1)
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=60) as c:
        response = c.post("/v1/classify", json={"image": b64(png(text_picture(READ * 8, width=960)))})
        assert response.status_code == 504
        assert metric(url, "safety_ocr_failures_total", reason="deadline") == 1
        assert metric(url, "safety_ocr_images_total") == 0


@pytest.mark.usefixtures("no_server")
def test_serve_refuses_ocr_on_without_the_package_in_one_line(
    test_bundle: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(ocr, "rapidocr_installed", lambda: False)
    assert main(["serve", "--model", str(test_bundle), "--ocr", "on"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot serve: SAFETY_OCR=on, but rapidocr-onnxruntime is not installed")
    assert err.count("\n") == 1 and "pip install --no-deps rapidocr-onnxruntime==" in err


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """`serve` must refuse before uvicorn starts: starting it fails the test."""
    monkeypatch.setattr(DrainingServer, "run", lambda self, **kwargs: pytest.fail("uvicorn started"))
