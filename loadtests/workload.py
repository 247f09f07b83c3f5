"""Realistic request bodies for the bench: JPEGs of varied sizes and texts of varied length, seeded."""

from __future__ import annotations

import base64
import io
import json
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

# (width, height) of the photos clients send; the service shrinks them all to the model's input size
IMAGE_SIZES = ((256, 256), (480, 360), (640, 480), (800, 800), (1024, 768), (1600, 1200))
# words per text: a caption, a comment, a post, a long post (the longest is 123 tokens, under max_tokens)
TEXT_WORDS = (3, 8, 15, 30, 60, 120)
_VOCABULARY = (
    "the a photo of my new old dog cat house car kitchen knife garden street market family party "
    "selling price how much could i get for this one is it safe to eat use history museum medicine "
    "dose war drugs bridge river summer night friends look what found garage message me please "
    "describe item condition asking listing recipe forty minutes sharp heavy pan gathering near"
).split()


@dataclass(frozen=True)
class ClassifyCall:
    """One `POST /v1/classify` request: an image, a text, or both."""

    image: bytes | None
    text: str | None

    def body(self) -> bytes:
        """Return the JSON body (base64 image) the service and the naive endpoint both accept."""
        fields: dict[str, str] = {}
        if self.text is not None:
            fields["text"] = self.text
        if self.image is not None:
            fields["image"] = base64.b64encode(self.image).decode("ascii")
        return json.dumps(fields).encode()


def jpeg(rng: random.Random, width: int, height: int, quality: int = 85) -> bytes:
    """Draw a photo-like scene (a gradient, shapes, a little blur) and encode it as a JPEG."""
    top, bottom = (tuple(rng.randrange(256) for _ in range(3)) for _ in range(2))
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), top), Image.new("RGB", (width, height), bottom), gradient
    )
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(width // 4 + 1), y0 + rng.randrange(height // 4 + 1)
        fill = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
    image = image.filter(ImageFilter.GaussianBlur(1))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality)
    return out.getvalue()


def text(rng: random.Random, words: int) -> str:
    """Return a sentence-like text of `words` words."""
    return " ".join(rng.choice(_VOCABULARY) for _ in range(words)).capitalize() + "?"


def calls(count: int, seed: int = 0) -> list[ClassifyCall]:
    """Return `count` requests: 70% image+text, 15% image only, 15% text only, sizes and lengths mixed."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        kind = rng.random()
        width, height = IMAGE_SIZES[i % len(IMAGE_SIZES)]
        image = jpeg(rng, width, height) if kind < 0.85 else None
        words = TEXT_WORDS[(i * 5 + 3) % len(TEXT_WORDS)]
        out.append(ClassifyCall(image, text(rng, words) if kind < 0.7 or kind >= 0.85 else None))
    return out
