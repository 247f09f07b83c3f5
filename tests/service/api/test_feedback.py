"""`POST /v1/feedback`: reviewer grades become labelled data that `eval` reads; its own token; off by
default; bad items refused with nothing written."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.__main__ import main
from service.api.app import create_app
from service.api.feedback import FeedbackRequest, FeedbackStore, feedback_item
from service.evaluation.labelled_data import read_labelled
from service.settings import Settings
from tests.service.images import png_bomb, solid, truncated_jpeg
from tests.service.live import serve

TOKEN = "reviewer-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
IMAGE = solid(128)  # mid-grey PNG
TEXT = "how much could I get for this one?"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def item(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "post-7",
        "text": TEXT,
        "image": b64(IMAGE),
        "image_grade": "safe",
        "text_grade": "safe",
        "joint_grade": "unsafe",
        "categories": ["human_exploitation"],
        "note": "a price asked for a child: emergent",
    }
    return {k: v for k, v in (body | changes).items() if v is not None}


@pytest.fixture(scope="module")
def feedback_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("feedback") / "labels"  # made by the service


@pytest.fixture(scope="module")
def base_url(model_dir: Path, feedback_dir: Path) -> Iterator[str]:
    settings = Settings(
        model_dir=model_dir,
        feedback_dir=feedback_dir,
        feedback_token=TOKEN,
        admin_token="the-admin-token",
        max_text_chars=200,
        max_feedback_note_chars=100,
    )
    with serve(create_app(settings)) as url:
        yield url


def stored(folder: Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """The JSONL's lines and the image files."""
    file = folder / "labelled.jsonl"
    lines = [json.loads(line) for line in file.read_text().splitlines()] if file.exists() else []
    return lines, sorted((folder / "images").glob("*"))


# Sent to the module's server, whose folder stays empty: nothing they send may be written.
BAD_ITEMS = [
    (item(joint_grade=None), 422, "invalid_request", "joint_grade"),
    (item(joint_grade="Not Safe"), 422, "invalid_request", "joint_grade"),
    (item(categories=["weapons", "guns"]), 422, "invalid_labels", "guns"),
    (item(image=None), 422, "invalid_labels", "image_grade"),
    (item(text=None), 422, "invalid_labels", "text_grade"),
    (item(text="   "), 422, "invalid_labels", "text_grade"),
    (item(text_grade="unsafe", joint_grade="borderline"), 422, "invalid_labels", "joint_grade"),
    (item(note="n" * 101), 422, "note_too_long", "100"),
    (item(text="a " * 101, text_grade=None), 422, "text_too_long", "200"),
    (item(image="not base64!"), 400, "invalid_base64", "base64"),
    (item(image=b64(b"GIF89a but not really")), 415, "unsupported_image_format", "image"),
    (item(image=b64(truncated_jpeg())), 422, "invalid_image", "image"),
    (item(image=b64(png_bomb())), 413, "image_too_large", "pixels"),
    (item(image=None, image_grade=None, text=None, text_grade=None), 422, "missing_input", "image"),
    (item(reviewer="alice"), 422, "invalid_request", "reviewer"),
    (item(id="x" * 257), 422, "invalid_request", "id"),
]


@pytest.mark.parametrize(("body", "status", "code", "said"), BAD_ITEMS)
def test_bad_items_are_refused_and_nothing_is_written(
    base_url: str, feedback_dir: Path, body: dict[str, Any], status: int, code: str, said: str
) -> None:
    before = stored(feedback_dir)
    response = httpx.post(f"{base_url}/v1/feedback", json=body, headers=AUTH)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and said in error["message"], error
    assert stored(feedback_dir) == before == ([], [])


def test_a_body_that_is_not_json_is_refused(base_url: str, feedback_dir: Path) -> None:
    response = httpx.post(
        f"{base_url}/v1/feedback", content=b"{not json", headers=AUTH | {"content-type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    response = httpx.post(f"{base_url}/v1/feedback", data={"text": TEXT}, headers=AUTH)  # a form
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
    assert stored(feedback_dir) == ([], [])


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": "Bearer the-admin-token"},
    ],
    ids=["none", "wrong", "not-bearer", "the-admin-token"],
)
def test_the_reviewers_token_is_required(base_url: str, feedback_dir: Path, headers: dict[str, str]) -> None:
    response = httpx.post(f"{base_url}/v1/feedback", json=item(), headers=headers)
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    assert error["code"] == "unauthorized" and "feedback token" in error["message"]
    assert stored(feedback_dir) == ([], [])


