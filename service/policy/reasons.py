"""Reasons: why a policy decided what it did, one per rule that fired (docs/reasons.md).

`Policy.decide` calls `explain` with the grades it has just computed, so the reasons come from the
decision itself and never disagree with its action: the action is the strictest `effect` among the
reasons, and the reasons are ordered strictest effect first. Each builder below makes one code's
reason from plain figures; messages never quote content (the audit log copies them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:  # rules.py imports this module: the types only, at type-checking time
    from service.policy.rules import Action, Decision, Grade, GradeThresholds, ModelScores, Policy

ReasonCode = Literal[  # in the order of docs/reasons.md's table (and of the eval report's rows)
    "joint_unsafe",
    "joint_borderline",
    "image_unsafe_forces_joint",
    "text_unsafe_forces_joint",
    "category_escalates",
    "below_thresholds",
    "text_window",
    "image_text",  # reserved: wired when the OCR stage lands
    "image_borderline",
    "text_borderline",
    "category_flagged",
]
REASON_CODES: tuple[ReasonCode, ...] = get_args(ReasonCode)
# The action a rule leads to on its own, or `none` for a rule that sets a grade or a flag only.
Effect = Literal["allow", "review", "block", "none"]
Modality = Literal["image", "text", "joint"]
Unimodal = Literal["image", "text"]
Test = Literal["borderline", "unsafe"]

_SEVERITY: dict[Effect, int] = {"none": -1, "allow": 0, "review": 1, "block": 2}
_THRESHOLD_DIGITS = 4  # a threshold is shown exactly up to this many decimals
_MAX_DIGITS = 6


@dataclass(frozen=True)
class PolicyId:
    """The policy a reason belongs to: its name and content-hash version."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"policy {self.name} v{self.version}"


@dataclass(frozen=True)
class Reason:
    """One rule that fired: `reading` crossed (or, for `below_thresholds`, stayed under) `threshold`.

    `score` is the figure the rule compares: p_unsafe for an unsafe test, p_borderline + p_unsafe
    for a borderline test, the category's score for a category.
    """

    code: ReasonCode
    reading: str  # image, text, joint, or category:<slug>
    score: float
    threshold: float
    policy: PolicyId
    effect: Effect
    message: str

    @property
    def margin(self) -> float:
        """Return how far the score is above its threshold (negative: below)."""
        return self.score - self.threshold


def figures(score: float, threshold: float) -> tuple[str, str]:
    """Format a score and its threshold with 2 decimals, or as many as the threshold has (up to 4: 0.125),
    and more where that would make unequal figures look equal (0.4999 and 0.5 print as 0.4999 and 0.5000)."""
    digits = 2
    while digits < _THRESHOLD_DIGITS and round(threshold, digits) != threshold:
        digits += 1
    while digits < _MAX_DIGITS and score != threshold and f"{score:.{digits}f}" == f"{threshold:.{digits}f}":
        digits += 1
    return f"{score:.{digits}f}", f"{threshold:.{digits}f}"


def _crossed(label: str, score: float, threshold: float) -> str:
    shown, bar = figures(score, threshold)
    return f"{label} {shown} {'≥' if score >= threshold else '<'} {bar}"


def joint_reason(test: Test, score: float, threshold: float, policy: PolicyId, effect: Effect) -> Reason:
    """The joint reading passed its `test`: e.g. "joint unsafe 0.97 ≥ 0.40 → block (policy …)"."""
    code: ReasonCode = "joint_unsafe" if test == "unsafe" else "joint_borderline"
    message = f"{_crossed(f'joint {test}', score, threshold)} → {effect} ({policy})"
    return Reason(code, "joint", score, threshold, policy, effect, message)


def forcing_reason(
    reading: Unimodal, score: float, threshold: float, policy: PolicyId, effect: Effect
) -> Reason:
    """An image or a text unsafe alone forces the joint grade to unsafe (design §2)."""
    code: ReasonCode = "image_unsafe_forces_joint" if reading == "image" else "text_unsafe_forces_joint"
    message = f"{_crossed(f'{reading} unsafe', score, threshold)} forces joint unsafe → {effect} ({policy})"
    return Reason(code, reading, score, threshold, policy, effect, message)


def unimodal_borderline_reason(reading: Unimodal, score: float, threshold: float, policy: PolicyId) -> Reason:
    """An image or a text is borderline alone: its grade (and the pattern), not the action."""
    code: ReasonCode = "image_borderline" if reading == "image" else "text_borderline"
    message = f"{_crossed(f'{reading} borderline', score, threshold)}, its own grade only ({policy})"
    return Reason(code, reading, score, threshold, policy, "none", message)


def category_reason(
    slug: str, score: float, threshold: float, policy: PolicyId, escalation: tuple[Action, Action] | None
) -> Reason:
    """A flagged category: `escalation` (from, to) when its `category_actions` entry made the action
    stricter than the joint grade's, e.g. "category self_harm 0.62 ≥ 0.50 escalates review → block"."""
    crossed = _crossed(f"category {slug}", score, threshold)
    if escalation is None:
        message = f"{crossed} flagged, action unchanged ({policy})"
        return Reason("category_flagged", f"category:{slug}", score, threshold, policy, "none", message)
    before, after = escalation
    message = f"{crossed} escalates {before} → {after} ({policy})"
    return Reason("category_escalates", f"category:{slug}", score, threshold, policy, after, message)


def below_thresholds_reason(
    reading: str, test: Test | None, score: float, threshold: float, policy: PolicyId, effect: Effect
) -> Reason:
    """No grade test passed: the reading nearest its threshold stayed below it (`test` None: a category,
    `reading` then being category:<slug>)."""
    label = f"{reading} {test}" if test is not None else reading.replace(":", " ", 1)
    message = f"highest reading {_crossed(label, score, threshold)} → {effect} ({policy})"
    return Reason("below_thresholds", reading, score, threshold, policy, effect, message)


