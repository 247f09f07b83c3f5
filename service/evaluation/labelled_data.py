"""Labelled evaluation data: the VLSU CSV layout and JSONL, read into `LabelledItem`s."""

from __future__ import annotations

import base64
import binascii
import csv
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.policy.rules import Grade
from service.taxonomy import (
    CATEGORIES,
    CATEGORY_TABLE,
    GRADES,
    labelled_emergent,
    labelled_pattern,
    present_text,
)

VLSU_COLUMNS = (
    "uuid",
    "web_path",
    "prompt",
    "image_grade",
    "consensus_text_grade",
    "consensus_combined_grade",
    "image_category",
    "text_category",
    "combined_category",
)

_GRADE_SPELLINGS: dict[str, Grade] = {
    "safe": "safe",
    "s": "safe",
    "borderline": "borderline",
    "b": "borderline",
    "unsafe": "unsafe",
    "u": "unsafe",
    "not safe": "unsafe",
    "notsafe": "unsafe",
    "harmful": "unsafe",
}
_NO_CATEGORY = {"", "none", "n/a", "na", "null", "safe", "-"}
_CATEGORY_CODE = re.compile(r"\bC(\d{1,2})\b", re.IGNORECASE)


class LabelError(ValueError):
    """A label could not be read (unknown grade or category spelling, missing field)."""


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _category_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for slug, code, vlsu_name in CATEGORY_TABLE:
        for spelling in (slug, code, vlsu_name, vlsu_name.split(":", 1)[-1]):
            lookup[_squash(spelling)] = slug
    return lookup


def parse_grade(value: Any) -> Grade | None:
    """Read a grade leniently (`Safe`, `BORDERLINE`, `Not Safe`, `U`); None for an empty cell."""
    if value is None:
        return None
    text = re.sub(r"[\s_-]+", " ", str(value)).strip().lower()
    if text in ("", "none", "null", "n/a", "na"):
        return None
    if text in _GRADE_SPELLINGS:
        return _GRADE_SPELLINGS[text]
    raise LabelError(f"unknown grade {value!r}; expected one of {', '.join(GRADES)} (any case) or 'Not Safe'")


def parse_categories(value: Any) -> tuple[str, ...]:
    """Read categories from a VLSU name (`C4: Self-Harm and Suicide`), code, slug, or a list of them."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(dict.fromkeys(slug for v in value for slug in parse_categories(v)))
    text = str(value).strip()
    if text.lower() in _NO_CATEGORY:
        return ()
    lookup = _category_lookup()
    found: list[str] = []
    for part in re.split(r"[;|]", text):
        if codes := _CATEGORY_CODE.findall(part):  # `C1: Slurs, Hate Speech, ...`: the code decides
            for code in codes:
                index = int(code) - 1
                if not 0 <= index < len(CATEGORIES):
                    raise LabelError(f"unknown category code C{code} in {value!r}")
                found.append(CATEGORIES[index])
            continue
        # a whole VLSU name (its own commas included), else a comma list of names and slugs
        for name in [part] if _squash(part) in lookup else part.split(","):
            key = _squash(name)
            if not key:
                continue
            if key not in lookup:
                raise LabelError(f"unknown category {name.strip()!r}; expected a VLSU name, code or slug")
            found.append(lookup[key])
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class LabelledItem:
    """One input (image and/or text) with its gold grades and categories: evaluation's and training's.

    `image` is a local file or the raw image bytes (evaluation files), or a picture that `model/`
    renders itself (a corpus scene, a picture control); None when the item has no image.
    """

    id: str
    image: Path | bytes | object | None
    text: str | None
    image_grade: Grade | None
    text_grade: Grade | None
    joint_grade: Grade
    categories: tuple[str, ...] = ()
    split: str = ""  # training's split (train, val, test, ...); "" in evaluation files
    source: str = ""  # where it comes from: a public dataset's name, "corpus", "handwritten", ...
    group: str = ""  # within its source: a corpus template family, ToxiGen's group, a set's number

    @property
    def pattern(self) -> str | None:
        """The gold `I-T-J` pattern, or None unless both unimodal grades are known."""
        return labelled_pattern(self.image_grade, self.text_grade, self.joint_grade)

    @property
    def emergent(self) -> bool:
        """The gold joint grade is more severe than both gold unimodal grades."""
        return labelled_emergent(self.image_grade, self.text_grade, self.joint_grade)

    def image_bytes(self) -> bytes | None:
        """Return the image's bytes (reading the file), or None without an image."""
        if isinstance(self.image, Path):
            return self.image.read_bytes()
        if self.image is None or isinstance(self.image, bytes):
            return self.image
        raise TypeError(f"{self.id}: a {type(self.image).__name__} picture has no bytes until rendered")


