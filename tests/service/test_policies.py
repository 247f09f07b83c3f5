"""The policy registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import UnknownPolicy
from service.policies import PolicyStore, load_policies
from service.policy import Policy
from tests.service.bundle import THRESHOLDS


def test_default_policy_comes_from_the_manifest_thresholds() -> None:
    store = PolicyStore.from_manifest(THRESHOLDS)
    assert (
        store.names() == ["default"]
        and store.get().name == "default"
        and store.get(None) is store.get("default")
    )
    assert store.get().joint.unsafe == 0.35


def test_unknown_policy_names_the_known_ones() -> None:
    store = PolicyStore.from_manifest(THRESHOLDS)
    with pytest.raises(UnknownPolicy) as info:
        store.get("strict")
    assert info.value.details["known"] == ["default"]


def test_replace_keeps_the_default() -> None:
    store = PolicyStore.from_manifest(THRESHOLDS)
    store.replace([store.get(), Policy(name="strict")])
    assert store.names() == ["default", "strict"]
    with pytest.raises(ValueError):
        store.replace([Policy(name="strict")])


def test_a_policy_directory_is_loaded_beside_the_builtin_default(tmp_path: Path) -> None:
    (tmp_path / "strict.yaml").write_text("name: strict\njoint: {borderline: 0.3, unsafe: 0.2}\n")
    store = load_policies(THRESHOLDS, tmp_path)
    assert store.names() == ["default", "strict"] and store.default_name == "default"
    assert store.get().joint.unsafe == 0.35 and store.get("strict").joint.unsafe == 0.2
    with pytest.raises(UnknownPolicy):
        store.get("nope")
