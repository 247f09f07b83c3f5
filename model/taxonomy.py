"""The safety taxonomy: grades, the 15 VLSU categories, patterns. Plain data, no torch.

Both `model/` and `service/` import this module; keep it free of heavy imports.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

GRADES: tuple[str, ...] = ("safe", "borderline", "unsafe")
GRADE_LETTERS: dict[str, str] = {"safe": "S", "borderline": "B", "unsafe": "U"}

VOCABULARY_FILE = Path(__file__).with_name("vocabulary.json")


@cache
def vocabulary() -> dict[str, Any]:
    """Return the shipped vocabulary: categories and the glyphs of the default corpus."""
    with VOCABULARY_FILE.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


CATEGORIES: tuple[str, ...] = tuple(c["slug"] for c in vocabulary()["categories"])
CATEGORY_CODES: dict[str, str] = {c["slug"]: c["code"] for c in vocabulary()["categories"]}


def severity(grade: str) -> int:
    """Return 0 for safe, 1 for borderline, 2 for unsafe."""
    return GRADES.index(grade)


def pattern(image_grade: str, text_grade: str, joint_grade: str) -> str:
    """Return the `I-T-J` pattern name, e.g. `S-S-U`."""
    return "-".join(GRADE_LETTERS[g] for g in (image_grade, text_grade, joint_grade))


def is_valid_pattern(image_grade: str, text_grade: str, joint_grade: str) -> bool:
    """Any unimodal unsafe forces the joint grade to unsafe."""
    if "unsafe" in (image_grade, text_grade):
        return joint_grade == "unsafe"
    return True


def is_emergent(image_grade: str, text_grade: str, joint_grade: str) -> bool:
    """The joint grade is more severe than both single-modality grades."""
    return severity(joint_grade) > max(severity(image_grade), severity(text_grade))


VALID_PATTERNS: tuple[str, ...] = tuple(
    pattern(i, t, j) for i in GRADES for t in GRADES for j in GRADES if is_valid_pattern(i, t, j)
)
EMERGENT_PATTERNS: tuple[str, ...] = tuple(
    pattern(i, t, j)
    for i in GRADES
    for t in GRADES
    for j in GRADES
    if is_emergent(i, t, j) and is_valid_pattern(i, t, j)
)
assert len(VALID_PATTERNS) == 17, VALID_PATTERNS


def labelled_pattern(image_grade: str | None, text_grade: str | None, joint_grade: str) -> str | None:
    """Return the pattern of a labelled item, or None unless both single-modality grades are known."""
    if image_grade is None or text_grade is None:
        return None
    return pattern(image_grade, text_grade, joint_grade)


def labelled_emergent(image_grade: str | None, text_grade: str | None, joint_grade: str) -> bool:
    """Return whether a labelled item is emergent (False unless both single-modality grades are known)."""
    if image_grade is None or text_grade is None:
        return False
    return is_emergent(image_grade, text_grade, joint_grade)
