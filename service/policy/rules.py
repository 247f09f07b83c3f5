"""Threshold policies: turn model scores into grades, flagged categories and an action.

Each step of the rule is written once here and works on one item's numbers and on arrays alike:
`Policy.decide` applies the steps to one item, `service.policy.vectorised.decide_all` to N items
(the evaluation report, the threshold sweep, tuning and the model card).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, overload

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.policy.reasons import Reason, explain
from service.taxonomy import CATEGORIES, GRADES

Grade = Literal["safe", "borderline", "unsafe"]
Action = Literal["allow", "review", "block"]

GRADE_NAMES: tuple[Grade, ...] = ("safe", "borderline", "unsafe")  # GRADES, typed
ACTIONS: tuple[Action, ...] = ("allow", "review", "block")
DEFAULT_ACTIONS: dict[Grade, Action] = {"safe": "allow", "borderline": "review", "unsafe": "block"}
DEFAULT_CATEGORY_THRESHOLD = 0.5
POLICY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"

# Grade codes (GRADES order) and ABSENT for a missing modality; action codes are ACTIONS' order.
SAFE, BORDERLINE, UNSAFE = 0, 1, 2
ABSENT = -1

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Code = int | np.integer[Any]  # one item's grade or action code


def action_severity(action: Action) -> int:
    """Return 0 for allow, 1 for review, 2 for block."""
    return ACTIONS.index(action)


@dataclass(frozen=True)
class ModelScores:
    """One item's model output; a missing modality is None."""

    image: tuple[float, float, float] | None
    text: tuple[float, float, float] | None
    joint: tuple[float, float, float]
    categories: dict[str, float]
    # A long text is read in windows (service.serving.batching.combine_windows): how many, and which
    # (0-based) the text and the joint readings come from; the reasons name it.
    windows: int = 1
    text_window: int = 0
    joint_window: int = 0


@dataclass(frozen=True)
class Decision:
    """What a policy made of one item's scores."""

    image_grade: Grade | None
    text_grade: Grade | None
    joint_grade: Grade
    flagged_categories: tuple[str, ...]
    action: Action
    # Flagged categories whose `category_actions` entry made the action stricter than the grade's.
    escalated_by: tuple[str, ...] = ()
    # Why: one reason per rule that fired, strictest effect first (service.policy.reasons).
    reasons: tuple[Reason, ...] = ()


class GradeThresholds(BaseModel):
    """`unsafe` if p_unsafe >= unsafe; else `borderline` if p_borderline + p_unsafe >= borderline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    borderline: float = Field(default=0.5, ge=0.0, le=1.0)
    unsafe: float = Field(default=0.5, ge=0.0, le=1.0)

    @overload
    def code(self, p_borderline: float, p_unsafe: float) -> np.integer[Any]: ...
    @overload
    def code(self, p_borderline: FloatArray, p_unsafe: FloatArray) -> IntArray: ...
    def code(self, p_borderline: float | FloatArray, p_unsafe: float | FloatArray) -> Any:
        """The grade rule, on one item's scores or on arrays: the most severe grade whose test passes."""
        unsafe = UNSAFE * (p_unsafe >= self.unsafe)
        borderline = BORDERLINE * (p_borderline + p_unsafe >= self.borderline)
        return np.maximum(unsafe, borderline)

    def grade(self, scores: tuple[float, float, float]) -> Grade:
        """Return the grade these thresholds give to (safe, borderline, unsafe) scores."""
        _, p_borderline, p_unsafe = scores
        return GRADE_NAMES[int(self.code(p_borderline, p_unsafe))]


@overload
def force_joint(joint: Code, image: Code, text: Code) -> np.integer[Any]: ...
@overload
def force_joint(joint: IntArray, image: IntArray, text: IntArray) -> IntArray: ...
def force_joint(joint: Code | IntArray, image: Code | IntArray, text: Code | IntArray) -> Any:
    """Any unimodal unsafe forces the joint grade to unsafe (design §2); codes of one item or arrays."""
    return np.maximum(joint, UNSAFE * ((image == UNSAFE) | (text == UNSAFE)))


