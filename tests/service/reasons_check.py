"""Check an answer's reasons against the policy, derived here independently of service.policy.reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from service.evaluation.scorers import parse_classify_result
from service.policy.rules import Grade, ModelScores, Policy

SEVERITY = {"none": -1, "allow": 0, "review": 1, "block": 2}
ACTIONS = ("allow", "review", "block")
# the codes whose rule passed its threshold (score >= threshold); below_thresholds stayed under its one
CROSSING = {
    "joint_unsafe",
    "joint_borderline",
    "image_unsafe_forces_joint",
    "text_unsafe_forces_joint",
    "category_escalates",
    "image_borderline",
    "text_borderline",
    "category_flagged",
    "image_text",
}


def expected_decision(scores: ModelScores, policy: Policy) -> tuple[set[str], str]:
    """The codes of the grade and category rules that fire, and the action, by the rule written out."""
    joint = scores.joint
    codes: set[str] = set()
    if joint[2] >= policy.joint.unsafe:
        codes.add("joint_unsafe")
    unimodal = (("image", scores.image, policy.image), ("text", scores.text, policy.text))
    for name, triple, thresholds in unimodal:
        if triple is None:
            continue
        if triple[2] >= thresholds.unsafe:
            codes.add(f"{name}_unsafe_forces_joint")
        elif triple[1] + triple[2] >= thresholds.borderline:
            codes.add(f"{name}_borderline")
    unsafe = bool(codes & {"joint_unsafe", "image_unsafe_forces_joint", "text_unsafe_forces_joint"})
    borderline = not unsafe and joint[1] + joint[2] >= policy.joint.borderline
    if borderline:
        codes.add("joint_borderline")
    grade: Grade = "unsafe" if unsafe else "borderline" if borderline else "safe"
    if grade == "safe":
        codes.add("below_thresholds")
    base = SEVERITY[policy.actions[grade]]
    flagged = [s for s, v in scores.categories.items() if v >= policy.category_threshold_for(s)]
    escalations = [SEVERITY[policy.category_actions.get(s, "allow")] for s in flagged]
    if any(level > base for level in escalations):
        codes.add("category_escalates")
    if any(level <= base for level in escalations):
        codes.add("category_flagged")
    return codes, ACTIONS[max([base, *escalations])]


def _figure(reason: Mapping[str, Any], scores: ModelScores, policy: Policy) -> tuple[float, float]:
    """The score and threshold that the reason's code and reading name, read from the scores and policy."""
    reading, code = reason["reading"], reason["code"]
    if reading.startswith("category:"):
        slug = reading.removeprefix("category:")
        return scores.categories[slug], policy.category_threshold_for(slug)
    triple = {"image": scores.image, "text": scores.text, "joint": scores.joint}[reading]
    thresholds = {"image": policy.image, "text": policy.text, "joint": policy.joint}[reading]
    assert triple is not None, reason
    nearest_borderline = code == "below_thresholds" and f"{reading} borderline" in reason["message"]
    if code.endswith("_borderline") or nearest_borderline:
        return triple[1] + triple[2], thresholds.borderline
    return triple[2], thresholds.unsafe


def assert_reasons_explain(
    reasons: Sequence[Mapping[str, Any]],
    action: str,
    scores: ModelScores,
    policy: Policy,
    windows: int | None = None,
) -> None:
    """Assert the reasons (in the answer's JSON form) say exactly why `policy` takes `action` on `scores`."""
    codes, expected_action = expected_decision(scores, policy)
    assert action == expected_action, (action, expected_action, reasons)
    assert reasons, "every decision has a reason"
    assert reasons[0]["effect"] == action, reasons  # strictest first: the first one says why
    effects = [SEVERITY[r["effect"]] for r in reasons]
    assert effects == sorted(effects, reverse=True) and max(effects) == SEVERITY[action], reasons
    assert {r["code"] for r in reasons} - {"text_window"} == codes, reasons
    label = f"(policy {policy.name} v{policy.version})"
    by_parent: dict[str, Mapping[str, Any]] = {}
    for reason in reasons:
        assert reason["policy"] == {"name": policy.name, "version": policy.version}, reason
        assert reason["message"].endswith(label), reason
        if reason["code"] != "text_window":  # its figures are its parent's, checked below
            score, threshold = _figure(reason, scores, policy)
            assert (reason["score"], reason["threshold"]) == (score, threshold), (reason, score, threshold)
        if reason["code"] in CROSSING:
            assert reason["score"] >= reason["threshold"], reason
        elif reason["code"] == "below_thresholds":
            assert reason["score"] < reason["threshold"], reason
        if reason["code"] == "text_window":
            parent = by_parent[reason["reading"]]
            assert (reason["effect"], reason["score"]) == (parent["effect"], parent["score"]), reason
        elif reason["reading"] in ("text", "joint") and reason["effect"] != "none":
            by_parent[reason["reading"]] = reason
    window_readings = sorted(r["reading"] for r in reasons if r["code"] == "text_window")
    assert window_readings == (sorted(by_parent) if (windows or 1) > 1 else []), reasons
    named = {r["reading"].removeprefix("category:") for r in reasons if r["code"].startswith("category_")}
    flagged = {s for s, v in scores.categories.items() if v >= policy.category_threshold_for(s)}
    assert named == flagged, reasons


def answer_scores(answer: Mapping[str, Any]) -> ModelScores:
    """The model scores a classify answer reports."""
    scores = parse_classify_result(answer)
    assert isinstance(scores, ModelScores), scores
    return scores


def served_policy(client: httpx.Client, name: str = "default") -> Policy:
    """The policy as the server reports it (GET /v1/policies), its version checked."""
    listed = {p["name"]: p for p in client.get("/v1/policies").json()["policies"]}
    policy = Policy.model_validate(listed[name]["definition"])
    assert policy.version == listed[name]["version"]
    return policy


def assert_explained(answer: Mapping[str, Any], policy: Policy) -> None:
    """Assert a classify answer's reasons say why `policy`, which it names, took its action."""
    assert answer["policy"] == {"name": policy.name, "version": policy.version}
    assert_reasons_explain(
        answer["reasons"], answer["action"], answer_scores(answer), policy, answer.get("text_windows")
    )
