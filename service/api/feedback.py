"""Reviewer feedback -> labelled data: `POST /v1/feedback` appends an item and a reviewer's grades to
`SAFETY_FEEDBACK_DIR/labelled.jsonl`, its image beside it in `images/`, in the layout that
`python -m service eval|tune` and `python -m model train --add` read (service.evaluation.labelled_data).

It stores content (the texts and the images as sent), so it is off unless both SAFETY_FEEDBACK_DIR and
SAFETY_FEEDBACK_TOKEN are set (404 `feedback_disabled` otherwise), and it takes the reviewers' own
bearer token, not the admin one. Items are checked with classify's limits before anything is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from service.api.admin import require_bearer
from service.api.audit import input_sha256, utc_timestamp
from service.api.classify import prepare_many
from service.api.deps import ServiceState, app_service
from service.api.payloads import RawItem, decode_base64, read_json
from service.api.routes import json_body
from service.api.schemas import error_responses
from service.errors import FeedbackDisabled, InvalidLabels, NoteTooLong, StorageError
from service.logs import request_id_var
from service.policy.rules import Grade
from service.settings import Settings
from service.taxonomy import CATEGORIES, present_text

log = logging.getLogger(__name__)

FILE = "labelled.jsonl"  # in SAFETY_FEEDBACK_DIR
IMAGES = "images"  # beside it; JSONL image paths are relative to the file's folder
SOURCE = "feedback"
# Pillow's format -> the file extension of the stored original bytes
EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}

router = APIRouter(tags=["feedback"])


class FeedbackRequest(BaseModel):
    """One item (as `POST /v1/classify` takes it) and a reviewer's grades of it."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        default=None,
        max_length=256,
        description="the item's id (e.g. classify's `id`); generated when absent",
    )
    text: str | None = Field(default=None, description="the text; empty, blank or absent means no text")
    image: str | None = Field(
        default=None, description="base64 image bytes (a `data:` URL prefix is accepted)"
    )
    image_grade: Grade | None = Field(default=None, description="the image alone; only with an image")
    text_grade: Grade | None = Field(default=None, description="the text alone; only with a text")
    joint_grade: Grade = Field(description="the item as a whole (image and text together)")
    categories: list[str] = Field(
        default_factory=list, description="harm categories, by slug (service/taxonomy.py: the 15 of VLSU)"
    )
    note: str | None = Field(default=None, description="the reviewer's note (SAFETY_MAX_FEEDBACK_NOTE_CHARS)")


class FeedbackResponse(BaseModel):
    """Where the item was stored; the content is not echoed."""

    id: str
    file: str = Field(description="the labelled JSONL, relative to SAFETY_FEEDBACK_DIR")
    image: str | None = Field(
        description="the stored image, relative to the JSONL's folder; null without one"
    )
    image_sha256: str | None
    text_sha256: str | None


@dataclass(frozen=True)
class FeedbackItem:
    """A checked feedback request: the item as classify reads it, and its labels."""

    raw: RawItem
    labels: dict[str, Any]  # image_grade, text_grade, joint_grade, categories
    note: str | None


def feedback_item(body: FeedbackRequest, max_note_chars: int) -> FeedbackItem:
    """Check the grades against the item and the taxonomy; raise InvalidLabels or NoteTooLong."""
    image = decode_base64(body.image) if body.image else None  # "" is no image, as in classify
    text = present_text(body.text)
    if body.image_grade is not None and image is None:
        raise InvalidLabels("`image_grade` without an `image`")
    if body.text_grade is not None and text is None:
        raise InvalidLabels("`text_grade` without a `text`")
    if "unsafe" in (body.image_grade, body.text_grade) and body.joint_grade != "unsafe":
        raise InvalidLabels("an unsafe image or text makes the item unsafe: `joint_grade` must be unsafe")
    unknown = [slug for slug in body.categories if slug not in CATEGORIES]
    if unknown:
        raise InvalidLabels(f"unknown categories {unknown}; use the slugs {', '.join(CATEGORIES)}")
    if body.note is not None and len(body.note) > max_note_chars:
        raise NoteTooLong(f"note has {len(body.note)} characters; the limit is {max_note_chars}")
    labels = {
        "image_grade": body.image_grade,
        "text_grade": body.text_grade,
        "joint_grade": body.joint_grade,
        "categories": list(dict.fromkeys(body.categories)),
    }
    return FeedbackItem(RawItem(body.id, text, image, None), labels, body.note or None)


