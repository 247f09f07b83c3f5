"""The set of named policies loaded from a directory of YAML files, reloadable without a restart."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from service.errors import NoPolicyDirectory, UnknownPolicy, UnprocessableInput
from service.policy.rules import Policy, builtin_policy

__all__ = [
    "PolicyLoadError",
    "PolicyStore",
    "UnknownPolicy",
    "directory_fingerprint",
    "load_policies",
    "load_policy_file",
]

POLICY_SUFFIXES = (".yaml", ".yml")


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML keeps the last)."""


def _unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base`: its keys may be overridden here
            continue
        key = loader.construct_object(key_node)
        if not isinstance(key, str):
            continue  # other keys: the safe loader's own checks
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"the key {key!r} is given twice", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def read_yaml(text: str) -> Any:
    """Parse a policy's YAML; a key given twice (two `joint:` blocks: which one was meant?) is an error."""
    return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass


DEFAULT_POLICY = "default"
# The policies shipped with the repo (next to the `service` package: a checkout or an editable install;
# `pip install .` does not carry them); the default policy folder.
REPO_POLICIES_DIR = Path(__file__).resolve().parents[2] / "policies"


def default_policies_dir() -> Path | None:
    """Return the repo's `policies/` folder, else `./policies` (a checkout's root after `pip install .`);
    None when neither exists: the model's built-in default only."""
    for candidate in (REPO_POLICIES_DIR, Path.cwd() / "policies"):
        if candidate.is_dir():
            return candidate
    return None


@dataclass(frozen=True)
class PolicyFieldError:
    """One problem in one policy file: the file, the dotted field (`joint.unsafe`) and why."""

    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


class PolicyLoadError(UnprocessableInput):
    """One or more policy files are invalid; nothing was loaded or swapped (HTTP 422 with `errors`)."""

    code = "invalid_policy"

    def __init__(self, errors: list[PolicyFieldError]) -> None:
        super().__init__(
            "invalid policies:\n" + "\n".join(f"  {e}" for e in errors), errors=[asdict(e) for e in errors]
        )
        self.errors = errors


def _field_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


def parse_policy(data: Any, file: str, expected_name: str | None = None) -> Policy:
    """Validate parsed YAML as a policy; raise PolicyLoadError naming `file` and each bad field.

    The name defaults to `expected_name` (the file stem) and, when given, must match it.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise PolicyLoadError([PolicyFieldError(file, "(top level)", f"expected a mapping, got {kind}")])
    if expected_name is not None:
        data.setdefault("name", expected_name)
        if data["name"] != expected_name:
            message = f"{data['name']!r} does not match the file name (expected {expected_name!r})"
            raise PolicyLoadError([PolicyFieldError(file, "name", message)])
    try:
        return Policy.model_validate(data)
    except ValidationError as e:
        raise PolicyLoadError(
            [PolicyFieldError(file, _field_name(err["loc"]), err["msg"]) for err in e.errors()]
        ) from None


def load_policy_file(path: Path) -> Policy:
    """Read and validate one policy file; its name is the file stem."""
    try:
        data = read_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(yaml)"
        raise PolicyLoadError([PolicyFieldError(str(path), where, f"not valid YAML: {e}")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise PolicyLoadError([PolicyFieldError(str(path), "(file)", str(e))]) from None
    return parse_policy(data, str(path), expected_name=path.stem)


def _policy_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())


def directory_fingerprint(directory: Path) -> str:
    """Return a digest of the policy files' names and contents ("" when the directory is missing).

    Contents, not modification times: a Kubernetes ConfigMap update swaps a symlink, and an editor
    may save twice within one mtime tick.
    """
    digest = hashlib.sha256()
    try:
        for path in _policy_files(directory):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    except OSError:
        return ""
    return digest.hexdigest()


def load_policy_dir(directory: Path) -> dict[str, Policy]:
    """Read every `*.yaml`/`*.yml` in `directory`; raise PolicyLoadError listing all bad files."""
    if not directory.is_dir():
        raise PolicyLoadError([PolicyFieldError(str(directory), "(directory)", "not a directory")])
    policies: dict[str, Policy] = {}
    errors: list[PolicyFieldError] = []
    for path in _policy_files(directory):
        try:
            policy = load_policy_file(path)
        except PolicyLoadError as e:
            errors.extend(e.errors)
            continue
        if policy.name in policies:
            errors.append(PolicyFieldError(str(path), "name", f"duplicate policy name {policy.name!r}"))
        policies[policy.name] = policy
    if errors:
        raise PolicyLoadError(errors)
    return policies


@dataclass(frozen=True)
class ReloadResult:
    """What a successful reload changed."""

    names: list[str]
    added: list[str]
    removed: list[str]
    changed: list[str]

    def as_dict(self) -> dict[str, list[str]]:
        """Return the result as JSON-ready data."""
        return {"names": self.names, "added": self.added, "removed": self.removed, "changed": self.changed}


@dataclass(frozen=True)
class _Snapshot:
    policies: Mapping[str, Policy]
    shadow: str | None


class PolicyStore:
    """Named policies: `default` (from the directory, else the built-in one) plus any others.

    Reads are lock-free: the whole set is one immutable snapshot swapped in a single assignment.
    """

    def __init__(
        self,
        policies: Mapping[str, Policy],
        *,
        directory: Path | None = None,
        builtin: Policy | None = None,
        shadow: str | None = None,
    ) -> None:
        self._directory = directory
        self._builtin = builtin
        self._reload_lock = threading.Lock()
        self._read = frozenset(policies)  # the names the directory itself holds (not the built-in default)
        self._snapshot = self._build(dict(policies), shadow, source=str(directory or "(policies)"))

    @classmethod
    def load_dir(
        cls, directory: Path, *, builtin: Policy | None = None, shadow: str | None = None
    ) -> PolicyStore:
        """Load every policy file in `directory`; raise PolicyLoadError if any is invalid."""
        return cls(load_policy_dir(directory), directory=directory, builtin=builtin, shadow=shadow)

    def _build(self, policies: dict[str, Policy], shadow: str | None, source: str) -> _Snapshot:
        if DEFAULT_POLICY not in policies:
            policies[DEFAULT_POLICY] = self._builtin or Policy(name=DEFAULT_POLICY)
        if shadow is not None and shadow not in policies:
            message = f"shadow policy {shadow!r} is not loaded; known: {', '.join(sorted(policies))}"
            raise PolicyLoadError([PolicyFieldError(source, "shadow", message)])
        return _Snapshot(MappingProxyType(dict(sorted(policies.items()))), shadow)

    def reload(self) -> ReloadResult:
        """Re-read the directory; swap in the new set only if every file is valid.

        On any error the old set stays in memory and PolicyLoadError lists every bad file and field.
        """
        if self._directory is None:
            raise NoPolicyDirectory("the service was started without a policy directory (--policies)")
        with self._reload_lock:
            old = self._snapshot
            loaded = load_policy_dir(self._directory)
            _check_nothing_served_vanishes(self._directory, self._read, loaded)
            new = self._build(dict(loaded), old.shadow, source=str(self._directory))
            self._snapshot, self._read = new, frozenset(loaded)
        old_versions = {name: p.version for name, p in old.policies.items()}
        return ReloadResult(
            names=list(new.policies),
            added=[n for n in new.policies if n not in old_versions],
            removed=[n for n in old_versions if n not in new.policies],
            changed=[
                n for n, p in new.policies.items() if n in old_versions and old_versions[n] != p.version
            ],
        )

    def get(self, name: str | None = None) -> Policy:
        """Return the named policy (the default one when `name` is None or empty); raise UnknownPolicy.

        Empty means absent on every route: an HTML form's empty field, `"policy": ""` in JSON.
        """
        policies = self._snapshot.policies
        key = name or DEFAULT_POLICY
        try:
            return policies[key]
        except KeyError:
            raise UnknownPolicy(key, list(policies)) from None

    def all(self) -> list[Policy]:
        """Return every policy, sorted by name."""
        return list(self._snapshot.policies.values())

    def names(self) -> list[str]:
        """Return the loaded policy names, sorted."""
        return list(self._snapshot.policies)

    @property
    def default(self) -> Policy:
        """The policy a request gets when it names none."""
        return self._snapshot.policies[DEFAULT_POLICY]

    @property
    def default_name(self) -> str:
        """The name of the default policy."""
        return DEFAULT_POLICY

    @property
    def shadow(self) -> Policy | None:
        """The shadow policy, run beside the live one to count disagreements, if configured."""
        snapshot = self._snapshot
        return snapshot.policies[snapshot.shadow] if snapshot.shadow is not None else None

    def set_shadow(self, name: str | None) -> None:
        """Run `name` as the shadow policy from now on (None: no shadow); raise UnknownPolicy."""
        with self._reload_lock:
            snapshot = self._snapshot
            if name is not None and name not in snapshot.policies:
                raise UnknownPolicy(name, list(snapshot.policies))
            self._snapshot = _Snapshot(snapshot.policies, name)

    @property
    def directory(self) -> Path | None:
        """The directory `reload()` reads."""
        return self._directory

    def describe(self) -> list[dict[str, Any]]:
        """Return every policy as JSON-ready data with `default`/`shadow` marks (`GET /v1/policies`)."""
        snapshot = self._snapshot
        return [
            {
                "name": name,
                "version": policy.version,
                "description": policy.description,
                "default": name == DEFAULT_POLICY,
                "shadow": name == snapshot.shadow,
                "definition": policy.model_dump(mode="json"),
            }
            for name, policy in snapshot.policies.items()
        ]


def _check_nothing_served_vanishes(
    directory: Path, read: frozenset[str], loaded: Mapping[str, Policy]
) -> None:
    """Refuse a reload that would leave no policy file, or drop the directory's `default` (which would
    fall back to the model's built-in one): an emptied folder or a ConfigMap mounted wrong is a mistake,
    not an edit. The shadow policy is checked when the new set is built."""
    if not loaded:
        message = "holds no policy file: the reload would drop every policy (the current ones stay)"
        raise PolicyLoadError([PolicyFieldError(str(directory), "(directory)", message)])
    if DEFAULT_POLICY in read and DEFAULT_POLICY not in loaded:
        message = (
            f"{DEFAULT_POLICY}.yaml is gone: the default policy would fall back to the model's built-in "
            "one (the current ones stay)"
        )
        raise PolicyLoadError([PolicyFieldError(str(directory), DEFAULT_POLICY, message)])


def load_policies(
    thresholds: Mapping[str, Any], policies_dir: Path | None, shadow: str | None = None
) -> PolicyStore:
    """Build the start-up store: the manifest's `default`, overridden or extended by `policies_dir`."""
    builtin = builtin_policy(thresholds)
    if policies_dir is None:
        return PolicyStore({}, builtin=builtin, shadow=shadow)
    return PolicyStore.load_dir(policies_dir, builtin=builtin, shadow=shadow)
