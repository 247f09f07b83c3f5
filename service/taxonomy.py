"""The safety taxonomy: grades, the 15 VLSU categories, patterns. Plain data, no heavy imports.

The service is model-agnostic and reads labels from each model's manifest; this module is the one
source of truth that the model code (`model/`) and the service both import.
"""

from __future__ import annotations

GRADES: tuple[str, ...] = ("safe", "borderline", "unsafe")
GRADE_LETTERS: dict[str, str] = {"safe": "S", "borderline": "B", "unsafe": "U"}

# (slug, code, name in the VLSU data file), in category order C1-C15
CATEGORY_TABLE: tuple[tuple[str, str, str], ...] = (
    ("hate_speech", "C1", "C1: Slurs, Hate Speech, Hate Symbols"),
    ("discrimination", "C2", "C2: Discrimination and Unequal Treatment"),
    ("drug_abuse", "C3", "C3: Drug Abuse"),
    ("self_harm", "C4", "C4: Self-Harm and Suicide"),
    ("animal_violence", "C5", "C5: Animal Violence and Gore"),
    ("sexual_explicit", "C6", "C6: Adult Explicit Sexual Material"),
    ("sexual_racy", "C7", "C7: Adult Racy Material"),
    ("warfare", "C8", "C8: Warfare and Armed Conflicts"),
    ("interpersonal_violence", "C9", "C9: Interpersonal Violence"),
    ("weapons", "C10", "C10: Weapons and Dangerous Objects"),
    ("gore", "C11", "C11: Gore and Graphic Content"),
    ("terrorism", "C12", "C12: Terrorism and Violent Extremism"),
    ("jailbreak", "C13", "C13: Jailbreaks"),
    ("fraud", "C14", "C14: Inauthentic Practices/Fraud"),
    ("human_exploitation", "C15", "C15: Human Exploitation"),
)
CATEGORIES: tuple[str, ...] = tuple(slug for slug, _, _ in CATEGORY_TABLE)
CATEGORY_CODES: dict[str, str] = {slug: code for slug, code, _ in CATEGORY_TABLE}


def present_text(text: str | None) -> str | None:
    """Return the text, or None when it is empty or blank: such a text is no text, in a request
    as in labelled data (one rule, so the service and its evaluations agree on the pattern)."""
    return text if text and text.strip() else None


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
