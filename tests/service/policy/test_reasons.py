"""Reasons: one per rule that fired, with its figures and message, never at odds with the action."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any, get_args

import pytest

from service.api.schemas import ReasonResult
from service.policy.reasons import (
    REASON_CODES,
    PolicyId,
    ReasonCode,
    figures,
    image_text_reason,
    joint_reason,
)
from service.policy.rules import ACTIONS, GradeThresholds, ModelScores, Policy
from service.serving.batching import combine_windows
from service.taxonomy import CATEGORIES
from tests.service.policy.test_rules import scores
from tests.service.reasons_check import assert_reasons_explain

DOCS = Path(__file__).resolve().parents[3] / "docs" / "reasons.md"
POLICY = Policy(
    name="p",
    joint=GradeThresholds(borderline=0.4, unsafe=0.4),
    categories={"default": 0.5, "self_harm": 0.3},
    category_actions={"self_harm": "block", "weapons": "review"},
)
LABEL = f"(policy p v{POLICY.version})"


def reasons(item: ModelScores, policy: Policy = POLICY) -> list[tuple[str, str, float, float, str, str]]:
    decision = policy.decide(item)
    return [(r.code, r.reading, r.score, r.threshold, r.effect, r.message) for r in decision.reasons]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        (
            scores(joint=(0.8, 0.1, 0.1)),
            [("below_thresholds", "joint", 0.2, 0.4, "allow",
              "highest reading joint borderline 0.20 < 0.40 → allow")],
        ),
        (
            scores(joint=(0.5, 0.3, 0.2)),
            [("joint_borderline", "joint", 0.5, 0.4, "review", "joint borderline 0.50 ≥ 0.40 → review")],
        ),
        (
            scores(joint=(0.1, 0.2, 0.7)),
            [("joint_unsafe", "joint", 0.7, 0.4, "block", "joint unsafe 0.70 ≥ 0.40 → block")],
        ),
        (
            scores(image=(0.2, 0.1, 0.7)),
            [("image_unsafe_forces_joint", "image", 0.7, 0.5, "block",
              "image unsafe 0.70 ≥ 0.50 forces joint unsafe → block")],
        ),
        (
            scores(text=(0.0, 0.1, 0.9)),
            [("text_unsafe_forces_joint", "text", 0.9, 0.5, "block",
              "text unsafe 0.90 ≥ 0.50 forces joint unsafe → block")],
        ),
        (
            scores(joint=(0.5, 0.3, 0.2), self_harm=0.62),
            [("category_escalates", "category:self_harm", 0.62, 0.3, "block",
              "category self_harm 0.62 ≥ 0.30 escalates review → block"),
             ("joint_borderline", "joint", 0.5, 0.4, "review", "joint borderline 0.50 ≥ 0.40 → review")],
        ),
        (
            scores(joint=(0.1, 0.2, 0.7), weapons=0.7),
            [("joint_unsafe", "joint", 0.7, 0.4, "block", "joint unsafe 0.70 ≥ 0.40 → block"),
             ("category_flagged", "category:weapons", 0.7, 0.5, "none",
              "category weapons 0.70 ≥ 0.50 flagged, action unchanged")],
        ),
        (
            scores(image=(0.35, 0.4, 0.25), text=None),
            [("below_thresholds", "image", 0.25, 0.5, "allow",
              "highest reading image unsafe 0.25 < 0.50 → allow"),
             ("image_borderline", "image", 0.65, 0.5, "none",
              "image borderline 0.65 ≥ 0.50, its own grade only")],
        ),
    ],
    ids=["allow", "review", "block", "image-forces", "text-forces", "escalates", "flagged",
         "image-borderline"],
)  # fmt: skip
def test_each_rule_has_its_code_figures_and_message(
    item: ModelScores, expected: list[tuple[str, str, float, float, str, str]]
) -> None:
    got = reasons(item)
    assert [r[:5] for r in got] == [e[:5] for e in expected]
    assert [r[5] for r in got] == [f"{e[5]} {LABEL}" for e in expected]


def test_the_issue_examples_read_as_written() -> None:
    policy = PolicyId("default", "8d20a08")
    assert joint_reason("unsafe", 0.97, 0.40, policy, "block").message == (
        "joint unsafe 0.97 ≥ 0.40 → block (policy default v8d20a08)"
    )
    (escalation, _) = POLICY.decide(scores(joint=(0.5, 0.3, 0.2), self_harm=0.62)).reasons
    assert "category self_harm 0.62 ≥ 0.30 escalates review → block" in escalation.message


def test_thresholds_are_inclusive_and_the_margin_signed() -> None:
    (at,) = POLICY.decide(scores(joint=(0.6, 0.0, 0.4))).reasons
    assert (at.code, at.margin) == ("joint_unsafe", 0.0)
    assert at.message.startswith("joint unsafe 0.40 ≥ 0.40 ")
    (under,) = POLICY.decide(scores(joint=(0.6001, 0.0, 0.3999))).reasons
    assert under.code == "below_thresholds" and under.margin == pytest.approx(-0.0001)
    # ties go to the first test: the joint's borderline test (0.0 + 0.3999 against 0.4)
    assert under.message.startswith("highest reading joint borderline 0.3999 < 0.4000 ")


def test_figures_never_show_unequal_numbers_as_equal() -> None:
    assert figures(0.97, 0.4) == ("0.97", "0.40")
    assert figures(0.5, 0.5) == ("0.50", "0.50")
    assert figures(0.4999, 0.5) == ("0.4999", "0.5000")
    assert figures(0.12345, 0.1234) == ("0.1235", "0.1234")
    assert figures(0.418, 0.125) == ("0.418", "0.125")  # the threshold as the policy has it
    assert figures(0.41, 0.4125) == ("0.4100", "0.4125")
    assert figures(0.5 - 1e-12, 0.5) == ("0.500000", "0.500000")  # at most 6 digits; `<` still tells


def test_below_thresholds_names_the_reading_nearest_its_threshold() -> None:
    (text,) = POLICY.decide(scores(text=(0.52, 0.03, 0.45))).reasons
    assert (text.code, text.reading) == ("below_thresholds", "text")
    assert text.message.startswith("highest reading text unsafe 0.45 < 0.50 → allow")
    # an unflagged category whose flag would escalate the action is a test that could have fired
    (category,) = POLICY.decide(scores(text=(0.52, 0.03, 0.45), self_harm=0.29)).reasons
    assert (category.reading, category.score, category.threshold) == ("category:self_harm", 0.29, 0.3)
    assert category.message.startswith("highest reading category self_harm 0.29 < 0.30 → allow")
    # one that would not (no category action) is not
    (joint,) = POLICY.decide(scores(joint=(0.7, 0.0, 0.3), gore=0.49)).reasons
    assert joint.reading == "joint"


def test_a_forced_joint_says_what_forced_it() -> None:
    forced = POLICY.decide(scores(joint=(0.5, 0.3, 0.2), text=(0.0, 0.1, 0.9)))
    assert [r.code for r in forced.reasons] == ["text_unsafe_forces_joint"]  # not the superseded borderline
    both = POLICY.decide(scores(joint=(0.1, 0.2, 0.7), image=(0.2, 0.1, 0.7), text=(0.0, 0.1, 0.9)))
    assert [r.code for r in both.reasons] == [
        "joint_unsafe",
        "image_unsafe_forces_joint",
        "text_unsafe_forces_joint",
    ]


def test_the_policys_actions_set_the_effect() -> None:
    lenient = Policy(name="lenient", joint=POLICY.joint, actions={"borderline": "allow"})
    (borderline,) = lenient.decide(scores(joint=(0.5, 0.3, 0.2))).reasons
    assert (borderline.code, borderline.effect) == ("joint_borderline", "allow")
    wary = Policy(name="wary", actions={"safe": "review"})
    (safe,) = wary.decide(scores()).reasons
    assert (safe.code, safe.effect) == ("below_thresholds", "review")
    assert safe.message.endswith(f"→ review (policy wary v{wary.version})")


def test_a_long_texts_window_is_named() -> None:
    windows = [
        scores(joint=(0.9, 0.05, 0.05), text=(0.9, 0.05, 0.05)),
        scores(joint=(0.5, 0.1, 0.4), text=(0.0, 0.1, 0.9)),
        scores(joint=(0.2, 0.1, 0.7), text=(0.5, 0.1, 0.4)),
    ]
    combined = combine_windows(windows)
    assert (combined.windows, combined.text_window, combined.joint_window) == (3, 1, 2)
    got = POLICY.decide(combined).reasons
    assert [(r.code, r.reading) for r in got] == [
        ("joint_unsafe", "joint"),
        ("text_window", "joint"),
        ("text_unsafe_forces_joint", "text"),
        ("text_window", "text"),
    ]
    assert got[1].message == f"joint reading from text window 3 of 3, the most severe {LABEL}"
    assert got[3].message == f"text reading from text window 2 of 3, the most severe {LABEL}"
    assert (got[1].score, got[1].threshold, got[1].effect) == (0.7, 0.4, "block")
    # a text of one window: no window reason
    assert "text_window" not in {r.code for r in POLICY.decide(windows[2]).reasons}


def test_image_text_is_reserved_with_a_builder() -> None:
    reason = image_text_reason("text", "unsafe", 0.83, 0.2, 0.5, PolicyId("default", "abc"), "block")
    assert (reason.code, reason.reading, reason.score, reason.threshold, reason.effect) == (
        "image_text",
        "text",
        0.83,
        0.5,
        "block",
    )
    assert reason.message == (
        "text read in the image raised text unsafe 0.83 ≥ 0.50 (from 0.20) → block (policy default vabc)"
    )


def test_every_code_is_listed_once_and_documented() -> None:
    assert len(set(REASON_CODES)) == len(REASON_CODES) == len(get_args(ReasonCode))
    text = DOCS.read_text(encoding="utf-8")
    for code in REASON_CODES:
        assert f"`{code}`" in text, code


def _random_scores(rng: random.Random, windows: int) -> ModelScores:
    def triple() -> tuple[float, float, float]:
        a, b = sorted((rng.random(), rng.random()))
        return (a, b - a, 1.0 - b)

    image = None if rng.random() < 0.2 else triple()
    with_text = windows > 1 or image is None or rng.random() < 0.8  # windows are a text's
    parts = [
        ModelScores(image, triple() if with_text else None, triple(), {s: rng.random() for s in CATEGORIES})
        for _ in range(windows)
    ]
    return combine_windows(parts)


def _random_policy(rng: random.Random) -> Policy:
    def thresholds() -> dict[str, float]:
        return {"borderline": round(rng.random(), 2), "unsafe": round(rng.random(), 2)}

    slugs = rng.sample(CATEGORIES, 3)
    definition: dict[str, Any] = {
        "name": "random",
        "image": thresholds(),
        "text": thresholds(),
        "joint": thresholds(),
        "categories": {"default": round(rng.random(), 2), slugs[0]: round(rng.random(), 2)},
        "actions": {grade: rng.choice(ACTIONS) for grade in ("safe", "borderline", "unsafe")},
        "category_actions": {slug: rng.choice(ACTIONS) for slug in slugs[1:]},
    }
    return Policy.model_validate(definition)


def test_reasons_agree_with_the_action_on_random_policies_and_scores() -> None:
    rng = random.Random(24)
    seen: set[str] = set()
    for _ in range(1500):
        policy, item = _random_policy(rng), _random_scores(rng, rng.choice((1, 1, 2, 4)))
        decision = policy.decide(item)
        answer = [ReasonResult.of(r).model_dump() for r in decision.reasons]
        assert_reasons_explain(answer, decision.action, item, policy, windows=item.windows)
        seen.update(r.code for r in decision.reasons)
    assert seen == set(REASON_CODES) - {"image_text"}  # every code the decision makes was checked