@dataclass
class LabelledData:
    """Items read from one file, with what was skipped and why."""

    source: str
    items: list[LabelledItem]
    missing_images: list[str] = field(default_factory=list)  # ids of rows whose image file is missing
    invalid_rows: list[str] = field(default_factory=list)  # "line N: reason"

    def summary(self) -> dict[str, Any]:
        """Return counts for the report."""
        return {
            "source": self.source,
            "items": len(self.items),
            "skipped_missing_image": len(self.missing_images),
            "skipped_invalid": len(self.invalid_rows),
            "missing_image_ids": self.missing_images[:50],
            "invalid_rows": self.invalid_rows[:50],
        }


def _resolve_image(path_text: str, base_dir: Path) -> Path | None:
    """Return the local image file for a path cell, or None when it is not a readable local file."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", path_text, re.IGNORECASE):
        return None  # a URL: evaluation never downloads
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        return path if path.is_file() else None
    except OSError:  # a name too long for the file system, say: no such file either
        return None


def read_vlsu_csv(path: Path) -> LabelledData:
    """Read the VLSU CSV layout; rows whose image file is missing are counted and skipped.

    A row with no `web_path` at all and a prompt is a text-only item.
    """
    data = LabelledData(source=str(path), items=[])
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        try:
            missing = [c for c in VLSU_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise LabelError(f"{path}: missing columns {', '.join(missing)}")
            for line, row in _csv_rows(reader):
                _add_vlsu_row(data, line, row, path.parent)
        except csv.Error as e:  # an unclosed quote runs on until the field-size limit
            raise LabelError(
                f"{path}: line {reader.line_num}: not readable CSV ({e}); an unclosed quote?"
            ) from None
        except UnicodeDecodeError as e:
            raise LabelError(f"{path}: not UTF-8 text ({e.reason} near line {reader.line_num + 1})") from None
    return data


def _csv_rows(reader: csv.DictReader[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Yield each row with the lines it took ("7", or "7-12" for a prompt over several lines)."""
    while True:
        first = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        yield (str(first) if reader.line_num == first else f"{first}-{reader.line_num}"), row


def _add_vlsu_row(data: LabelledData, line: str, row: dict[str, str], base_dir: Path) -> None:
    """Add one CSV row as an item, or count it as missing its image or invalid."""
    item_id = (row["uuid"] or "").strip() or f"line-{line}"
    web_path = (row["web_path"] or "").strip()
    image = _resolve_image(web_path, base_dir) if web_path else None
    if web_path and image is None:
        data.missing_images.append(item_id)
        return
    try:
        joint = parse_grade(row["consensus_combined_grade"])
        if joint is None:
            raise LabelError("empty consensus_combined_grade")
        categories = parse_categories([row["combined_category"], row["image_category"], row["text_category"]])
        text = present_text(row["prompt"])
        if image is None and text is None:
            raise LabelError("neither web_path nor prompt")
        data.items.append(
            LabelledItem(
                id=item_id,
                image=image,
                text=text,
                image_grade=parse_grade(row["image_grade"]) if image is not None else None,
                text_grade=parse_grade(row["consensus_text_grade"]) if text is not None else None,
                joint_grade=joint,
                categories=categories,
            )
        )
    except LabelError as e:
        where = (
            f"lines {line} (a prompt over several lines, or an unclosed quote)"
            if "-" in line
            else f"line {line}"
        )
        data.invalid_rows.append(f"{where}: {e}")


