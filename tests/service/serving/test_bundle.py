"""Reading and checking the bundle manifest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.errors import ModelBundleError
from service.serving.bundle import Bundle
from tests.service.bundle import make_bundle


def test_loads_the_test_bundle(test_bundle: Path) -> None:
    bundle = Bundle.load(test_bundle)
    assert bundle.manifest.image.size == 32 and len(bundle.manifest.categories) == 15
    assert bundle.variant_for("cpu") == "fp32" and bundle.variant_for("cuda") == "fp32"
    with pytest.raises(ModelBundleError, match="variant"):
        bundle.variant_for("cpu", "int8")


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelBundleError, match="no model bundle"):
        Bundle.load(tmp_path / "nowhere")


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("grades", ["ok", "bad", "worse"], "grades"),
        ("outputs", ["image_scores"], "outputs"),
        ("default_variant", {"cpu": "int8"}, "default_variant"),
        ("text", {"tokenizer_file": "missing.json", "max_tokens": 8}, "tokenizer"),
        # category_scores are read by position: a list that is not the taxonomy's would mislabel them
        ("categories", ["hate_speech", "fraud"], "categories must be the taxonomy's 15"),
        ("thresholds", {"joint": {"borderline": 0.5, "unsafe": 0.5}}, "thresholds cannot make"),
        (
            "thresholds",
            {g: {"borderline": 0.5, "unsafe": 2} for g in ("image", "text", "joint")},
            "thresholds",
        ),
    ],
)
def test_invalid_manifests_are_refused(tmp_path: Path, field: str, value: object, match: str) -> None:
    root = make_bundle(tmp_path)
    manifest = json.loads((root / "manifest.json").read_text())
    manifest[field] = value
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelBundleError, match=match):
        Bundle.load(root)


def test_a_manifest_whose_image_size_is_not_the_graphs_is_refused(tmp_path: Path) -> None:
    from service.serving.engine import OnnxEngine
    from service.settings import Settings

    root = make_bundle(tmp_path / "b")
    manifest = json.loads((root / "manifest.json").read_text())
    manifest["image"]["size"] = 96  # every request would fail at inference: 500s, or never ready
    (root / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ModelBundleError, match="takes 32x32 images, but the manifest's image.size is 96"):
        OnnxEngine.load(Bundle.load(root), Settings(model_dir=root))