def test_feedback_round_trip_to_labelled_data_that_eval_reads(model_dir: Path, tmp_path: Path) -> None:
    jpeg = solid(255, "JPEG")
    bodies = [
        item(),
        item(
            id=None,
            image=None,
            image_grade=None,
            text="the history of war",
            text_grade="borderline",
            joint_grade="borderline",
            categories=["warfare"],
            note=None,
        ),
        item(
            id="post-9",
            text=None,
            text_grade=None,
            image=b64(jpeg),
            image_grade="unsafe",
            joint_grade="unsafe",
            categories=["gore"],
        ),
        item(id="post-7-again", note="the same picture again: one image file"),
    ]
    feedback_dir = tmp_path / "feedback"
    answers = []
    settings = Settings(model_dir=model_dir, feedback_dir=feedback_dir, feedback_token=TOKEN)
    with serve(create_app(settings)) as url:
        for body in bodies:
            response = httpx.post(f"{url}/v1/feedback", json=body, headers=AUTH)
            assert response.status_code == 201, response.text
            answers.append(response.json())
    png_name = f"images/{hashlib.sha256(IMAGE).hexdigest()}.png"
    jpg_name = f"images/{hashlib.sha256(jpeg).hexdigest()}.jpg"
    assert answers[0] == {
        "id": "post-7",
        "file": "labelled.jsonl",
        "image": png_name,
        "image_sha256": hashlib.sha256(IMAGE).hexdigest(),
        "text_sha256": hashlib.sha256(TEXT.encode()).hexdigest(),
    }
    assert answers[1]["image"] is None and len(answers[1]["id"]) == 32  # generated
    assert answers[2]["image"] == jpg_name and answers[2]["text_sha256"] is None
    assert TEXT not in json.dumps(answers)  # the answer does not echo the content

    lines, images = stored(feedback_dir)
    assert [line["id"] for line in lines] == [a["id"] for a in answers]
    assert lines[0] | {"reviewed_at": "", "request_id": ""} == {
        "id": "post-7",
        "image": png_name,
        "text": TEXT,
        "image_grade": "safe",
        "text_grade": "safe",
        "joint_grade": "unsafe",
        "categories": ["human_exploitation"],
        "note": "a price asked for a child: emergent",
        "source": "feedback",
        "reviewed_at": "",
        "request_id": "",
        "image_sha256": answers[0]["image_sha256"],
        "text_sha256": answers[0]["text_sha256"],
    }
    assert lines[0]["reviewed_at"].endswith("Z") and lines[0]["request_id"]
    assert [p.name for p in images] == sorted([Path(png_name).name, Path(jpg_name).name])
    assert (feedback_dir / png_name).read_bytes() == IMAGE and (feedback_dir / jpg_name).read_bytes() == jpeg

    # read as eval, tune and train --add read labelled files: image paths relative to the file's folder
    data = read_labelled(feedback_dir / "labelled.jsonl")
    assert data.missing_images == [] and data.invalid_rows == []
    first, text_only, image_only, again = data.items
    assert first.image == feedback_dir / png_name and first.image_bytes() == IMAGE
    assert (first.image_grade, first.text_grade, first.joint_grade) == ("safe", "safe", "unsafe")
    assert first.pattern == "S-S-U" and first.emergent and first.categories == ("human_exploitation",)
    assert (
        text_only.image is None
        and text_only.text == "the history of war"
        and text_only.joint_grade == "borderline"
    )
    assert image_only.text is None and image_only.image_bytes() == jpeg and image_only.categories == ("gore",)
    assert again.image == first.image

    out = tmp_path / "report"
    args = [
        "eval",
        "--data",
        str(feedback_dir / "labelled.jsonl"),
        "--model",
        str(model_dir),
        "--device",
        "cpu",
    ]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["items"] == 4 and report["data"]["scoring_errors"] == 0


def test_concurrent_feedback_appends_whole_lines(model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    settings = Settings(model_dir=model_dir, feedback_dir=folder, feedback_token=TOKEN)
    with serve(create_app(settings)) as url, ThreadPoolExecutor(8) as pool:
        # long notes: a line is several KB, so interleaved writes would show
        bodies = [item(id=f"n-{n}", note=f"{n} " + "x" * 1500, image=b64(solid(n))) for n in range(24)]
        statuses = list(
            pool.map(lambda b: httpx.post(f"{url}/v1/feedback", json=b, headers=AUTH).status_code, bodies)
        )
    assert statuses == [201] * 24
    lines, images = stored(folder)
    assert sorted(line["id"] for line in lines) == sorted(f"n-{n}" for n in range(24))
    assert len(images) == 24 and len(read_labelled(folder / "labelled.jsonl").items) == 24


@pytest.mark.parametrize(("with_folder", "token"), [(False, None), (True, None), (False, TOKEN)])
def test_feedback_is_off_unless_both_folder_and_token_are_set(
    model_dir: Path, tmp_path: Path, with_folder: bool, token: str | None
) -> None:
    folder = tmp_path / "feedback"
    settings = Settings(
        model_dir=model_dir, feedback_dir=folder if with_folder else None, feedback_token=token
    )
    with serve(create_app(settings)) as url:
        response = httpx.post(f"{url}/v1/feedback", json=item(), headers=AUTH)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "feedback_disabled"
    assert "SAFETY_FEEDBACK_DIR" in error["message"] and "SAFETY_FEEDBACK_TOKEN" in error["message"]
    assert not folder.exists()


def test_serve_refuses_a_feedback_folder_it_cannot_write(
    test_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SAFETY_FEEDBACK_TOKEN", TOKEN)
    assert main(["serve", "--model", str(test_bundle), "--feedback-dir", str(blocker / "feedback")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cannot serve: cannot write the feedback folder") and err.count("\n") == 1
    assert TOKEN not in err


def test_an_item_after_a_line_cut_short_starts_a_line_of_its_own(tmp_path: Path) -> None:
    folder = tmp_path / "feedback"
    folder.mkdir()
    (folder / "labelled.jsonl").write_text(
        '{"id": "whole", "text": "a photo of a cat", "joint_grade": "safe"}\n{"id": "cut'
    )
    body = FeedbackRequest.model_validate(item(image=None, image_grade=None))
    FeedbackStore(folder).append(feedback_item(body, 100), "r-1", 0.0)
    data = read_labelled(folder / "labelled.jsonl")
    assert [x.id for x in data.items] == ["whole", "post-7"] and len(data.invalid_rows) == 1
