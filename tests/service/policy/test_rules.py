"""Policies: decisions, validation errors and the reloadable store."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service import errors
from service.policy.rules import GradeThresholds, ModelScores, Policy, builtin_policy
from service.policy.store import PolicyLoadError, PolicyStore, UnknownPolicy, load_policy_file

POLICIES_DIR = Path(__file__).resolve().parents[3] / "policies"
MANIFEST_THRESHOLDS = {
    "image": {"borderline": 0.5, "unsafe": 0.5},
    "text": {"borderline": 0.5, "unsafe": 0.5},
    "joint": {"borderline": 0.5, "unsafe": 0.35},
    "category": 0.5,
}
SAFE = (0.9, 0.05, 0.05)


def scores(
    joint: tuple[float, float, float] = SAFE,
    image: tuple[float, float, float] | None = SAFE,
    text: tuple[float, float, float] | None = SAFE,
    **categories: float,
) -> ModelScores:
    return ModelScores(image=image, text=text, joint=joint, categories=categories)


# --- decisions ------------------------------------------------------------------------------------


def test_grade_rule_thresholds_are_inclusive() -> None:
    t = GradeThresholds(borderline=0.5, unsafe=0.4)
    assert t.grade((0.6, 0.0, 0.4)) == "unsafe"
    assert t.grade((0.61, 0.0, 0.39)) == "safe"
    assert t.grade((0.5, 0.2, 0.3)) == "borderline"  # 0.2 + 0.3 >= 0.5
    assert t.grade((0.51, 0.2, 0.29)) == "safe"


def test_decide_maps_joint_grade_to_action() -> None:
    policy = Policy(name="p", joint=GradeThresholds(borderline=0.5, unsafe=0.4))
    assert policy.decide(scores(joint=(0.9, 0.05, 0.05))).action == "allow"
    assert policy.decide(scores(joint=(0.3, 0.4, 0.3))).action == "review"
    decision = policy.decide(scores(joint=(0.3, 0.3, 0.4)))
    assert (decision.joint_grade, decision.action) == ("unsafe", "block")


def test_unimodal_unsafe_forces_joint_unsafe() -> None:
    decision = Policy(name="p").decide(scores(joint=SAFE, image=(0.1, 0.1, 0.8)))
    assert (decision.image_grade, decision.text_grade, decision.joint_grade) == ("unsafe", "safe", "unsafe")
    assert decision.action == "block"


def test_absent_modality_is_none_not_safe() -> None:
    decision = Policy(name="p").decide(scores(image=None))
    assert decision.image_grade is None
    assert decision.text_grade == "safe"


def test_category_override_and_escalation() -> None:
    policy = Policy(
        name="p",
        categories={"default": 0.5, "self_harm": 0.3},
        category_actions={"self_harm": "block", "weapons": "review"},
    )
    decision = policy.decide(scores(self_harm=0.35, weapons=0.45, gore=0.5))
    assert decision.flagged_categories == ("self_harm", "gore")
    assert decision.joint_grade == "safe"
    assert decision.action == "block"
    assert decision.escalated_by == ("self_harm",)
    assert policy.decide(scores(self_harm=0.29)).action == "allow"
    assert policy.decide(scores(weapons=0.5)).action == "review"


def test_escalation_never_relaxes() -> None:
    policy = Policy(name="p", category_actions={"self_harm": "review"})
    decision = policy.decide(scores(joint=(0.1, 0.1, 0.8), self_harm=0.9))
    assert decision.action == "block"
    assert decision.escalated_by == ()


def test_actions_map_is_completed_with_defaults() -> None:
    policy = Policy.model_validate({"name": "p", "actions": {"borderline": "allow"}})
    assert policy.actions == {"safe": "allow", "borderline": "allow", "unsafe": "block"}


def test_version_is_a_content_hash() -> None:
    a = Policy(name="p")
    assert a.version == Policy(name="p").version
    assert a.version != Policy(name="p", joint=GradeThresholds(unsafe=0.3)).version
    assert len(a.version) == 12


def test_builtin_policy_from_manifest() -> None:
    policy = builtin_policy(MANIFEST_THRESHOLDS)
    assert policy.name == "default"
    assert policy.joint.unsafe == 0.35
    assert policy.category_threshold == 0.5
    with pytest.raises(ValidationError, match="category_threshold"):  # never shipped: not a knob
        Policy.model_validate({"name": "p", "category_threshold": 0.2})


def test_shipped_policies_order_by_strictness() -> None:
    store = PolicyStore.load_dir(POLICIES_DIR)
    assert {"default", "kids-platform", "medical-forum"} <= set(store.names())
    borderline_drugs = scores(joint=(0.1, 0.88, 0.02), drug_abuse=0.5)
    actions = {name: store.get(name).decide(borderline_drugs).action for name in store.names()}
    assert actions == {"default": "review", "kids-platform": "block", "medical-forum": "allow"}
    self_harm_post = scores(joint=(0.6, 0.38, 0.02), self_harm=0.4)
    assert store.get("medical-forum").decide(self_harm_post).action == "review"


# --- validation errors name the file and the field ------------------------------------------------


def write(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ("joint: {unsafe: 1.5}\n", "joint.unsafe", "less than or equal to 1"),
        ("jiont: {unsafe: 0.5}\n", "jiont", "Extra inputs"),
        ("actions: {borderline: deny}\n", "actions.borderline", "allow"),
        ("categories: {selfharm: 0.3}\n", "categories", "unknown category selfharm"),
        ("category_actions: {gore: ban}\n", "category_actions.gore", "block"),
        ("name: other\n", "name", "does not match the file name"),
        ("- just\n- a list\n", "(top level)", "expected a mapping"),
        ("joint: {unsafe: [\n", "line", "not valid YAML"),
    ],
)
def test_validation_error_names_file_and_field(tmp_path: Path, body: str, field: str, words: str) -> None:
    path = write(tmp_path, "mine.yaml", body)
    with pytest.raises(PolicyLoadError) as caught:
        load_policy_file(path)
    error = caught.value.errors[0]
    assert error.file == str(path)
    assert error.field.startswith(field)
    assert words in error.message
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_policy_file_name_defaults_to_stem(tmp_path: Path) -> None:
    policy = load_policy_file(write(tmp_path, "forum.yaml", "description: hi\n"))
    assert policy.name == "forum"


# --- the store ------------------------------------------------------------------------------------


def test_store_uses_builtin_default_unless_a_file_overrides(tmp_path: Path) -> None:
    builtin = builtin_policy(MANIFEST_THRESHOLDS)
    write(tmp_path, "strict.yaml", "joint: {unsafe: 0.2}\n")
    store = PolicyStore.load_dir(tmp_path, builtin=builtin)
    assert store.names() == ["default", "strict"]
    assert store.get() is builtin and store.default is builtin
    write(tmp_path, "default.yaml", "joint: {unsafe: 0.3}\n")
    store.reload()
    assert store.get().joint.unsafe == 0.3


def test_unknown_policy_lists_known_names(tmp_path: Path) -> None:
    write(tmp_path, "strict.yaml", "{}\n")
    store = PolicyStore.load_dir(tmp_path)
    with pytest.raises(UnknownPolicy) as caught:
        store.get("nope")
    assert caught.value.known == ["default", "strict"]
    assert "default, strict" in str(caught.value)
    assert isinstance(caught.value, errors.UnknownPolicy)  # maps to 404 in the service's error table


def test_reload_with_a_bad_file_keeps_the_old_set(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "joint: {unsafe: 0.3}\n")
    write(tmp_path, "b.yaml", "joint: {unsafe: 0.4}\n")
    store = PolicyStore.load_dir(tmp_path)
    old_a = store.get("a")
    write(tmp_path, "a.yaml", "joint: {unsafe: 0.1}\n")  # valid change
    write(tmp_path, "b.yaml", "joint: {unsafe: 7}\n")  # invalid
    write(tmp_path, "c.yaml", "joint: {borderline: -1}\n")  # invalid new file
    with pytest.raises(PolicyLoadError) as caught:
        store.reload()
    assert {(Path(e.file).name, e.field) for e in caught.value.errors} == {
        ("b.yaml", "joint.unsafe"),
        ("c.yaml", "joint.borderline"),
    }
    assert store.get("a") is old_a  # nothing swapped, not even the valid change
    assert store.get("b").joint.unsafe == 0.4
    assert store.names() == ["a", "b", "default"]


def test_reload_reports_what_changed(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "joint: {unsafe: 0.3}\n")
    write(tmp_path, "b.yaml", "{}\n")
    store = PolicyStore.load_dir(tmp_path)
    old_version = store.get("a").version
    write(tmp_path, "a.yaml", "joint: {unsafe: 0.2}\n")
    (tmp_path / "b.yaml").unlink()
    write(tmp_path, "c.yml", "{}\n")
    result = store.reload()
    assert (result.added, result.removed, result.changed) == (["c"], ["b"], ["a"])
    assert store.get("a").version != old_version


def test_load_dir_rejects_a_bad_file_at_start(tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", "joint: {unsafe: 2}\n")
    with pytest.raises(PolicyLoadError, match="bad.yaml: joint.unsafe"):
        PolicyStore.load_dir(tmp_path)


def test_shadow_policy_is_configurable(tmp_path: Path) -> None:
    write(tmp_path, "candidate.yaml", "joint: {unsafe: 0.2}\n")
    store = PolicyStore.load_dir(tmp_path, shadow="candidate")
    assert store.shadow is not None and store.shadow.name == "candidate"
    assert [d["shadow"] for d in store.describe()] == [True, False]
    store.set_shadow(None)
    assert store.shadow is None
    with pytest.raises(UnknownPolicy):
        store.set_shadow("missing")
    with pytest.raises(PolicyLoadError, match="shadow"):
        PolicyStore.load_dir(tmp_path, shadow="missing")
    write(tmp_path, "other.yaml", "joint: {unsafe: 0.3}\n")  # a folder with no file at all is refused first
    (tmp_path / "candidate.yaml").unlink()
    store.set_shadow("candidate")
    with pytest.raises(PolicyLoadError, match="shadow policy 'candidate' is not loaded"):
        store.reload()  # removing the shadow's file is an error; the old set stays
    assert store.shadow is not None
