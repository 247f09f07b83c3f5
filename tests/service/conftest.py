"""Shared fixtures: the test model bundle, and the bundle end-to-end tests serve."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.service.bundle import make_bundle

REAL_BUNDLE = Path(__file__).resolve().parents[2] / "model" / "artifacts" / "glyph-minilm"


@pytest.fixture(scope="session")
def test_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny ONNX bundle from tests/service/bundle.py (its scores are predictable)."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def model_dir(test_bundle: Path) -> Path:
    """The bundle contract-level end-to-end tests serve; switch to REAL_BUNDLE here once it is trained."""
    return test_bundle


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the service's loop)."""
    return "asyncio"