class LabelledRecord(BaseModel):
    """One labelled item as JSON: a JSONL line, or an item of `POST /v1/policies/{name}/evaluate`.

    In JSONL `image` is a file path (relative to the file's folder); over HTTP it is base64.
    """

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    image: str | None = None
    text: str | None = None
    image_grade: Grade | None = None
    text_grade: Grade | None = None
    joint_grade: Grade
    categories: tuple[str, ...] = Field(default=())

    @field_validator("id", mode="before")
    @classmethod
    def _number_id(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("image_grade", "text_grade", "joint_grade", mode="before")
    @classmethod
    def _lenient_grade(cls, value: Any) -> Grade | None:
        return parse_grade(value)

    @field_validator("categories", mode="before")
    @classmethod
    def _lenient_categories(cls, value: Any) -> tuple[str, ...]:
        return parse_categories(value)

    def to_item(self, default_id: str, image: Path | bytes | None) -> LabelledItem:
        """Return the item with `image` resolved by the caller; unlabelled modalities stay None."""
        text = present_text(self.text)  # as the service reads it
        return LabelledItem(
            id=self.id or default_id,
            image=image,
            text=text,
            image_grade=self.image_grade if image is not None else None,
            text_grade=self.text_grade if text is not None else None,
            joint_grade=self.joint_grade,
            categories=self.categories,
        )

    def to_item_base64(self, default_id: str) -> LabelledItem:
        """Return the item, decoding `image` as base64 (the HTTP dry run); raise LabelError."""
        if self.image is None:
            return self.to_item(default_id, None)
        try:
            return self.to_item(default_id, base64.b64decode(self.image, validate=True))
        except (binascii.Error, ValueError) as e:
            raise LabelError(f"image is not valid base64: {e}") from None


MAX_DRY_RUN_ITEMS = 1000


class DryRunRequest(BaseModel):
    """Body of `POST /v1/policies/{name}/evaluate`: labelled items with base64 images."""

    model_config = ConfigDict(extra="forbid")

    items: list[LabelledRecord] = Field(min_length=1, max_length=MAX_DRY_RUN_ITEMS)


def read_jsonl(path: Path) -> LabelledData:
    """Read JSONL labelled items; items whose image file is missing are counted and skipped."""
    data = LabelledData(source=str(path), items=[])
    with path.open("rb") as f:
        for line_number, raw in enumerate(f, start=1):
            try:  # line by line: one line in another encoding is one invalid row, not a failed file
                line = raw.decode("utf-8-sig" if line_number == 1 else "utf-8")  # a BOM is no label
            except UnicodeDecodeError as e:
                data.invalid_rows.append(f"line {line_number}: not UTF-8 ({e.reason} at byte {e.start})")
                continue
            if not line.strip():
                continue
            try:
                record = LabelledRecord.model_validate(json.loads(line))
                if record.image is not None and not record.image.strip():
                    record.image = None  # "" is no image, as an empty web_path is in the CSV layout
                if record.image is None and present_text(record.text) is None:
                    raise LabelError("neither image nor text")
            except (ValueError, LabelError) as e:  # json and pydantic errors are ValueErrors
                data.invalid_rows.append(f"line {line_number}: {_one_line(e)}")
                continue
            image: Path | None = None
            if record.image is not None:
                image = _resolve_image(record.image, path.parent)
                if image is None:
                    data.missing_images.append(record.id or f"line-{line_number}")
                    continue
            data.items.append(record.to_item(f"line-{line_number}", image))
    return data


def _one_line(error: Exception) -> str:
    return " ".join(str(error).split())


def read_labelled(path: Path) -> LabelledData:
    """Read a labelled file: `.csv` is the VLSU layout, anything else JSONL."""
    if path.suffix.lower() == ".csv":
        return read_vlsu_csv(path)
    return read_jsonl(path)


def records_to_items(records: Sequence[LabelledRecord]) -> list[LabelledItem]:
    """Turn HTTP dry-run records (base64 images) into items; raise LabelError on a bad image."""
    return [record.to_item_base64(f"item-{i}") for i, record in enumerate(records)]
