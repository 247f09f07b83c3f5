"""Fetch the exact registered bytes of each missing or damaged file, verified before it is kept."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import BinaryIO

from model.datasets.registry import DatasetError, Entry, file_status

DEFAULT_BASE_URL = "https://raw.githubusercontent.com"
TIMEOUT_S = 60.0
_CHUNK = 1 << 16


def fetch(entry: Entry, root: Path, base_url: str = DEFAULT_BASE_URL, timeout_s: float = TIMEOUT_S) -> None:
    """Download one file into place: to a temporary file beside it, verified, then renamed.

    Raise DatasetError (and leave nothing behind) when the server fails or the bytes are not the
    registered ones; a file already in place is replaced only by verified bytes.
    """
    _check_base_url(base_url)
    target = entry.local_path(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    url = entry.url(base_url)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    part = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            size, sha256 = _copy(url, out, entry.bytes, timeout_s)
        if size != entry.bytes:
            raise DatasetError(f"{entry.name}: {url} sent {size} bytes, expected {entry.bytes}; refused")
        if sha256 != entry.sha256:
            raise DatasetError(
                f"{entry.name}: {url} sent bytes with sha256 {sha256}, expected {entry.sha256}; refused"
            )
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)


def _check_base_url(base_url: str) -> None:
    if not base_url.startswith(("http://", "https://")):
        raise DatasetError(f"base URL {base_url!r}: must be an http(s) address")


def _copy(url: str, out: BinaryIO, limit: int, timeout_s: float) -> tuple[int, str]:
    """Stream a URL into `out`; stop one byte past `limit` (more is already wrong)."""
    digest = hashlib.sha256()
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:  # http(s) only: _check_base_url
            while size <= limit and (chunk := response.read(min(_CHUNK, limit + 1 - size))):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise DatasetError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DatasetError(f"{url}: {reason}") from None
    return size, digest.hexdigest()


def download(
    entries: list[Entry], root: Path, base_url: str = DEFAULT_BASE_URL, timeout_s: float = TIMEOUT_S
) -> list[tuple[Entry, str]]:
    """Fetch every entry that is not already good; return (entry, outcome) per entry, in order.

    The outcome is `ok (already present)`, `downloaded`, or `error: ...`.
    """
    _check_base_url(base_url)
    outcomes = []
    for entry in entries:
        if file_status(entry, root) == "ok":
            outcomes.append((entry, "ok (already present)"))
            continue
        try:
            fetch(entry, root, base_url, timeout_s)
        except DatasetError as exc:
            outcomes.append((entry, f"error: {exc}"))
        else:
            outcomes.append((entry, "downloaded"))
    return outcomes
