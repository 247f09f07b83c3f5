"""Shared fixtures: the test model bundle, and the bundle end-to-end tests serve."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service.bundle import make_bundle

REAL_BUNDLE = Path(__file__).resolve().parents[2] / "model" / "artifacts" / "glyph-minilm"


@pytest.fixture(scope="session")
def test_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny ONNX bundle from tests/service/bundle.py (its scores are predictable)."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def model_dir(test_bundle: Path) -> Path:
    """The small test bundle, whose scores the policy and API tests rely on."""
    return test_bundle


@pytest.fixture(scope="session")
def shipped_or_test_bundle(test_bundle: Path) -> Path:
    """The shipped default model when it exists (contract-level end-to-end tests), else the test bundle."""
    return REAL_BUNDLE if (REAL_BUNDLE / "manifest.json").exists() else test_bundle


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    """An HTTP client on the module's live server (each end-to-end module defines `base_url`)."""
    with httpx.Client(base_url=base_url, timeout=30) as c:
        yield c


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio (the service's loop)."""
    return "asyncio"
