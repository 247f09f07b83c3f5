"""The test bundle fixture, shared with the service tests."""

from tests.service.conftest import test_bundle

__all__ = ["test_bundle"]
