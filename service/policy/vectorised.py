"""The decision rule on arrays: `Policy.decide` for N items at once.

It is the same definition, not a copy: the grade test, the unimodal-unsafe forcing, the flagging
thresholds and the escalation come from `service.policy.rules`, whose steps work on one item and on
arrays alike. The threshold sweep composes these functions, computing once what does not depend on
the thresholds it varies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from service.policy.rules import (
    ABSENT,
    FloatArray,
    GradeThresholds,
    IntArray,
    ModelScores,
    Policy,
    force_joint,
)
from service.taxonomy import CATEGORIES

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScoreArrays:
    """Model scores of N items; rows of an absent modality (and missing categories) are NaN."""

    image: FloatArray  # (N, 3) safe, borderline, unsafe
    text: FloatArray  # (N, 3)
    joint: FloatArray  # (N, 3)
    categories: FloatArray  # (N, C) in CATEGORIES order

    @classmethod
    def from_scores(cls, scores: Sequence[ModelScores]) -> ScoreArrays:
        """Stack per-item scores into arrays."""
        absent = (np.nan, np.nan, np.nan)

        def stack(rows: Iterable[tuple[float, float, float] | None]) -> FloatArray:
            return np.array([absent if row is None else row for row in rows], dtype=np.float64).reshape(-1, 3)

        categories = np.array(
            [[s.categories.get(slug, np.nan) for slug in CATEGORIES] for s in scores], dtype=np.float64
        ).reshape(-1, len(CATEGORIES))
        return cls(
            image=stack(s.image for s in scores),
            text=stack(s.text for s in scores),
            joint=stack(s.joint for s in scores),
            categories=categories,
        )

    def modality(self, name: str) -> FloatArray:
        """Return the (N, 3) scores of `image`, `text` or `joint`."""
        scores: FloatArray = getattr(self, name)
        return scores


@dataclass(frozen=True)
class DecisionArrays:
    """`Policy.decide` for N items: grade codes (-1 absent), flags, action codes."""

    image: IntArray
    text: IntArray
    joint: IntArray
    flagged: BoolArray  # (N, C)
    action: IntArray  # 0 allow, 1 review, 2 block

    def modality(self, name: str) -> IntArray:
        """Return the predicted codes of `image`, `text` or `joint`."""
        codes: IntArray = getattr(self, name)
        return codes


def grade_codes(scores: FloatArray, thresholds: GradeThresholds) -> IntArray:
    """Apply the grade rule to (N, 3) scores; NaN rows (absent) give -1."""
    codes = thresholds.code(scores[:, 1], scores[:, 2]).astype(np.int64)
    # a NaN anywhere in the row; column by column, several times faster than `.any(axis=1)`
    codes[np.isnan(scores[:, 0]) | np.isnan(scores[:, 1]) | np.isnan(scores[:, 2])] = ABSENT
    return codes


def flag_categories(
    categories: FloatArray, policy: Policy, default_threshold: float | None = None
) -> BoolArray:
    """Flag each category at its policy threshold (or `default_threshold` for those not overridden)."""
    thresholds = np.array([policy.category_threshold_for(slug, default_threshold) for slug in CATEGORIES])
    with np.errstate(invalid="ignore"):
        flagged: BoolArray = np.nan_to_num(categories, nan=-1.0) >= thresholds  # a missing score: never
    return flagged


def escalation_levels(flagged: BoolArray, policy: Policy) -> IntArray:
    """Return the strictest `category_actions` level among each item's flagged categories (0 if none)."""
    levels = np.array([policy.category_action_level(slug) for slug in CATEGORIES], dtype=np.int64)
    result: IntArray = np.where(flagged, levels, 0).max(axis=1, initial=0).astype(np.int64)
    return result


def decide_all(policy: Policy, scores: ScoreArrays) -> DecisionArrays:
    """Apply `policy` to every item; matches `Policy.decide` item by item."""
    image = grade_codes(scores.image, policy.image)
    text = grade_codes(scores.text, policy.text)
    joint = force_joint(grade_codes(scores.joint, policy.joint), image, text)
    flagged = flag_categories(scores.categories, policy)
    action = policy.action_code(joint, escalation_levels(flagged, policy))
    return DecisionArrays(image, text, joint, flagged, action)
