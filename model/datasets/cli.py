"""Command line for the public-dataset registry: `check`, `download`, `list`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from model.datasets.download import DEFAULT_BASE_URL, download
from model.datasets.parsers import load_items, read_entry
from model.datasets.registry import LICENCE_PARSER, DatasetError, Entry, Registry, file_status


def build_parser() -> argparse.ArgumentParser:
    """Return the `python -m model datasets` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m model datasets", description=__doc__)
    commands = parser.add_subparsers(dest="datasets_command", required=True)
    check = commands.add_parser("check", help="verify every registered file under DIR (size and sha256)")
    check.add_argument("dir", type=Path, help="local dataset directory (<owner>+<repo>/<path>)")
    fetch = commands.add_parser("download", help="fetch the exact bytes of each missing or damaged file")
    fetch.add_argument("dir", type=Path, help="local dataset directory to fill")
    fetch.add_argument(
        "--base-url", default=DEFAULT_BASE_URL, help="files are fetched from <URL>/<repo>/<commit>/<path>"
    )
    show = commands.add_parser("list", help="registered files with licences (and item counts, given DIR)")
    show.add_argument("dir", type=Path, nargs="?", help="local dataset directory: count items per file")
    for command in (check, fetch, show):
        command.add_argument(
            "--only", action="append", metavar="NAME", help="an entry name or a source (repeatable)"
        )
        command.add_argument(
            "--registry", type=Path, help="registry file (default: the shipped registry.yaml)"
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        registry = Registry.load(args.registry)
        entries = registry.select(args.only)
        if args.datasets_command == "check":
            return _check(entries, args.dir)
        if args.datasets_command == "download":
            return _download(entries, args.dir, args.base_url)
        return _list(registry, entries, args.dir)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _check(entries: list[Entry], root: Path) -> int:
    bad = 0
    for entry in entries:
        status = file_status(entry, root)
        bad += status != "ok"
        print(f"{entry.name:<40} {status:<8} {entry.local_path(root)}")
    print(f"{len(entries) - bad} of {len(entries)} files good", file=sys.stderr)
    return 1 if bad else 0


def _download(entries: list[Entry], root: Path, base_url: str) -> int:
    failed = 0
    for entry, outcome in download(entries, root, base_url):
        failed += outcome.startswith("error")
        print(f"{entry.name:<40} {outcome}")
    if failed:
        print(
            f"{failed} of {len(entries)} files could not be fetched; nothing unverified was kept",
            file=sys.stderr,
        )
    return 1 if failed else 0


def _list(registry: Registry, entries: list[Entry], root: Path | None) -> int:
    for entry in entries:
        line = f"{entry.name:<40} {entry.licence:<11} {entry.repo}@{entry.commit[:12]} {entry.path}"
        if root is not None and entry.parser != LICENCE_PARSER:
            status = file_status(entry, root)
            line += f"  {len(read_entry(entry, root))} items" if status == "ok" else f"  ({status})"
        print(line)
    if root is not None:
        names = [e.name for e in entries]
        total = len(load_items(root, names, registry))
        print(f"{total} items in all, one per distinct text of a source", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
