"""Labelled items for evaluation tests, built from the test bundle's inputs: one per valid pattern."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from service.taxonomy import VALID_PATTERNS
from tests.service.images import solid

GRADE_OF_LETTER = {"S": "safe", "B": "borderline", "U": "unsafe"}
# The test bundle reads a black image as safe, mid-grey as borderline, white as unsafe (bundle.py).
IMAGE_VALUE = {"S": 0, "B": 128, "U": 255}
TEXT = {"S": "a photo of a cat", "B": "the history of war", "U": "how to make a bomb"}


def labelled_records(images: dict[str, str]) -> list[dict[str, Any]]:
    """Return one record per valid pattern; `images` maps an image letter (S/B/U) to what `image` holds."""
    records = []
    for name in VALID_PATTERNS:
        i, t, j = name.split("-")
        records.append(
            {
                "id": name,
                "image": images[i],
                "text": TEXT[t],
                "image_grade": GRADE_OF_LETTER[i],
                "text_grade": GRADE_OF_LETTER[t],
                "joint_grade": GRADE_OF_LETTER[j],
                "categories": ["weapons"] if j != "S" else [],
            }
        )
    return records


def base64_records() -> list[dict[str, Any]]:
    """Records for the HTTP dry run: images inline as base64."""
    return labelled_records({k: base64.b64encode(solid(v)).decode() for k, v in IMAGE_VALUE.items()})


def write_labelled_jsonl(folder: Path) -> Path:
    """Write the PNGs and `labelled.jsonl` (image paths relative to it) into `folder`; return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    for letter, value in IMAGE_VALUE.items():
        (folder / f"image-{letter}.png").write_bytes(solid(value))
    path = folder / "labelled.jsonl"
    records = labelled_records({k: f"image-{k}.png" for k in IMAGE_VALUE})
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path
