"""Threshold policies: turn model scores into grades, flagged categories and an action."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from service.taxonomy import CATEGORIES, GRADES

Grade = Literal["safe", "borderline", "unsafe"]
Action = Literal["allow", "review", "block"]
Direction = Literal["stricter", "looser"]

ACTIONS: tuple[Action, ...] = ("allow", "review", "block")
DEFAULT_ACTIONS: dict[Grade, Action] = {"safe": "allow", "borderline": "review", "unsafe": "block"}
DEFAULT_CATEGORY_THRESHOLD = 0.5
POLICY_NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"


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


class GradeThresholds(BaseModel):
    """`unsafe` if p_unsafe >= unsafe; else `borderline` if p_borderline + p_unsafe >= borderline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    borderline: float = Field(default=0.5, ge=0.0, le=1.0)
    unsafe: float = Field(default=0.5, ge=0.0, le=1.0)

    def grade(self, scores: tuple[float, float, float]) -> Grade:
        """Return the grade these thresholds give to (safe, borderline, unsafe) scores."""
        _, p_borderline, p_unsafe = scores
        if p_unsafe >= self.unsafe:
            return "unsafe"
        if p_borderline + p_unsafe >= self.borderline:
            return "borderline"
        return "safe"


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

    @model_validator(mode="before")
    @classmethod
    def _legacy_category_threshold(cls, data: Any) -> Any:
        # `category_threshold=x` (the first version of this class) means `categories: {default: x}`.
        if isinstance(data, dict) and "category_threshold" in data:
            data = dict(data)
            threshold = data.pop("category_threshold")
            data["categories"] = {**dict(data.get("categories") or {}), "default": threshold}
        return data

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

    def category_threshold_for(self, slug: str) -> float:
        """Return the score at which `slug` is flagged."""
        return self.categories.get(slug, self.categories["default"])

    def decide(self, scores: ModelScores) -> Decision:
        """Grade each modality, flag categories and pick the action."""
        image_grade = self.image.grade(scores.image) if scores.image is not None else None
        text_grade = self.text.grade(scores.text) if scores.text is not None else None
        joint_grade = self.joint.grade(scores.joint)
        # Any unimodal unsafe forces the joint grade to unsafe (design §2).
        if "unsafe" in (image_grade, text_grade):
            joint_grade = "unsafe"
        flagged = tuple(
            slug for slug, score in scores.categories.items() if score >= self.category_threshold_for(slug)
        )
        base_action = self.actions[joint_grade]
        escalated_by = tuple(
            slug
            for slug in flagged
            if action_severity(self.category_actions.get(slug, "allow")) > action_severity(base_action)
        )
        action = max(
            (self.category_actions[s] for s in escalated_by), key=action_severity, default=base_action
        )
        return Decision(image_grade, text_grade, joint_grade, flagged, action, escalated_by)


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


# --- shadow policy -------------------------------------------------------------------------------

_GRADE_FIELDS = ("image", "text", "joint")


@dataclass(frozen=True)
class ShadowDisagreement:
    """How a shadow policy's decision differs from the live one (directions are the shadow's)."""

    action: Direction | None
    live_action: Action
    shadow_action: Action
    # Grade fields (`image`, `text`, `joint`) whose grade differs, with the shadow's direction.
    grades: dict[str, Direction] = field(default_factory=dict)
    stricter_categories: tuple[str, ...] = ()  # flagged by the shadow only
    looser_categories: tuple[str, ...] = ()  # flagged by the live policy only

    def counts(self) -> list[tuple[str, Direction]]:
        """Return one (what, direction) pair per difference, for a labelled counter.

        `what` is `action`, `grade:<image|text|joint>` or `category:<slug>`.
        """
        pairs: list[tuple[str, Direction]] = []
        if self.action is not None:
            pairs.append(("action", self.action))
        pairs.extend((f"grade:{name}", direction) for name, direction in self.grades.items())
        pairs.extend((f"category:{slug}", "stricter") for slug in self.stricter_categories)
        pairs.extend((f"category:{slug}", "looser") for slug in self.looser_categories)
        return pairs

    def log_fields(self) -> dict[str, Any]:
        """Return the disagreement as flat, content-free fields for a structured log line."""
        return {
            "shadow_action_direction": self.action,
            "live_action": self.live_action,
            "shadow_action": self.shadow_action,
            "shadow_grades": dict(self.grades),
            "shadow_stricter_categories": list(self.stricter_categories),
            "shadow_looser_categories": list(self.looser_categories),
        }


def _direction(live: int, shadow: int) -> Direction | None:
    if shadow == live:
        return None
    return "stricter" if shadow > live else "looser"


def shadow_disagreement(live: Decision, shadow: Decision) -> ShadowDisagreement | None:
    """Compare a shadow decision with the live one; None when they agree on everything."""
    grades: dict[str, Direction] = {}
    for name in _GRADE_FIELDS:
        live_grade: Grade | None = getattr(live, f"{name}_grade")
        shadow_grade: Grade | None = getattr(shadow, f"{name}_grade")
        if live_grade is None or shadow_grade is None:
            continue
        direction = _direction(GRADES.index(live_grade), GRADES.index(shadow_grade))
        if direction is not None:
            grades[name] = direction
    live_flags, shadow_flags = set(live.flagged_categories), set(shadow.flagged_categories)
    disagreement = ShadowDisagreement(
        action=_direction(action_severity(live.action), action_severity(shadow.action)),
        live_action=live.action,
        shadow_action=shadow.action,
        grades=grades,
        stricter_categories=tuple(sorted(shadow_flags - live_flags)),
        looser_categories=tuple(sorted(live_flags - shadow_flags)),
    )
    return disagreement if disagreement.counts() else None


assert GRADES == ("safe", "borderline", "unsafe")
