"""Parsers: each registered file format → text items with our grade, categories and group.

A parser yields `Record(text, label, group)` in the file's own terms; `read_entry` maps the label
through the registry (an unmapped label is an error, never a guess) and makes text-only `LabelledItem`s
(the type training and evaluation share).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.datasets.registry import LICENCE_PARSER, DatasetError, Entry, Registry, file_status
from service.evaluation.labelled_data import LabelledItem


@dataclass(frozen=True)
class Record:
    """One text as the file gives it, before mapping."""

    text: str
    label: str
    group: str | None


Parser = Callable[[Path, Entry], Iterator[Record]]


def item_id(source: str, text: str) -> str:
    """Return the stable id of a text of a source."""
    return hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:16]


def _clean(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _file_label(entry: Entry) -> str:
    if entry.label is None:
        raise DatasetError(
            f"{entry.name}: the {entry.parser} format has no label column; the registry must give one"
        )
    return entry.label


def _csv_rows(path: Path, columns: Iterable[str]) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = sorted(set(columns) - set(reader.fieldnames or ()))
        if missing:
            raise DatasetError(f"{path}: no column {', '.join(missing)}")
        yield from reader


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DatasetError(f"{path}:{number}: not a JSON object")
            yield record


def _field(path: Path, record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str):
        raise DatasetError(f"{path}: a record has no text field {key!r}")
    return value


def parse_advbench(path: Path, entry: Entry) -> Iterator[Record]:
    """AdvBench CSV: `goal` (the request) and `target` (an affirmative answer, not read)."""
    label = _file_label(entry)
    for row in _csv_rows(path, ["goal"]):
        yield Record(row["goal"], label, entry.group)


def parse_harmbench(path: Path, entry: Entry) -> Iterator[Record]:
    """HarmBench behaviours CSV: `Behavior`, `SemanticCategory` and, for contextual ones, `ContextString`.

    A contextual behaviour ("given this text, ...") is a request only together with its context, so
    the item is the behaviour, a blank line, then the context. The behaviour comes first so that an
    encoder that truncates long texts still reads the request.
    """
    for row in _csv_rows(path, ["Behavior", "SemanticCategory", "ContextString"]):
        behaviour, context = _clean(row["Behavior"]), _clean(row["ContextString"])
        text = f"{behaviour}\n\n{context}" if context else behaviour
        yield Record(text, row["SemanticCategory"], row["SemanticCategory"])


def parse_strongreject(path: Path, entry: Entry) -> Iterator[Record]:
    """StrongREJECT CSV: `forbidden_prompt` and `category`."""
    for row in _csv_rows(path, ["forbidden_prompt", "category"]):
        yield Record(row["forbidden_prompt"], row["category"], row["category"])


def parse_ailuminate(path: Path, entry: Entry) -> Iterator[Record]:
    """AILuminate prompt-set CSV: `prompt_text` and `hazard` (a code such as `vcr` or `spc_hlt`)."""
    for row in _csv_rows(path, ["prompt_text", "hazard"]):
        yield Record(row["prompt_text"], row["hazard"], row["hazard"])


def parse_toxigen(path: Path, entry: Entry) -> Iterator[Record]:
    """ToxiGen prompt file: each line holds several sentences joined by a literal backslash-n, each
    starting with `- `, and ends with a lone `-` (the slot for the generated sentence).

    The lines re-sample a small pool, so the same sentence comes back many times: `read_entry`
    keeps one.
    """
    label = _file_label(entry)
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            for sentence in line.rstrip("\n").split("\\n"):
                sentence = sentence.strip()
                if sentence.startswith("-"):
                    sentence = sentence[1:].lstrip()
                if sentence:
                    yield Record(sentence, label, entry.group)


def parse_gsm8k(path: Path, entry: Entry) -> Iterator[Record]:
    """GSM8K JSONL: `question` (the word problem; `answer` is not read)."""
    label = _file_label(entry)
    for record in _jsonl(path):
        yield Record(_field(path, record, "question"), label, entry.group)


def parse_self_instruct(path: Path, entry: Entry) -> Iterator[Record]:
    """Self-Instruct JSONL (seed tasks, user-oriented instructions): `instruction`; the group is
    `motivation_app` where the file has one. Instances are not read: many inputs only make sense
    next to their instruction."""
    label = _file_label(entry)
    for record in _jsonl(path):
        group = record.get("motivation_app")
        yield Record(
            _field(path, record, "instruction"), label, group if isinstance(group, str) else entry.group
        )


PARSERS: dict[str, Parser] = {
    "advbench": parse_advbench,
    "harmbench": parse_harmbench,
    "strongreject": parse_strongreject,
    "ailuminate": parse_ailuminate,
    "toxigen": parse_toxigen,
    "gsm8k": parse_gsm8k,
    "self_instruct": parse_self_instruct,
}


def read_entry(entry: Entry, root: Path) -> list[LabelledItem]:
    """Read one registered file (after checking its size and sha256); one item per distinct text."""
    status = file_status(entry, root)
    if status != "ok":
        raise DatasetError(f"{entry.name}: {entry.local_path(root)}: {status}")
    try:
        parser = PARSERS[entry.parser]
    except KeyError:
        raise DatasetError(f"{entry.name}: unknown parser {entry.parser!r}") from None
    items: dict[str, LabelledItem] = {}
    for record in parser(entry.local_path(root), entry):
        text = _clean(record.text)
        if not text or text in items:
            continue
        mapped = entry.map_label(record.label)
        items[text] = LabelledItem(
            id=item_id(entry.source, text),  # stable across runs and machines
            image=None,
            text=text,
            image_grade=None,
            text_grade=mapped.grade,  # type: ignore[arg-type]  # the registry checks grades on load
            joint_grade=mapped.grade,  # type: ignore[arg-type]
            categories=mapped.categories,
            source=entry.source,
            group=record.group or "",  # e.g. ToxiGen's target group or AILuminate's hazard
        )
    return list(items.values())


def load_items(
    root: Path | str, names: Iterable[str] | None = None, registry: Registry | None = None
) -> list[LabelledItem]:
    """Read every registered file present under `root` (all, or those named by entry or source).

    A missing file is skipped; a present file that is not the registered one is an error. Items are
    deduplicated by (source, text): the first file in registry order keeps a repeated text.
    """
    registry = registry or Registry.load()
    root = Path(root)
    seen: set[tuple[str, str | None]] = set()
    items = []
    for entry in registry.select(names):
        if entry.parser == LICENCE_PARSER or not entry.local_path(root).exists():
            continue
        for item in read_entry(entry, root):
            if (item.source, item.text) not in seen:
                seen.add((item.source, item.text))
                items.append(item)
    return items