def text_window_reason(decided_by: Reason, window: int, windows: int) -> Reason:
    """`decided_by`'s text or joint reading is one window's (0-based `window` of `windows`) of a long text:
    the most severe window decides (service.serving.batching.combine_windows)."""
    reading, policy = decided_by.reading, decided_by.policy
    message = f"{reading} reading from text window {window + 1} of {windows}, the most severe ({policy})"
    return Reason(
        "text_window", reading, decided_by.score, decided_by.threshold, policy, decided_by.effect, message
    )


def image_text_reason(
    reading: Modality,
    test: Test,
    score: float,
    score_without_image_text: float,
    threshold: float,
    policy: PolicyId,
    effect: Effect,
) -> Reason:
    """Text read inside the image (OCR) raised `reading` from `score_without_image_text` to `score`, past
    its threshold. Reserved: the OCR stage wires it; never quotes what was read."""
    before, _ = figures(score_without_image_text, threshold)
    crossed = _crossed(f"{reading} {test}", score, threshold)
    message = f"text read in the image raised {crossed} (from {before}) → {effect} ({policy})"
    return Reason("image_text", reading, score, threshold, policy, effect, message)


def strictest_first(reasons: Sequence[Reason]) -> tuple[Reason, ...]:
    """Order reasons strictest effect first (the first one's effect is the action), keeping the rest's
    order."""
    return tuple(sorted(reasons, key=lambda r: -_SEVERITY[r.effect]))


def explain(policy: Policy, scores: ModelScores, decision: Decision, joint_own: Grade) -> tuple[Reason, ...]:
    """Return the reasons of `decision`, which `policy` made of `scores`; `joint_own` is the joint grade
    before any unimodal unsafe forced it."""
    pid = PolicyId(policy.name, policy.version)
    by_grade: Action = policy.actions[decision.joint_grade]
    joint = scores.joint
    unimodal = _unimodal_readings(policy, scores, decision)
    reasons: list[Reason] = []
    if joint_own == "unsafe":
        reasons.append(joint_reason("unsafe", joint[2], policy.joint.unsafe, pid, by_grade))
    elif joint_own == "borderline" and decision.joint_grade == "borderline":
        borderline = joint_reason("borderline", joint[1] + joint[2], policy.joint.borderline, pid, by_grade)
        reasons.append(borderline)
    for reading, triple, grade, thresholds in unimodal:
        if grade == "unsafe":
            reasons.append(forcing_reason(reading, triple[2], thresholds.unsafe, pid, by_grade))
    if decision.joint_grade == "safe":
        reasons.append(_nearest_miss(policy, scores, decision, pid, by_grade))
    if scores.windows > 1:
        reasons = _with_windows(reasons, scores)

    def category(slug: str, escalation: tuple[Action, Action] | None) -> Reason:
        threshold = policy.category_threshold_for(slug)
        return category_reason(slug, scores.categories[slug], threshold, pid, escalation)

    reasons.extend(
        category(slug, (by_grade, policy.category_actions[slug])) for slug in decision.escalated_by
    )
    for reading, triple, grade, thresholds in unimodal:
        if grade == "borderline":
            reasons.append(
                unimodal_borderline_reason(reading, triple[1] + triple[2], thresholds.borderline, pid)
            )
    reasons.extend(category(s, None) for s in decision.flagged_categories if s not in decision.escalated_by)
    return strictest_first(reasons)


def _unimodal_readings(
    policy: Policy, scores: ModelScores, decision: Decision
) -> list[tuple[Unimodal, tuple[float, float, float], Grade | None, GradeThresholds]]:
    """The image and text readings given: name, scores, grade and the policy's thresholds for them."""
    given: list[tuple[Unimodal, tuple[float, float, float], Grade | None, GradeThresholds]] = []
    if scores.image is not None:
        given.append(("image", scores.image, decision.image_grade, policy.image))
    if scores.text is not None:
        given.append(("text", scores.text, decision.text_grade, policy.text))
    return given


def _nearest_miss(
    policy: Policy, scores: ModelScores, decision: Decision, pid: PolicyId, effect: Action
) -> Reason:
    """The `below_thresholds` reason: of the tests that would have changed the action, the one whose
    score came nearest its threshold (the first of equals)."""
    joint = scores.joint
    misses: list[tuple[str, Test | None, float, float]] = [
        ("joint", "borderline", joint[1] + joint[2], policy.joint.borderline),
        ("joint", "unsafe", joint[2], policy.joint.unsafe),
    ]
    for reading, triple, _, thresholds in _unimodal_readings(policy, scores, decision):
        misses.append((reading, "unsafe", triple[2], thresholds.unsafe))
    level = _SEVERITY[effect]
    for slug, score in scores.categories.items():
        if slug not in decision.flagged_categories and policy.category_action_level(slug) > level:
            misses.append((f"category:{slug}", None, score, policy.category_threshold_for(slug)))
    nearest, test, score, threshold = max(misses, key=lambda miss: miss[2] - miss[3])
    return below_thresholds_reason(nearest, test, score, threshold, pid, effect)


def _with_windows(reasons: Sequence[Reason], scores: ModelScores) -> list[Reason]:
    """Follow each reason that a text or joint reading decided with its `text_window` reason."""
    window = {"text": scores.text_window, "joint": scores.joint_window}
    out: list[Reason] = []
    for reason in reasons:
        out.append(reason)
        if reason.reading in window:
            out.append(text_window_reason(reason, window[reason.reading], scores.windows))
    return out
