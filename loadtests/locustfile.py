"""Load test for the safety classifier: a realistic mix of text, image and image+text traffic.

Headless, fixed load (what the README shows; results in out/):

    locust -f loadtests/locustfile.py --headless -u 32 -r 8 -t 60s \\
        --host http://127.0.0.1:8000 --csv out/locust --html out/locust.html

Step profile (SAFETY_LOAD_SHAPE=step; -u/-r/-t are then ignored): 8 more users every 30 s up to 64,
then stop at 5 min. Tune with SAFETY_LOAD_STEP_USERS, SAFETY_LOAD_STEP_S, SAFETY_LOAD_MAX_USERS,
SAFETY_LOAD_DURATION_S. Name policies to spread requests over with SAFETY_LOAD_POLICIES=default,kids-platform
(default: none named, so the service's default policy decides).

The mix, per request: text only (short or long), image only, image+text with a small or a large JPEG,
image+text as multipart upload, and batches of mixed items. A 429 (queue full) counts as a failure:
at saturation the failure rate is the share of traffic the service turned away.
"""

from __future__ import annotations

import base64
import io
import os
import random
import uuid
from typing import Any

from locust import FastHttpUser, LoadTestShape, between, task
from PIL import Image, ImageDraw

SEED = 20250101
SHORT_TEXTS = [
    "cute cat photo",
    "how much could I get for this one?",
    "what is this used for",
    "my new kitchen knife set",
    "history of the medals in this picture",
    "is this safe to eat?",
    "look what I found in the garage",
    "selling these, message me",
]
_SENTENCES = [
    "The museum exhibit covers the long history of the region and the conflicts that shaped it.",
    "Visitors are asked not to touch the artefacts and to keep children close at all times.",
    "Our forum discusses medicine, dosage questions and side effects with qualified moderators.",
    "Please describe the item, its condition and the price you are asking in your listing.",
    "This recipe takes about forty minutes and needs a sharp knife and a heavy pan.",
    "The photo was taken at a family gathering last summer near the old bridge.",
]


def _long_text(rng: random.Random, sentences: int) -> str:
    return " ".join(rng.choice(_SENTENCES) for _ in range(sentences))


def _jpeg(rng: random.Random, width: int, height: int, quality: int) -> bytes:
    """Draw a busy scene (shapes on a background) and encode it as a JPEG."""
    image = Image.new("RGB", (width, height), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = (
            x0 + rng.randrange(width // 8 + 1, width // 2),
            y0 + rng.randrange(height // 8 + 1, height // 2),
        )
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# Built once at start-up, shared by every simulated user.
_rng = random.Random(SEED)
SMALL_JPEGS = [_jpeg(_rng, 320, 240, 85) for _ in range(6)]  # ~9-12 KB: chat thumbnails
LARGE_JPEGS = [_jpeg(_rng, 1920, 1080, 92) for _ in range(2)]  # ~100 KB: phone photos
LONG_TEXTS = [_long_text(_rng, n) for n in (20, 40, 80)]  # ~1.5-7 K characters, past max_tokens
SMALL_B64 = [base64.b64encode(j).decode() for j in SMALL_JPEGS]
LARGE_B64 = [base64.b64encode(j).decode() for j in LARGE_JPEGS]
POLICIES = [p for p in os.environ.get("SAFETY_LOAD_POLICIES", "").split(",") if p]


class ClassifierUser(FastHttpUser):
    """A moderation client: one request at a time, a short pause between requests."""

    wait_time = between(0.01, 0.1)

    def _item(self, *, text: str | None = None, image_b64: str | None = None) -> dict[str, Any]:
        item: dict[str, Any] = {"id": uuid.uuid4().hex}
        if text is not None:
            item["text"] = text
        if image_b64 is not None:
            item["image"] = image_b64
        if POLICIES:
            item["policy"] = random.choice(POLICIES)
        return item

    def _classify(self, name: str, body: dict[str, Any]) -> None:
        with self.client.post("/v1/classify", json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
            elif not isinstance(response.json(), dict) or "action" not in response.json():
                response.failure("no action in the response")
            else:
                response.success()

    @task(3)
    def text_short(self) -> None:
        self._classify("classify text short", self._item(text=random.choice(SHORT_TEXTS)))

    @task(1)
    def text_long(self) -> None:
        self._classify("classify text long", self._item(text=random.choice(LONG_TEXTS)))

    @task(2)
    def image_small(self) -> None:
        self._classify("classify image small", self._item(image_b64=random.choice(SMALL_B64)))

    @task(4)
    def image_text_small(self) -> None:
        body = self._item(text=random.choice(SHORT_TEXTS), image_b64=random.choice(SMALL_B64))
        self._classify("classify image+text small", body)

    @task(1)
    def image_text_large(self) -> None:
        body = self._item(text=random.choice(SHORT_TEXTS + LONG_TEXTS), image_b64=random.choice(LARGE_B64))
        self._classify("classify image+text large", body)

    @task(1)
    def multipart(self) -> None:
        fields = {"text": random.choice(SHORT_TEXTS)}
        if POLICIES:
            fields["policy"] = random.choice(POLICIES)
        body, content_type = _multipart(
            fields, ("image", "upload.jpg", random.choice(SMALL_JPEGS + LARGE_JPEGS))
        )
        with self.client.post(
            "/v1/classify",
            data=body,  # type: ignore[arg-type]  # bytes are sent as is; locust's hint says str
            headers={"Content-Type": content_type},
            name="classify multipart",
            catch_response=True,
        ) as response:
            if response.status_code != 200 or "action" not in response.json():
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
            else:
                response.success()

    @task(1)
    def batch(self) -> None:
        items = []
        for _ in range(random.randint(2, 8)):
            kind = random.random()
            if kind < 0.3:
                items.append(self._item(text=random.choice(SHORT_TEXTS)))
            elif kind < 0.5:
                items.append(self._item(image_b64=random.choice(SMALL_B64)))
            else:
                items.append(self._item(text=random.choice(SHORT_TEXTS), image_b64=random.choice(SMALL_B64)))
        with self.client.post(
            "/v1/classify/batch", json={"items": items}, name="classify batch", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return
            results = response.json().get("results", [])
            errors = [r for r in results if "error" in r]
            if len(results) != len(items) or errors:
                response.failure(f"{len(errors)} item errors, {len(results)}/{len(items)} results")
            else:
                response.success()


def _multipart(fields: dict[str, str], file: tuple[str, str, bytes]) -> tuple[bytes, str]:
    """Encode form fields and one file as multipart/form-data (FastHttpUser has no `files=`)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    field, filename, content = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class StepLoadShape(LoadTestShape):
    """Add `step_users` users every `step_s` seconds up to `max_users`; stop after `duration_s`."""

    abstract = os.environ.get("SAFETY_LOAD_SHAPE", "") != "step"  # locust only uses a non-abstract shape

    step_users = int(os.environ.get("SAFETY_LOAD_STEP_USERS", "8"))
    step_s = float(os.environ.get("SAFETY_LOAD_STEP_S", "30"))
    max_users = int(os.environ.get("SAFETY_LOAD_MAX_USERS", "64"))
    duration_s = float(os.environ.get("SAFETY_LOAD_DURATION_S", "300"))

    def tick(self) -> tuple[int, float] | None:
        run_time: float = self.get_run_time()  # type: ignore[no-untyped-call]
        if run_time >= self.duration_s:
            return None
        users = min(self.max_users, self.step_users * (int(run_time // self.step_s) + 1))
        return users, float(self.step_users)  # spawn each step within about a second