def _check_category_keys(keys: Any, allow_default: bool) -> None:
    allowed = set(CATEGORIES) | ({"default"} if allow_default else set())
    unknown = sorted(str(k) for k in keys if k not in allowed)
    if unknown:
        raise ValueError(f"unknown category {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


class Policy(BaseModel):
    """A named set of thresholds and the action each outcome takes.

    Lowering a threshold makes the policy stricter. `categories` maps `default` and any category
    slug to the score at which that category is flagged; `category_actions` lets a flagged
    category escalate (never relax) the action its joint grade would take.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=POLICY_NAME_PATTERN)
    description: str = ""
    image: GradeThresholds = GradeThresholds()
    text: GradeThresholds = GradeThresholds()
    joint: GradeThresholds = GradeThresholds()
    categories: dict[str, float] = Field(default_factory=lambda: {"default": DEFAULT_CATEGORY_THRESHOLD})
    actions: dict[Grade, Action] = Field(default_factory=lambda: dict(DEFAULT_ACTIONS))
    category_actions: dict[str, Action] = Field(default_factory=dict)

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: dict[str, float]) -> dict[str, float]:
        _check_category_keys(value, allow_default=True)
        bad = sorted(k for k, v in value.items() if not 0.0 <= v <= 1.0)
        if bad:
            raise ValueError(f"threshold of {', '.join(bad)} must be between 0 and 1")
        return {"default": DEFAULT_CATEGORY_THRESHOLD, **value}

    @field_validator("actions")
    @classmethod
    def _complete_actions(cls, value: dict[Grade, Action]) -> dict[Grade, Action]:
        return {**DEFAULT_ACTIONS, **value}

    @field_validator("category_actions")
    @classmethod
    def _check_category_actions(cls, value: dict[str, Action]) -> dict[str, Action]:
        _check_category_keys(value, allow_default=False)
        return value

    @property
    def version(self) -> str:
        """Return a short content hash that changes whenever the policy does."""
        body = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(body).hexdigest()[:12]

    @property
    def category_threshold(self) -> float:
        """Return the flagging threshold of categories without an override."""
        return self.categories["default"]

    def category_threshold_for(self, slug: str, default: float | None = None) -> float:
        """Return the score at which `slug` is flagged (`default` stands in for `categories.default`)."""
        return self.categories.get(slug, self.categories["default"] if default is None else default)

    def category_action_level(self, slug: str) -> int:
        """Return the severity of the action a flagged `slug` escalates to (0 when it has none)."""
        return action_severity(self.category_actions.get(slug, "allow"))

    @overload
    def action_code(self, joint: Code, escalation: Code) -> np.integer[Any]: ...
    @overload
    def action_code(self, joint: IntArray, escalation: IntArray) -> IntArray: ...
    def action_code(self, joint: Code | IntArray, escalation: Code | IntArray) -> Any:
        """The joint grade's action, made stricter (never looser) by the strictest flagged category's."""
        by_grade = np.array([action_severity(self.actions[g]) for g in GRADE_NAMES])
        return np.maximum(by_grade[joint], escalation)

    def decide(self, scores: ModelScores) -> Decision:
        """Grade each modality, flag categories, pick the action and say why."""
        image = ABSENT if scores.image is None else self.image.code(scores.image[1], scores.image[2])
        text = ABSENT if scores.text is None else self.text.code(scores.text[1], scores.text[2])
        joint_own = self.joint.code(scores.joint[1], scores.joint[2])
        joint = force_joint(joint_own, image, text)
        flagged = tuple(
            slug for slug, score in scores.categories.items() if score >= self.category_threshold_for(slug)
        )
        levels = [self.category_action_level(slug) for slug in flagged]
        action = self.action_code(joint, max(levels, default=0))
        base = self.action_code(joint, 0)
        escalated_by = tuple(slug for slug, level in zip(flagged, levels, strict=True) if level > base)
        decision = Decision(
            image_grade=None if image == ABSENT else GRADE_NAMES[int(image)],
            text_grade=None if text == ABSENT else GRADE_NAMES[int(text)],
            joint_grade=GRADE_NAMES[int(joint)],
            flagged_categories=flagged,
            action=ACTIONS[int(action)],
            escalated_by=escalated_by,
        )
        return replace(decision, reasons=explain(self, scores, decision, GRADE_NAMES[int(joint_own)]))


def builtin_policy(thresholds: Mapping[str, Any]) -> Policy:
    """Build the `default` policy from a manifest's `thresholds` block."""
    return Policy(
        name="default",
        description="The model's own default thresholds from its manifest.",
        image=GradeThresholds(**thresholds["image"]),
        text=GradeThresholds(**thresholds["text"]),
        joint=GradeThresholds(**thresholds["joint"]),
        categories={"default": thresholds.get("category", DEFAULT_CATEGORY_THRESHOLD)},
    )


assert GRADES == ("safe", "borderline", "unsafe")
