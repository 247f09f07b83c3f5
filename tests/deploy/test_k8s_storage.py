"""k8s/: the audit log and the feedback folder are on writable volumes (the root filesystem is read-only),
and the reviewers' token comes from an optional Secret, never a literal."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import pytest

from tests.deploy.kustomize import Manifest, render
from tests.deploy.test_k8s import K8S, OVERLAYS, container, env_of, one


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, list[Manifest]]:
    return request.param, render(K8S / "overlays" / request.param)


def writable_volume(manifests: list[Manifest], path: str) -> dict[str, Any]:
    """Return the volume mounted, writable, at `path` or the nearest folder above it."""
    main = container(manifests)
    pod = one(manifests, "Deployment")["spec"]["template"]["spec"]
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    folder = next(p for p in (PurePosixPath(path), *PurePosixPath(path).parents) if str(p) in mounts)
    mount = mounts[str(folder)]
    assert not mount.get("readOnly", False) and "subPath" not in mount
    volume: dict[str, Any] = {v["name"]: v for v in pod["volumes"]}[mount["name"]]
    return volume


def test_the_audit_log_and_the_feedback_folder_are_on_volumes(overlay: tuple[str, list[Manifest]]) -> None:
    _, manifests = overlay
    env = env_of(manifests)
    audit = env["SAFETY_AUDIT_LOG"]
    assert audit.startswith("/") and PurePosixPath(audit).suffix == ".jsonl"
    feedback = env["SAFETY_FEEDBACK_DIR"]
    audit_volume = writable_volume(manifests, str(PurePosixPath(audit).parent))
    feedback_volume = writable_volume(manifests, feedback)
    assert audit_volume is not feedback_volume  # a full audit volume never stops the reviewers' writes
    for volume in (audit_volume, feedback_volume):
        assert "sizeLimit" in volume.get("emptyDir", {}) or "persistentVolumeClaim" in volume


def test_the_feedback_token_is_an_optional_secret(overlay: tuple[str, list[Manifest]]) -> None:
    _, manifests = overlay
    (entry,) = [e for e in container(manifests)["env"] if e["name"] == "SAFETY_FEEDBACK_TOKEN"]
    assert "value" not in entry
    secret = entry["valueFrom"]["secretKeyRef"]
    assert secret["optional"] is True  # without it feedback is off and the pod still starts
    admin = next(e for e in container(manifests)["env"] if e["name"] == "SAFETY_ADMIN_TOKEN")
    assert secret["name"] != admin["valueFrom"]["secretKeyRef"]["name"]  # its own token, not the admin one