class FeedbackStore:
    """Append labelled items to one JSONL file, one whole line per write; images content-addressed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.file = folder / FILE
        self._lock = threading.Lock()  # this process's threads; flock below for other processes

    def append(self, item: FeedbackItem, request_id: str | None, when: float) -> FeedbackResponse:
        """Write the image (if new), then append the item's line, flushed to disk."""
        raw = item.raw
        item_id = raw.id or uuid.uuid4().hex
        image_sha256, text_sha256 = input_sha256(raw.image), input_sha256(raw.text)
        image_path = self._write_image(raw.image, image_sha256) if raw.image and image_sha256 else None
        record = {
            "id": item_id,
            "image": image_path,
            "text": raw.text,
            **item.labels,
            "note": item.note,
            "source": SOURCE,
            "reviewed_at": utc_timestamp(when),
            "request_id": request_id,
            "image_sha256": image_sha256,
            "text_sha256": text_sha256,
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock, _locked_append(self.file) as fd:
                _write_all(fd, line)
                os.fsync(fd)
        except OSError as exc:
            raise StorageError(f"cannot append to {self.file}: {exc}") from None
        return FeedbackResponse(
            id=item_id, file=FILE, image=image_path, image_sha256=image_sha256, text_sha256=text_sha256
        )

    def _write_image(self, data: bytes, sha256: str) -> str:
        """Store the original bytes as images/<sha256>.<ext> (once: the same bytes, the same file)."""
        with Image.open(io.BytesIO(data)) as image:  # the item was decoded already: the header is fine
            extension = EXTENSIONS.get(image.format or "", "img")
        relative = f"{IMAGES}/{sha256}.{extension}"
        target = self.folder / relative
        if target.is_file():
            return relative
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with partial.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(partial, target)  # never a half-written image under the final name
        except OSError as exc:
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise StorageError(f"cannot write {target}: {exc}") from None
        return relative


@contextlib.contextmanager
def _locked_append(path: Path) -> Iterator[int]:
    """Open `path` for appending under an exclusive flock; start on a new line if the last one was cut."""
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":  # a write cut short (a crash, a full disk)
            _write_all(fd, b"\n")
        yield fd
    finally:
        os.close(fd)  # and the flock with it


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def feedback_folder(settings: Settings) -> Path | None:
    """Return SAFETY_FEEDBACK_DIR when feedback is on: the folder and the token both set."""
    return settings.feedback_dir if settings.feedback_token is not None else None


def check_feedback_dir(settings: Settings) -> None:
    """Make the feedback folder (and images/) when feedback is on; raise StorageError if it cannot be
    written."""
    folder = feedback_folder(settings)
    if folder is None:
        return
    try:
        (folder / IMAGES).mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-test-{uuid.uuid4().hex}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        raise StorageError(
            f"cannot write the feedback folder {folder} (SAFETY_FEEDBACK_DIR): {exc}"
        ) from None


def open_feedback(settings: Settings) -> FeedbackStore | None:
    """Return the store when feedback is on, else None; raise StorageError if its folder is unusable."""
    folder = feedback_folder(settings)
    if folder is None:
        if settings.feedback_dir is not None or settings.feedback_token is not None:
            log.info("feedback is off: it needs both SAFETY_FEEDBACK_DIR and SAFETY_FEEDBACK_TOKEN")
        return None
    check_feedback_dir(settings)
    return FeedbackStore(folder)


async def _reviewer(request: Request) -> tuple[ServiceState, FeedbackStore]:
    """Let the request through only when feedback is on and it carries the reviewers' token."""
    state = app_service(request.app)
    store, token = state.feedback, state.settings.feedback_token
    if store is None or token is None:
        raise FeedbackDisabled(
            "feedback is off on this server: set SAFETY_FEEDBACK_DIR and SAFETY_FEEDBACK_TOKEN to enable it"
        )
    require_bearer(request, token, "feedback")
    return state, store


ReviewerDep = Annotated[tuple[ServiceState, FeedbackStore], Depends(_reviewer)]

_ERRORS = error_responses(
    {
        400: "malformed body, JSON or base64",
        401: "missing or wrong bearer token (SAFETY_FEEDBACK_TOKEN)",
        404: "feedback is off (`feedback_disabled`: SAFETY_FEEDBACK_DIR and SAFETY_FEEDBACK_TOKEN unset)",
        413: "body or image too large, or an image too costly to decode",
        415: "unsupported content type or image format",
        422: "unusable input; grades that do not fit the item (`invalid_labels`); `note_too_long`",
        429: "too many items waiting to be decoded (see Retry-After)",
        500: "the feedback folder could not be written (`storage_error`)",
        503: "model not loaded",
    }
)


@router.post("/v1/feedback", status_code=201, responses=_ERRORS, openapi_extra=json_body(FeedbackRequest))
async def feedback(request: Request, reviewer: ReviewerDep) -> FeedbackResponse:
    """Store a reviewer's grades of an item as labelled data (it stores the content: opt-in)."""
    state, store = reviewer
    max_note = state.settings.max_feedback_note_chars
    item = await read_json(request, lambda doc: feedback_item(FeedbackRequest.model_validate(doc), max_note))
    return await store_feedback(state, store, item)


async def store_feedback(state: ServiceState, store: FeedbackStore, item: FeedbackItem) -> FeedbackResponse:
    """Check the item as classify would (size, format, pixels, text length), then store it off the loop."""
    (prepared,) = await prepare_many(state, [item.raw])
    if isinstance(prepared, Exception):
        raise prepared
    return await asyncio.to_thread(store.append, item, request_id_var.get(), time.time())
