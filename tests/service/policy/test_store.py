"""The start-up policy store: built-in default from the manifest, a directory beside it, reload errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import NoPolicyDirectory, UnknownPolicy, reply_for
from service.policy.store import REPO_POLICIES_DIR, PolicyLoadError, default_policies_dir, load_policies
from tests.service.bundle import THRESHOLDS


def test_without_a_directory_only_the_manifest_default_is_loaded() -> None:
    store = load_policies(THRESHOLDS, None)
    assert store.names() == ["default"] and store.get() is store.get("default") and store.shadow is None
    assert store.get().joint.unsafe == 0.35
    with pytest.raises(NoPolicyDirectory):
        store.reload()
    assert reply_for(NoPolicyDirectory("x")).status == 409


def test_a_directory_is_loaded_beside_the_builtin_default(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    store = load_policies(THRESHOLDS, tmp_path, shadow="strict")
    assert store.names() == ["default", "strict"] and store.default_name == "default"
    assert store.get().joint.unsafe == 0.35 and store.get("strict").joint.unsafe == 0.2
    assert store.shadow is store.get("strict")
    assert [(d["name"], d["default"], d["shadow"]) for d in store.describe()] == [
        ("default", True, False),
        ("strict", False, True),
    ]
    with pytest.raises(UnknownPolicy) as caught:
        store.get("nope")
    assert reply_for(caught.value).status == 404 and caught.value.known == ["default", "strict"]


def test_a_load_error_answers_422_naming_file_and_field(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("joint: {unsafe: 2}\n")
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(THRESHOLDS, tmp_path)
    reply = reply_for(caught.value)
    assert reply.status == 422 and reply.code == "invalid_policy"
    (error,) = reply.body()["error"]["errors"]
    assert error["file"].endswith("bad.yaml") and error["field"] == "joint.unsafe"


def test_a_file_that_is_not_utf8_is_an_invalid_policy_and_the_old_ones_stay(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    store = load_policies(THRESHOLDS, tmp_path)
    (tmp_path / "forum.yaml").write_bytes(b'description: "fran\xe7ais"\n')  # Latin-1, not UTF-8
    with pytest.raises(PolicyLoadError) as caught:
        store.reload()
    reply = reply_for(caught.value)
    assert reply.status == 422 and reply.code == "invalid_policy"
    (error,) = reply.body()["error"]["errors"]
    assert error["file"].endswith("forum.yaml") and "utf-8" in error["message"]
    assert store.names() == ["default", "strict"]


def test_a_key_given_twice_is_an_invalid_policy_naming_its_line(tmp_path: Path) -> None:
    # YAML itself keeps the last `joint:` silently: the first block's thresholds would vanish
    (tmp_path / "twice.yaml").write_text(
        "joint: {borderline: 0.3, unsafe: 0.2}\ndescription: x\njoint: {borderline: 0.4, unsafe: 0.9}\n"
    )
    with pytest.raises(PolicyLoadError) as caught:
        load_policies(THRESHOLDS, tmp_path)
    (error,) = reply_for(caught.value).body()["error"]["errors"]
    assert error["field"] == "line 3" and "'joint' is given twice" in error["message"]


def test_yaml_merge_keys_load_and_may_be_overridden(tmp_path: Path) -> None:
    # `<<: *name` reuses a block; the duplicate-key check once refused it ("no constructor ... merge")
    (tmp_path / "merged.yaml").write_text(
        "image: &unimodal {borderline: 0.4, unsafe: 0.6}\n"
        "text:\n  <<: *unimodal\n  unsafe: 0.7\n"
        "joint: {borderline: 0.3, unsafe: 0.2}\n"
    )
    policy = load_policies(THRESHOLDS, tmp_path).get("merged")
    assert (policy.text.borderline, policy.text.unsafe) == (0.4, 0.7)
    assert (policy.image.borderline, policy.image.unsafe) == (0.4, 0.6)


def test_the_repo_policies_are_the_default_folder() -> None:
    assert default_policies_dir() == REPO_POLICIES_DIR and (REPO_POLICIES_DIR / "default.yaml").is_file()


def test_a_reload_that_would_drop_every_file_the_default_or_the_shadow_is_refused(tmp_path: Path) -> None:
    (tmp_path / "default.yaml").write_text("joint: {borderline: 0.2, unsafe: 0.4}\n")
    (tmp_path / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    (tmp_path / "forum.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.6}\n")
    store = load_policies(THRESHOLDS, tmp_path, shadow="strict")
    before = store.describe()
    moves = [
        (["default.yaml", "strict.yaml", "forum.yaml"], "(directory)"),  # an emptied folder
        (["default.yaml"], "default"),  # `default` would fall back to the built-in one
        (["strict.yaml"], "shadow"),  # the configured shadow would vanish
    ]
    for names, field in moves:
        for name in names:
            (tmp_path / name).rename(tmp_path / f"{name}.off")
        with pytest.raises(PolicyLoadError) as caught:
            store.reload()
        assert [e.field for e in caught.value.errors] == [field]
        assert store.describe() == before  # the current policies stay
        for name in names:
            (tmp_path / f"{name}.off").rename(tmp_path / name)
    (tmp_path / "forum.yaml").unlink()  # dropping a policy nothing is configured to use is an edit
    assert store.reload().removed == ["forum"]


def test_a_folder_without_default_yaml_keeps_the_builtin_default_across_reloads(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("joint: {borderline: 0.3, unsafe: 0.2}\n")
    store = load_policies(THRESHOLDS, tmp_path)
    assert store.reload().names == ["default", "strict"] and store.get().joint.unsafe == 0.35
