"""The policy registry: named threshold policies a request can pick from."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from service.errors import UnknownPolicy
from service.policy import Policy, builtin_policy

log = logging.getLogger(__name__)

DEFAULT_POLICY = "default"


class PolicyRegistry(Protocol):
    """What the service needs from a policy store (this module's, or service.policy_store's YAML one)."""

    @property
    def default_name(self) -> str: ...

    def get(self, name: str | None = None) -> Policy: ...

    def names(self) -> list[str]: ...

    def all(self) -> list[Policy]: ...


class PolicyStore:
    """Named policies; `default` comes from the manifest thresholds, file-based ones can be added."""

    def __init__(self, policies: Iterable[Policy], default: str = DEFAULT_POLICY) -> None:
        self._policies: dict[str, Policy] = {p.name: p for p in policies}
        if default not in self._policies:
            raise ValueError(f"default policy {default!r} is not among {sorted(self._policies)}")
        self.default_name = default

    @classmethod
    def from_manifest(cls, thresholds: dict[str, Any]) -> PolicyStore:
        """Return a store holding only the built-in `default` policy."""
        return cls([builtin_policy(thresholds)])

    def get(self, name: str | None = None) -> Policy:
        """Return the named policy (the default for None); raise UnknownPolicy otherwise."""
        policy = self._policies.get(name or self.default_name)
        if policy is None:
            raise UnknownPolicy(str(name), self.names())
        return policy

    def names(self) -> list[str]:
        """Return the policy names, sorted."""
        return sorted(self._policies)

    def all(self) -> list[Policy]:
        """Return every policy, sorted by name."""
        return [self._policies[name] for name in self.names()]

    def replace(self, policies: Iterable[Policy]) -> None:
        """Swap in a new set of policies at once (for reloads); the default must survive."""
        fresh = {p.name: p for p in policies}
        if self.default_name not in fresh:
            raise ValueError(f"the default policy {self.default_name!r} must stay loaded")
        self._policies = fresh


def load_policies(thresholds: dict[str, Any], policies_dir: Path | None) -> PolicyRegistry:
    """Build the store for start-up: the manifest's `default`, overridden/extended by YAML files if given."""
    if policies_dir is None:
        return PolicyStore.from_manifest(thresholds)
    from service.policy_store import PolicyStore as FilePolicyStore

    store = FilePolicyStore.load_dir(policies_dir, builtin=builtin_policy(thresholds))
    log.info("policies loaded", extra={"policies_dir": str(policies_dir), "policies": store.names()})
    return store
