"""The registry of public datasets: one entry per upstream file, read from `registry.yaml`.

An entry says where the exact bytes come from (repository, commit, path), how to recognise them
(size, sha256), under which licence, which parser reads them and how their labels map to our grade
and categories. Local copies live under a directory given on the command line, laid out as
`<owner>+<repo>/<path>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from service.taxonomy import CATEGORIES, GRADES

REGISTRY_PATH = Path(__file__).with_name("registry.yaml")
LICENCE_PARSER = "licence"  # a licence file: checked and downloaded, read for no items
_CHUNK = 1 << 20


class DatasetError(ValueError):
    """A registry that does not parse, a file that is not the registered one, or a label with no mapping."""


@dataclass(frozen=True)
class LabelMap:
    """What one upstream label means in our taxonomy."""

    grade: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One registered upstream file."""

    name: str  # unique, e.g. `toxigen/hate_asian_1k`
    source: str  # the dataset, e.g. `toxigen`: dedup and held-out splits go by source
    repo: str  # `owner/name` on GitHub
    commit: str
    path: str  # inside the repository, `/`-separated
    bytes: int
    sha256: str
    licence: str  # SPDX id
    attribution: str
    parser: str
    labels: Mapping[str, LabelMap] = field(default_factory=dict)
    label: str | None = None  # the label of every item, for files without a label column
    group: str | None = None  # the group of every item, for files without a group column

    def local_path(self, root: Path) -> Path:
        """Return where this file lives under a local dataset directory."""
        return root / self.repo.replace("/", "+") / Path(*PurePosixPath(self.path).parts)

    def url(self, base_url: str) -> str:
        """Return the address of the exact bytes: `<base>/<repo>/<commit>/<path>`."""
        return f"{base_url.rstrip('/')}/{self.repo}/{self.commit}/{self.path}"

    def map_label(self, label: str) -> LabelMap:
        """Return the mapping of an upstream label; refuse one the registry does not map."""
        try:
            return self.labels[label]
        except KeyError:
            raise DatasetError(f"{self.name}: label {label!r} has no mapping in the registry") from None


def file_status(entry: Entry, root: Path) -> str:
    """Return `ok`, `missing`, `wrong size (N bytes, expected M)` or `wrong sha256` for a local copy."""
    path = entry.local_path(root)
    if not path.is_file():
        return "missing"
    size = path.stat().st_size
    if size != entry.bytes:
        return f"wrong size ({size} bytes, expected {entry.bytes})"
    return "ok" if sha256_file(path) == entry.sha256 else "wrong sha256"


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class Registry:
    """The registered files, in registry order (earlier files win a duplicate text)."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.entries: tuple[Entry, ...] = tuple(entries)
        seen: set[str] = set()
        for entry in self.entries:
            _validate(entry)
            if entry.name in seen:
                raise DatasetError(f"two registry entries are named {entry.name!r}")
            seen.add(entry.name)

    @classmethod
    def from_entries(cls, entries: Iterable[Entry]) -> Registry:
        """Build a registry from entries made in code (tests, other tools)."""
        return cls(entries)

    @classmethod
    def load(cls, path: Path | None = None) -> Registry:
        """Read a registry file (default: the shipped `registry.yaml`)."""
        path = path or REGISTRY_PATH
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
            return cls(_entries(document))
        except (yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, DatasetError):
                raise DatasetError(f"{path}: {exc}") from None
            raise DatasetError(f"{path}: not a valid registry ({type(exc).__name__}: {exc})") from None

    def select(self, names: Iterable[str] | None = None) -> list[Entry]:
        """Return the entries named (by entry name or by source), all of them for None."""
        if names is None:
            return list(self.entries)
        wanted = set(names)
        known = {e.name for e in self.entries} | {e.source for e in self.entries}
        unknown = sorted(wanted - known)
        if unknown:
            raise DatasetError(f"no registered dataset named {', '.join(unknown)}")
        return [e for e in self.entries if e.name in wanted or e.source in wanted]


def _validate(entry: Entry) -> None:
    if entry.parser != LICENCE_PARSER and not entry.labels:
        raise DatasetError(f"{entry.name}: no label mapping")
    if len(entry.sha256) != 64 or entry.bytes < 0:
        raise DatasetError(f"{entry.name}: sha256 must be 64 hex digits and bytes not negative")
    if PurePosixPath(entry.path).is_absolute() or ".." in PurePosixPath(entry.path).parts:
        raise DatasetError(f"{entry.name}: path {entry.path!r} must stay inside the repository")
    for label, mapped in entry.labels.items():
        if mapped.grade not in GRADES:
            raise DatasetError(f"{entry.name}: label {label!r} has unknown grade {mapped.grade!r}")
        unknown = sorted(set(mapped.categories) - set(CATEGORIES))
        if unknown:
            raise DatasetError(f"{entry.name}: label {label!r} has unknown categories {unknown}")
        if mapped.grade == "safe" and mapped.categories:
            raise DatasetError(f"{entry.name}: label {label!r} is safe but names categories")


def _entries(document: dict[str, Any]) -> list[Entry]:
    """Flatten the registry file: one entry per licence file and per dataset file."""
    repos = {r["repo"]: r for r in document["repositories"]}
    entries = []
    for repo in repos.values():
        licence_file = repo.get("licence_file")
        if licence_file is None:
            continue
        entries.append(
            Entry(
                name=f"licence/{repo['repo'].split('/')[-1]}",
                source=LICENCE_PARSER,
                repo=repo["repo"],
                commit=repo["commit"],
                path=licence_file["path"],
                bytes=int(licence_file["bytes"]),
                sha256=licence_file["sha256"],
                licence=repo["licence"],
                attribution=f"licence of {repo['repo']}",
                parser=LICENCE_PARSER,
            )
        )
    for dataset in document["datasets"]:
        repo = repos[dataset["repo"]]
        labels = {
            str(label): LabelMap(mapped["grade"], tuple(mapped.get("categories") or ()))
            for label, mapped in dataset["labels"].items()
        }
        files = dataset["files"]
        for one in files:
            stem = PurePosixPath(one["path"]).stem
            entries.append(
                Entry(
                    name=one.get("name")
                    or (dataset["source"] if len(files) == 1 else f"{dataset['source']}/{stem}"),
                    source=dataset["source"],
                    repo=dataset["repo"],
                    commit=repo["commit"],
                    path=one["path"],
                    bytes=int(one["bytes"]),
                    sha256=one["sha256"],
                    licence=dataset["licence"],
                    attribution=" ".join(dataset["attribution"].split()),
                    parser=dataset["parser"],
                    labels=labels,
                    label=one.get("label", dataset.get("label")),
                    group=one.get("group", dataset.get("group")),
                )
            )
    return entries
