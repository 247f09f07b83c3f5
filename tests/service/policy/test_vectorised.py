"""The decision rule on arrays: `decide_all` agrees with `Policy.decide` item by item."""

from __future__ import annotations

import random

import numpy as np

from service.policy.rules import (
    ACTIONS,
    GRADE_NAMES,
    GradeThresholds,
    ModelScores,
    Policy,
    action_severity,
)
from service.policy.vectorised import ScoreArrays, decide_all
from service.taxonomy import CATEGORIES, GRADES


def _codes(decision_grade: str | None) -> int:
    return -1 if decision_grade is None else GRADES.index(decision_grade)


def assert_agree(policy: Policy, scores: list[ModelScores]) -> None:
    arrays = decide_all(policy, ScoreArrays.from_scores(scores))
    for i, s in enumerate(scores):
        d = policy.decide(s)
        assert (arrays.image[i], arrays.text[i], arrays.joint[i]) == (
            _codes(d.image_grade),
            _codes(d.text_grade),
            _codes(d.joint_grade),
        ), (policy, s)
        assert ACTIONS[arrays.action[i]] == d.action, (policy, s)
        assert {c for c, f in zip(CATEGORIES, arrays.flagged[i], strict=True) if f} == set(
            d.flagged_categories
        ), (policy, s)
        # escalated_by: the flagged categories whose own action is stricter than the grade's
        grade_action = action_severity(policy.actions[d.joint_grade])
        assert set(d.escalated_by) == {
            c
            for c in d.flagged_categories
            if action_severity(policy.category_actions.get(c, "allow")) > grade_action
        }
        assert bool(d.escalated_by) == (action_severity(d.action) > grade_action)


def test_decide_all_matches_policy_decide() -> None:
    rng = np.random.default_rng(0)
    policy = Policy(
        name="p",
        image=GradeThresholds(borderline=0.4, unsafe=0.6),
        text=GradeThresholds(borderline=0.5, unsafe=0.55),
        joint=GradeThresholds(borderline=0.45, unsafe=0.3),
        categories={"default": 0.6, "self_harm": 0.2},
        actions={"borderline": "block"},
        category_actions={"self_harm": "block", "gore": "review"},
    )
    scores = []
    for k in range(500):
        triples = [tuple(float(x) for x in rng.dirichlet([1, 1, 1])) for _ in range(3)]
        scores.append(
            ModelScores(
                image=triples[0] if k % 5 else None,  # type: ignore[arg-type]
                text=triples[1] if k % 7 else None,  # type: ignore[arg-type]
                joint=triples[2],  # type: ignore[arg-type]
                categories={slug: float(rng.random()) for slug in CATEGORIES},
            )
        )
    arrays = decide_all(policy, ScoreArrays.from_scores(scores))
    actions = ("allow", "review", "block")
    for i, s in enumerate(scores):
        d = policy.decide(s)
        assert (arrays.image[i], arrays.text[i]) == tuple(
            -1 if g is None else GRADES.index(g) for g in (d.image_grade, d.text_grade)
        )
        assert GRADES[arrays.joint[i]] == d.joint_grade
        assert actions[arrays.action[i]] == d.action
        assert tuple(c for c, f in zip(CATEGORIES, arrays.flagged[i], strict=True) if f) == tuple(
            c for c in CATEGORIES if c in d.flagged_categories
        )


STEP = 0.05  # scores and thresholds on one grid, so that many a score sits exactly on its threshold


def _value(rnd: random.Random) -> float:
    return round(rnd.randrange(21) * STEP, 2)


def _triple(rnd: random.Random) -> tuple[float, float, float]:
    borderline = _value(rnd)
    unsafe = round(rnd.randrange(round((1 - borderline) / STEP) + 1) * STEP, 2)
    return (max(0.0, round(1 - borderline - unsafe, 2)), borderline, unsafe)


def random_policy(rnd: random.Random, n: int) -> Policy:
    def thresholds() -> GradeThresholds:
        return GradeThresholds(borderline=_value(rnd), unsafe=_value(rnd))

    overrides = rnd.sample(CATEGORIES, rnd.randrange(5))
    escalating = rnd.sample(CATEGORIES, rnd.randrange(6))
    return Policy(
        name=f"random-{n}",
        image=thresholds(),
        text=thresholds(),
        joint=thresholds(),
        categories={"default": _value(rnd), **{slug: _value(rnd) for slug in overrides}},
        actions={grade: rnd.choice(ACTIONS) for grade in GRADE_NAMES if rnd.random() < 0.5},
        category_actions={slug: rnd.choice(ACTIONS) for slug in escalating},
    )


def random_scores(rnd: random.Random) -> ModelScores:
    present = rnd.sample(CATEGORIES, rnd.randrange(len(CATEGORIES) + 1))  # the others are missing
    rnd.shuffle(present)
    return ModelScores(
        image=_triple(rnd) if rnd.random() < 0.7 else None,
        text=_triple(rnd) if rnd.random() < 0.7 else None,
        joint=_triple(rnd),
        categories={slug: _value(rnd) for slug in present},
    )


def test_random_policies_and_scores_agree_item_by_item() -> None:
    rnd = random.Random(20261124)
    for n in range(60):
        policy = random_policy(rnd, n)
        assert_agree(policy, [random_scores(rnd) for _ in range(100)])  # 6,000 score sets in all


def test_empty_input_gives_empty_decisions() -> None:
    arrays = decide_all(Policy(name="p", category_actions={"gore": "block"}), ScoreArrays.from_scores([]))
    assert arrays.action.shape == (0,) and arrays.flagged.shape == (0, len(CATEGORIES))
