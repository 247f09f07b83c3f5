"""Turn request bytes and strings into model-ready arrays: decode and resize images, tokenize text.

Everything here is synchronous and meant to run in a thread pool (Pillow and tokenizers release the GIL).
Images are resized to the manifest's square size with a plain (aspect-squashing) bicubic resize, exactly
as the training code loads files (model/data.py `load_image`), so the model sees what it was trained on.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError
from tokenizers import Tokenizer

from service.errors import (
    ImageTooLarge,
    InvalidImage,
    MissingInput,
    ModelBundleError,
    TextTooLong,
    UnsupportedImageFormat,
)
from service.serving.bundle import Bundle
from service.settings import Settings
from service.taxonomy import present_text

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP")
_JPEG = ("JPEG", "MPO")  # Pillow names a camera's JPEG with more pictures after it MPO


@dataclass(frozen=True)
class PreparedItem:
    """One request item as arrays; a missing modality is None."""

    pixels: npt.NDArray[np.uint8] | None  # (H, W, 3)
    input_ids: npt.NDArray[np.int64] | None  # (T,) with [CLS] ... [SEP], T <= max_tokens
    text_truncated: bool
    content_sha256: str  # for logs: a hash of the content, never the content


def configure_pillow(max_pixels: int) -> None:
    """Set Pillow's decompression-bomb limit and make its warning an error we can catch."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def decode_image(data: bytes, size: int, max_pixels: int) -> npt.NDArray[np.uint8]:
    """Decode JPEG/PNG/WebP/GIF(first frame)/BMP bytes into an upright RGB (size, size, 3) uint8 array."""
    if not data:
        raise InvalidImage("the image is empty")
    try:
        with Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS) as img:
            if img.format not in (*ALLOWED_FORMATS, *_JPEG):
                raise UnsupportedImageFormat(f"image format {img.format} is not supported")
            if img.width * img.height > max_pixels:
                raise ImageTooLarge(
                    f"image is {img.width}x{img.height} pixels; the limit is {max_pixels} pixels"
                )
            if img.format in _JPEG:
                img.draft("RGB", (size, size))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale
            upright = _upright(img).convert("RGB")
            resized = upright.resize((size, size), Image.Resampling.BICUBIC)
            return np.asarray(resized, dtype=np.uint8)
    except UnidentifiedImageError:
        raise UnsupportedImageFormat(
            f"not an image, or not one of the supported formats ({', '.join(ALLOWED_FORMATS)})"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image has too many pixels (limit {max_pixels}): {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise InvalidImage(f"the image cannot be decoded: {exc}") from None


def _upright(img: Image.Image) -> Image.Image:
    """Return the image turned as its EXIF orientation says; as stored if the EXIF block is corrupt."""
    try:
        return ImageOps.exif_transpose(img)
    except (struct.error, TypeError, ValueError, KeyError, SyntaxError):
        # Pillow's EXIF parser raises these on a malformed block; the pixels are still good
        return img


class TextEncoder:
    """The bundle's `tokenizers` file, truncating at max_tokens and never padding."""

    def __init__(self, path: Path, max_tokens: int) -> None:
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the tokenizers library raises plain Exceptions, naming no file
            raise ModelBundleError(f"cannot read the tokenizer {path}: {exc}") from exc
        self._tokenizer.enable_truncation(max_tokens)
        self._tokenizer.no_padding()

    def encode(self, text: str) -> tuple[npt.NDArray[np.int64], bool]:
        """Return the token ids and whether the text was truncated."""
        encoding = self._tokenizer.encode(text)
        return np.asarray(encoding.ids, dtype=np.int64), bool(encoding.overflowing)

    def absent_ids(self) -> npt.NDArray[np.int64]:
        """Return the ids fed for a missing text: just `[CLS] [SEP]`."""
        ids, _ = self.encode("")
        return ids


class Preprocessor:
    """Check limits, decode the image and tokenize the text of one item."""

    def __init__(self, bundle: Bundle, settings: Settings) -> None:
        self.image_size = bundle.manifest.image.size
        self.max_tokens = bundle.manifest.text.max_tokens
        self.text = TextEncoder(bundle.tokenizer_path, self.max_tokens)
        self._max_pixels = settings.max_image_pixels
        self._max_text_chars = settings.max_text_chars

    def prepare(self, image: bytes | None, text: str | None) -> PreparedItem:
        """Return the item's arrays; raise a ServiceError for input that cannot be used."""
        text = present_text(text)
        if image is None and text is None:
            raise MissingInput("give at least one of `image` and `text`")
        digest = hashlib.sha256()
        pixels = ids = None
        truncated = False
        if text is not None:
            if len(text) > self._max_text_chars:
                raise TextTooLong(f"text has {len(text)} characters; the limit is {self._max_text_chars}")
            digest.update(text.encode("utf-8", "surrogatepass"))
            ids, truncated = self.text.encode(text)
        if image is not None:
            digest.update(image)
            pixels = decode_image(image, self.image_size, self._max_pixels)
        return PreparedItem(pixels, ids, truncated, digest.hexdigest()[:16])
