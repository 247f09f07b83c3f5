"""The model bundle: read and check `manifest.json` (docs/manifest.md)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from service.errors import ModelBundleError
from service.policy.rules import builtin_policy
from service.taxonomy import CATEGORIES, GRADES

INPUT_NAMES = ("pixels", "input_ids", "attention_mask", "present")
OUTPUT_NAMES = ("image_scores", "text_scores", "joint_scores", "category_scores")


class Variant(BaseModel):
    """One ONNX file of the bundle."""

    model_config = ConfigDict(extra="allow", frozen=True)

    file: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int | None = None
    device: str = "cpu"


class ImageSpec(BaseModel):
    """How the service prepares pixels: square `size`, uint8 NHWC (normalisation is in the graph)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    size: int = Field(gt=0, le=4096)
    layout: str = "NHWC"
    dtype: str = "uint8"


class TextSpec(BaseModel):
    """Tokenizer file (relative to the bundle), the window length and the stride between windows.

    A text longer than `max_tokens` (special tokens included) is read in overlapping windows of
    `max_tokens` tokens whose starts are `stride` text tokens apart (docs/manifest.md).
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    tokenizer_file: str
    max_tokens: int = Field(gt=2)
    window_stride: int | None = Field(default=None, gt=0)  # None: max_tokens // 2

    @model_validator(mode="after")
    def _check_stride(self) -> TextSpec:
        if self.window_stride is not None and self.window_stride > self.max_tokens - 2:
            # a larger step would skip tokens between windows ([CLS] and [SEP] take 2 of max_tokens)
            raise ValueError(
                f"text.window_stride ({self.window_stride}) must not exceed max_tokens - 2 "
                f"({self.max_tokens - 2}): windows would leave gaps"
            )
        return self

    @property
    def stride(self) -> int:
        """Text tokens between the starts of two windows: `window_stride`, else max_tokens // 2."""
        return self.window_stride if self.window_stride is not None else self.max_tokens // 2


class Manifest(BaseModel):
    """The parts of `manifest.json` the service relies on; unknown fields are kept as they are."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    version: str
    variants: dict[str, Variant]
    default_variant: dict[str, str]
    outputs: list[str]
    image: ImageSpec
    text: TextSpec
    grades: list[str]
    categories: list[str] = Field(min_length=1)
    thresholds: dict[str, Any]

    @model_validator(mode="after")
    def _check(self) -> Manifest:
        if tuple(self.grades) != GRADES:
            raise ValueError(f"grades must be {list(GRADES)}, got {self.grades}")
        if self.image.layout != "NHWC" or self.image.dtype != "uint8":
            raise ValueError("image must be uint8 NHWC")
        missing = [name for name in OUTPUT_NAMES if name not in self.outputs]
        if missing:
            raise ValueError(f"outputs lack {missing}")
        for device, variant in self.default_variant.items():
            if variant not in self.variants:
                raise ValueError(f"default_variant.{device} = {variant!r} is not in variants")
        if tuple(self.categories) != CATEGORIES:
            # the service reads category_scores by position: another list would mislabel or break them
            raise ValueError(f"categories must be the taxonomy's {len(CATEGORIES)} slugs in order")
        try:
            builtin_policy(self.thresholds)  # the `default` policy every request may use
        except (KeyError, TypeError, ValidationError) as exc:
            raise ValueError(f"thresholds cannot make the default policy: {exc!r}") from None
        return self


class Bundle:
    """A model bundle folder with its parsed manifest."""

    def __init__(self, root: Path, manifest: Manifest, raw: dict[str, Any]) -> None:
        self.root = root
        self.manifest = manifest
        self.raw = raw

    @classmethod
    def load(cls, root: Path) -> Bundle:
        """Read `root/manifest.json`; raise ModelBundleError naming the problem."""
        path = root / "manifest.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelBundleError(f"no model bundle at {root}: {path} does not exist") from None
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelBundleError(f"cannot read {path}: {exc}") from exc
        try:
            manifest = Manifest.model_validate(raw)
        except ValidationError as exc:
            raise ModelBundleError(f"invalid {path}: {exc}") from exc
        tokenizer = root / manifest.text.tokenizer_file
        if not tokenizer.is_file():
            raise ModelBundleError(f"tokenizer file {tokenizer} named in {path} does not exist")
        return cls(root, manifest, raw)

    @property
    def tokenizer_path(self) -> Path:
        """Path of the `tokenizers` file."""
        return self.root / self.manifest.text.tokenizer_file

    def variant_for(self, device: str, override: str | None = None) -> str:
        """Pick the variant: the override, else `default_variant[device]`, else the CPU default."""
        if override is not None:
            if override not in self.manifest.variants:
                known = ", ".join(self.manifest.variants)
                raise ModelBundleError(f"variant {override!r} is not in the bundle (known: {known})")
            return override
        defaults = self.manifest.default_variant
        name = defaults.get(device) or defaults.get("cpu") or next(iter(self.manifest.variants))
        return name

    def verified_file(self, variant: str) -> Path:
        """Return the variant's ONNX path after checking its sha256 against the manifest."""
        spec = self.manifest.variants[variant]
        path = self.root / spec.file
        if not path.is_file():
            raise ModelBundleError(f"variant {variant!r}: {path} does not exist")
        digest = file_sha256(path)
        if digest != spec.sha256:
            raise ModelBundleError(
                f"variant {variant!r}: sha256 of {path} is {digest}, manifest says {spec.sha256}; "
                "refusing to serve a model that is not the one described"
            )
        return path


def file_sha256(path: Path) -> str:
    """Return the hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
