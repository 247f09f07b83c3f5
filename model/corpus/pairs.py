"""The hand-written pairs fixture: one image+text pair per line, labelled by a person.

`{"glyphs": [...], "text": "...", "joint_grade": "...", "categories": [...], "note": "...", "set": N}`;
the export scores it (`manifest.json`, `handwritten`) and `corpus pairs` turns chosen sets into
labelled training data. Both read it here, so a line that is not a pair is refused the same way.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from model.corpus.glyphs import glyph_names
from service.taxonomy import CATEGORIES, GRADES


class PairsError(ValueError):
    """A fixture line that is not a pair; the message names the line and what is wrong with it."""


def read_pairs(path: Path) -> list[dict[str, Any]]:
    """Read every pair of a fixture, or raise PairsError at the first line that is not one."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise PairsError("not UTF-8 text") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if line.strip():
            rows.append(_pair(line, number))
    return rows


def _pair(line: str, number: int) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except ValueError:
        raise PairsError(f"line {number} is not JSON") from None
    glyphs = row.get("glyphs") if isinstance(row, dict) else None
    if not isinstance(glyphs, list) or not 1 <= len(glyphs) <= 3 or not set(glyphs) <= set(glyph_names()):
        raise PairsError(f"line {number}: `glyphs` must list 1-3 glyphs of the vocabulary")
    if not isinstance(row.get("text"), str) or not row["text"].strip():
        raise PairsError(f"line {number}: `text` must be a non-empty string")
    if row.get("joint_grade") not in GRADES:
        raise PairsError(f"line {number}: `joint_grade` must be one of {', '.join(GRADES)}")
    categories = row.get("categories", [])
    if not isinstance(categories, list) or not set(categories) <= set(CATEGORIES):
        raise PairsError(f"line {number}: `categories` must list category slugs (service/taxonomy.py)")
    return dict(row)
