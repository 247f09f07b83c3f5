"""A tiny kustomize renderer for the subset k8s/ uses, so the overlays render where no kustomize is installed.

Supported: `resources` (files and kustomization folders), `components` (kind Component), `patches`
(strategic-merge patch files, matched by kind and name), and `configMapGenerator` with `files`
and `disableNameSuffixHash: true`. Anything else in a kustomization is an error, so a new feature
in k8s/ fails loudly here instead of rendering wrong. Where a real kustomize is installed,
test_k8s.py checks this renderer against it.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

SUPPORTED_KEYS = {
    "apiVersion",
    "kind",
    "resources",
    "components",
    "patches",
    "configMapGenerator",
    "generatorOptions",
}
# The strategic-merge keys of the lists the patches touch (from the Kubernetes API's patchMergeKey).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
}


class KustomizeError(ValueError):
    """The kustomization uses something this renderer does not support, or is inconsistent."""


def load_documents(path: Path) -> list[Manifest]:
    """Return the non-empty YAML documents of a manifest file."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(root: Path) -> list[Manifest]:
    """Render the kustomization in `root` (a folder) like `kustomize build root`, up to ordering."""
    return _build(root, expected_kind="Kustomization", accumulated=[])


def _build(root: Path, expected_kind: str, accumulated: list[Manifest]) -> list[Manifest]:
    kustomization = yaml.safe_load((root / "kustomization.yaml").read_text())
    unsupported = set(kustomization) - SUPPORTED_KEYS
    if unsupported:
        raise KustomizeError(f"{root}: unsupported kustomization keys {sorted(unsupported)}")
    if kustomization.get("kind", "Kustomization") != expected_kind:
        raise KustomizeError(f"{root}: expected kind {expected_kind}, got {kustomization.get('kind')}")

    resources = accumulated
    for entry in kustomization.get("resources", []):
        path = (root / entry).resolve()
        if path.is_dir():
            resources = resources + render(path)
        else:
            resources = resources + load_documents(path)
    for entry in kustomization.get("components", []):
        resources = _build((root / entry).resolve(), expected_kind="Component", accumulated=resources)
    resources = resources + _generate_configmaps(root, kustomization)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise KustomizeError(f"{root}: only `patches: [{{path: ...}}]` is supported, got {patch}")
        for document in load_documents(root / patch["path"]):
            resources = _apply_patch(resources, document, root / patch["path"])
    _check_unique(resources, root)
    return resources


def _generate_configmaps(root: Path, kustomization: Manifest) -> list[Manifest]:
    generators = kustomization.get("configMapGenerator", [])
    options = kustomization.get("generatorOptions", {})
    if generators and not options.get("disableNameSuffixHash"):
        raise KustomizeError(f"{root}: configMapGenerator needs disableNameSuffixHash: true here")
    config_maps = []
    for generator in generators:
        if set(generator) - {"name", "files"}:
            raise KustomizeError(f"{root}: only name and files are supported in configMapGenerator")
        data = {}
        for entry in generator["files"]:
            key, _, file = entry.rpartition("=") if "=" in entry else (Path(entry).name, "", entry)
            data[key] = (root / file).read_text()
        metadata: Manifest = {"name": generator["name"]}
        if options.get("labels"):
            metadata["labels"] = dict(options["labels"])
        config_maps.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
    return config_maps


def _apply_patch(resources: list[Manifest], patch: Manifest, source: Path) -> list[Manifest]:
    matches = [r for r in resources if _identity(r) == _identity(patch)]
    if len(matches) != 1:
        raise KustomizeError(f"{source}: patch target {_identity(patch)} matched {len(matches)} resources")
    return [strategic_merge(r, patch) if r is matches[0] else r for r in resources]


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    """Merge `patch` into a copy of `target` the way a strategic-merge patch does (for MERGE_KEYS lists)."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(target)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = strategic_merge(merged[key], value, key)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(target, list) and isinstance(patch, list) and field in MERGE_KEYS:
        key = MERGE_KEYS[field]
        merged_list = copy.deepcopy(target)
        for item in patch:
            index = next((i for i, old in enumerate(merged_list) if old.get(key) == item.get(key)), None)
            if index is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[index] = strategic_merge(merged_list[index], item, field)
        return merged_list
    return copy.deepcopy(patch)  # scalars and lists without a merge key are replaced


def _identity(manifest: Manifest) -> tuple[str, str]:
    return manifest["kind"], manifest["metadata"]["name"]


def _check_unique(resources: list[Manifest], root: Path) -> None:
    seen = [_identity(r) for r in resources]
    duplicates = {i for i in seen if seen.count(i) > 1}
    if duplicates:
        raise KustomizeError(f"{root}: duplicate resources {sorted(duplicates)}")


def normalise(manifest: Manifest) -> Any:
    """Return `manifest` with merge-key lists sorted, to compare renders regardless of list order."""

    def walk(node: Any, field: str = "") -> Any:
        if isinstance(node, dict):
            return {k: walk(v, k) for k, v in node.items()}
        if isinstance(node, list):
            items = [walk(v, field) for v in node]
            if field in MERGE_KEYS:
                items.sort(key=lambda item: str(item.get(MERGE_KEYS[field])))
            return items
        return node

    return walk(manifest)
