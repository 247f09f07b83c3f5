"""Fixtures for the deployment tests: the model bundle to serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.bundle import make_bundle

ROOT = Path(__file__).resolve().parents[2]
REAL_BUNDLE = ROOT / "model" / "artifacts" / "glyph-minilm"


@pytest.fixture(scope="session")
def test_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny ONNX bundle from tests/service/bundle.py (fast to load and warm)."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def served_bundle(test_bundle: Path) -> Path:
    """The shipped model when it has been built, else the tiny test bundle."""
    return REAL_BUNDLE if (REAL_BUNDLE / "manifest.json").is_file() else test_bundle
