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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps, UnidentifiedImageError
from tokenizers import Tokenizer

from service.errors import (
    ImageTooCostly,
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
    """One request item as arrays; a missing modality is None.

    A text longer than one window (max_tokens) has more windows than `input_ids`, the first: each is its
    own engine row (with the item's image), and the batcher combines their scores (batching.py).
    """

    pixels: npt.NDArray[np.uint8] | None  # (H, W, 3)
    input_ids: npt.NDArray[np.int64] | None  # (T,) with [CLS] ... [SEP], T <= max_tokens: the first window
    text_truncated: bool  # longer than one window: read in windows (and with windows_skipped > 0, not all)
    content_sha256: str  # for logs: a hash of the content, never the content
    more_windows: tuple[npt.NDArray[np.int64], ...] = ()  # the text's other windows, in order, the last last
    windows_skipped: int = 0  # windows the SAFETY_MAX_TEXT_WINDOWS cap left out (their middle went unread)
    ocr_pixels: npt.NDArray[np.uint8] | None = None  # (h, w, 3) the copy OCR reads, until it has read it
    image_text: str | None = None  # what OCR read in the image (in the response; never logged)
    image_text_rows: ImageTextRows | None = None  # the rows that read it; None: the rows are as without OCR

    @property
    def rows(self) -> int:
        """Engine rows this item takes (and queue and batch slots): one per window, one without text; with
        text read in its image, the rows of ImageTextRows."""
        own = 1 + len(self.more_windows)
        extra = self.image_text_rows
        if extra is None:
            return own
        return len(extra.joint) + len(extra.alone) + (own if self.input_ids is not None else 0)

    @property
    def text_windows(self) -> int | None:
        """Windows the text was read in; None without text."""
        return None if self.input_ids is None else self.rows

    def row_ids(self) -> list[npt.NDArray[np.int64] | None]:
        """The token ids of each window of the item's own text (None: no text)."""
        return [self.input_ids, *self.more_windows]

    def row_inputs(self) -> list[tuple[npt.NDArray[np.uint8] | None, npt.NDArray[np.int64] | None]]:
        """The (pixels, token ids) of each engine row, in order (batching.combine_rows reads them back).

        Without text read in the image: the image with each window of the text. With it: the image with
        each window of the joint text, then each window of the image's text alone (no image), then each
        window of the item's own text alone (no image; none without a text).
        """
        extra = self.image_text_rows
        if extra is None:
            return [(self.pixels, ids) for ids in self.row_ids()]
        own = [(None, ids) for ids in self.row_ids()] if self.input_ids is not None else []
        return [*((self.pixels, ids) for ids in extra.joint), *((None, ids) for ids in extra.alone), *own]


@dataclass(frozen=True)
class ImageTextRows:
    """The rows of an item whose image has text in it (OCR): that text belongs to the image.

    The joint rows read the image beside the item's text with the image's text after it ("\n"), or the
    image's text alone when the item has none; the image's text is also read alone, without the image, and
    its text-alone reading makes the image reading more severe where it is (batching.combine_rows).
    """

    joint: tuple[npt.NDArray[np.int64], ...]  # windows of the item's text + "\n" + the image's text
    alone: tuple[npt.NDArray[np.int64], ...]  # windows of the image's text


def configure_pillow(max_pixels: int) -> None:
    """Set Pillow's decompression-bomb limit and make its warning an error we can catch."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


# Past this many pixels on a side, an image is first reduced by an integer factor (box average) on that
# axis before the bicubic resize: Pillow's resize keeps a copy of target width x source height (or the
# transpose), so a 1 x 39,000,000 strip would cost gigabytes. Pictures up to 4,096 a side resize as before.
MAX_RESIZED_SIDE = 4096
_REDUCIBLE_MODES = ("L", "LA", "RGB", "RGBA")  # what Image.reduce takes among the modes we decode to


def decoded_bytes(mode: str, width: int, height: int) -> int:
    """Bytes Pillow holds for an image of this mode and size once decoded: bands x bytes per band a pixel,
    a pointer a line (a 1 x 39,000,000 strip takes 37 MiB of pixels and 298 MiB of line pointers), and
    a full-size RGB(A) copy for a mode that must be converted before it can be reduced (P, 1, I;16)."""
    bands = Image.getmodebands(mode)
    per_band = 2 if mode.startswith("I;16") else 4 if mode in ("I", "F") else 1
    converted = 0 if mode in _REDUCIBLE_MODES else 4
    return width * height * (bands * per_band + converted) + height * 8 * (2 if converted else 1)


def decode_image(
    data: bytes, size: int, max_pixels: int, max_decoded_bytes: int = 64 * 1024 * 1024
) -> npt.NDArray[np.uint8]:
    """Decode JPEG/PNG/WebP/GIF(first frame)/BMP bytes into an upright RGB (size, size, 3) uint8 array.

    Memory is bounded before anything is decoded: the pixel count (decompression bombs) and the bytes
    the decoded image would take (`decoded_bytes`, after JPEG's reduced-scale decoding) are checked
    from the header; a very long side is reduced before the resize, so no full-size converted copy is made.
    """
    return decode_with_copy(data, size, max_pixels, max_decoded_bytes)[0]


def fit_side(width: int, height: int, side: int) -> tuple[int, int]:
    """Return (width, height) scaled to fit `side` on the longest side (as is when it already fits)."""
    longest = max(width, height)
    if longest <= side:
        return width, height
    return max(1, round(width * side / longest)), max(1, round(height * side / longest))


def decode_with_copy(
    data: bytes,
    size: int,
    max_pixels: int,
    max_decoded_bytes: int = 64 * 1024 * 1024,
    copy_side: int | None = None,
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None]:
    """Decode as decode_image; with `copy_side`, also return an upright RGB copy of the image at most that
    long a side, its aspect kept (the copy OCR reads; None without `copy_side`). A JPEG then decodes at the
    scale the copy needs, and the copy's bytes count in `max_decoded_bytes`."""
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
                side = max(size, copy_side or 0)
                img.draft("RGB", (side, side))  # let libjpeg decode at 1/2, 1/4 or 1/8 scale
            cost = decoded_bytes(img.mode, img.width, img.height)
            if copy_side is not None:  # the copy, and the reduced image it comes from when there is one
                reduced_size = _reduced_size(img)
                cost += decoded_bytes("RGB", *fit_side(*reduced_size, copy_side))
                cost += 0 if reduced_size == img.size else decoded_bytes("RGB", *reduced_size)
            if cost > max_decoded_bytes:
                raise ImageTooCostly(
                    f"image is {img.width}x{img.height} pixels in mode {img.mode}: decoding it takes "
                    f"{cost / 2**20:.0f} MiB; the limit is {max_decoded_bytes / 2**20:.0f} MiB "
                    "(SAFETY_MAX_IMAGE_DECODED_MB)"
                )
            reduced = _reduced(img)
            upright = _upright(reduced).convert("RGB")
            resized = upright.resize((size, size), Image.Resampling.BICUBIC)
            copy = None
            if copy_side is not None:  # the model's reduction may squash; the copy keeps the aspect
                source = upright if reduced is img else _upright(_reduced(img, True)).convert("RGB")
                fitted = fit_side(source.width, source.height, copy_side)
                if fitted != source.size:
                    source = source.resize(fitted, Image.Resampling.BICUBIC, reducing_gap=3.0)
                copy = np.asarray(source, dtype=np.uint8)
            return np.asarray(resized, dtype=np.uint8), copy
    except UnidentifiedImageError:
        raise UnsupportedImageFormat(
            f"not an image, or not one of the supported formats ({', '.join(ALLOWED_FORMATS)})"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(f"image has too many pixels (limit {max_pixels}): {exc}") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise InvalidImage(f"the image cannot be decoded: {exc}") from None


def _reduced(img: Image.Image, keep_aspect: bool = False) -> Image.Image:
    """Return the image with no side over MAX_RESIZED_SIDE (an integer box reduction on that axis, or with
    `keep_aspect` on both by the larger factor), else the image itself."""
    factor = _reduction(img, keep_aspect)
    if factor == (1, 1):
        return img
    if img.mode not in _REDUCIBLE_MODES:
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    return img.reduce(factor)


def _reduction(img: Image.Image, keep_aspect: bool) -> tuple[int, int]:
    factor = (-(-img.width // MAX_RESIZED_SIDE), -(-img.height // MAX_RESIZED_SIDE))
    return (max(factor), max(factor)) if keep_aspect else factor


def _reduced_size(img: Image.Image) -> tuple[int, int]:
    """The size `_reduced(img, keep_aspect=True)` gives the image."""
    factor = _reduction(img, keep_aspect=True)
    return -(-img.width // factor[0]), -(-img.height // factor[1])


def _upright(img: Image.Image) -> Image.Image:
    """Return the image turned as its EXIF orientation says; as stored if the EXIF block is corrupt."""
    try:
        return ImageOps.exif_transpose(img)
    except (struct.error, TypeError, ValueError, KeyError, SyntaxError):
        # Pillow's EXIF parser raises these on a malformed block; the pixels are still good
        return img


def window_starts(n_tokens: int, width: int, stride: int, max_windows: int) -> list[int]:
    """Return where each window starts among a text's `n_tokens` tokens (special tokens not counted).

    A window holds `width` tokens; starts are `stride` apart, and the last window ends at the text's last
    token (it may overlap its neighbour more than the others do), so every window is full and together
    they cover every token: 1 + ceil((n_tokens - width) / stride) windows for n_tokens > width. Past
    `max_windows`, the first `max_windows - 1` windows and the last are kept (1 keeps the first only).
    """
    if n_tokens <= width:
        return [0]
    starts = [*range(0, n_tokens - width, stride), n_tokens - width]
    if len(starts) > max_windows:
        starts = starts[: max_windows - 1] + starts[-1:] if max_windows > 1 else starts[:1]
    return starts


def window_count(n_tokens: int, width: int, stride: int) -> int:
    """Return how many windows cover `n_tokens` text tokens without a cap: 1 + ceil((n - width) / stride)."""
    return 1 if n_tokens <= width else 1 + -(-(n_tokens - width) // stride)


@dataclass(frozen=True)
class TextWindows:
    """A text's windows: token ids of each, `[CLS] ... [SEP]`, at most max_tokens long."""

    windows: list[npt.NDArray[np.int64]]
    longer_than_window: bool  # the text did not fit one window
    skipped: int  # windows left out by the cap


class TextTokenizer:
    """The bundle's `tokenizers` file: never pads; a text longer than max_tokens is cut into windows."""

    def __init__(self, path: Path, max_tokens: int, stride: int | None = None) -> None:
        try:
            self._tokenizer = Tokenizer.from_file(str(path))
        except Exception as exc:  # the tokenizers library raises plain Exceptions, naming no file
            raise ModelBundleError(f"cannot read the tokenizer {path}: {exc}") from exc
        self._tokenizer.no_truncation()  # the whole text: windows are cut from its ids, tokenized once
        self._tokenizer.no_padding()
        self.max_tokens = max_tokens
        probe = self._tokenizer.encode("a")  # where the post-processor puts its special tokens
        mask = probe.special_tokens_mask
        body = [i for i, special in enumerate(mask) if not special]
        self._prefix_len = body[0] if body else len(mask)
        self._suffix_len = len(mask) - 1 - body[-1] if body else 0
        self.width = max_tokens - self._prefix_len - self._suffix_len  # text tokens per window
        self.stride = stride if stride is not None else max_tokens // 2
        if self.width < 1 or not 1 <= self.stride <= self.width:
            raise ModelBundleError(
                f"windows of {max_tokens} tokens hold {self.width} text tokens: the stride {self.stride} "
                "must be between 1 and that (text.window_stride in the manifest)"
            )

    def _ids(self, text: str) -> npt.NDArray[np.int64]:
        return np.asarray(self._tokenizer.encode(text).ids, dtype=np.int64)

    def encode(self, text: str) -> tuple[npt.NDArray[np.int64], bool]:
        """Return the token ids of the first window and whether the text was longer than it."""
        ids = self._ids(text)
        if len(ids) <= self.max_tokens:
            return ids, False
        return self._window(ids, 0), True

    def windows(self, text: str, max_windows: int) -> TextWindows:
        """Tokenize once; return the text as one window (it fits) or as its windows (window_starts)."""
        ids = self._ids(text)
        if len(ids) <= self.max_tokens:  # the common case: the ids as the tokenizer made them
            return TextWindows([ids], False, 0)
        n_body = len(ids) - self._prefix_len - self._suffix_len
        starts = window_starts(n_body, self.width, self.stride, max_windows)
        skipped = window_count(n_body, self.width, self.stride) - len(starts)
        return TextWindows([self._window(ids, start) for start in starts], True, skipped)

    def _window(self, ids: npt.NDArray[np.int64], start: int) -> npt.NDArray[np.int64]:
        """[CLS] + `width` text tokens from `start` + [SEP], from the ids of the whole text."""
        p, q = self._prefix_len, self._suffix_len
        body = ids[p + start : min(p + start + self.width, len(ids) - q)]
        return np.concatenate([ids[:p], body, ids[len(ids) - q :]])

    def absent_ids(self) -> npt.NDArray[np.int64]:
        """Return the ids fed for a missing text: just `[CLS] [SEP]`."""
        return self._ids("")


class Preprocessor:
    """Check limits, decode the image and tokenize the text of one item.

    With `ocr_side` (OCR is on), each image also gets the copy OCR reads (PreparedItem.ocr_pixels);
    `with_image_text` then adds what was read.
    """

    def __init__(self, bundle: Bundle, settings: Settings, ocr_side: int | None = None) -> None:
        self.image_size = bundle.manifest.image.size
        self.ocr_side = ocr_side
        self.max_tokens = bundle.manifest.text.max_tokens
        self.text = TextTokenizer(bundle.tokenizer_path, self.max_tokens, bundle.manifest.text.stride)
        self._max_pixels = settings.max_image_pixels
        self._max_decoded_bytes = settings.max_image_decoded_mb * 1024 * 1024
        self._max_text_chars = settings.max_text_chars
        self._max_text_windows = settings.max_text_windows

    def prepare(self, image: bytes | None, text: str | None) -> PreparedItem:
        """Return the item's arrays; raise a ServiceError for input that cannot be used."""
        text = present_text(text)
        if image is None and text is None:
            raise MissingInput("give at least one of `image` and `text`")
        digest = hashlib.sha256()
        pixels = copy = ids = None
        truncated = False
        more: tuple[npt.NDArray[np.int64], ...] = ()
        skipped = 0
        if text is not None:
            if len(text) > self._max_text_chars:
                raise TextTooLong(f"text has {len(text)} characters; the limit is {self._max_text_chars}")
            digest.update(text.encode("utf-8", "surrogatepass"))
            windows = self.text.windows(text, self._max_text_windows)
            ids, *rest = windows.windows
            more, truncated, skipped = tuple(rest), windows.longer_than_window, windows.skipped
        if image is not None:
            digest.update(image)
            pixels, copy = decode_with_copy(
                image, self.image_size, self._max_pixels, self._max_decoded_bytes, self.ocr_side
            )
        return PreparedItem(pixels, ids, truncated, digest.hexdigest()[:16], more, skipped, copy)

    def with_image_text(self, item: PreparedItem, text: str | None, image_text: str) -> PreparedItem:
        """Return the item (without its OCR copy) with the text read in its image and the rows that read
        it (ImageTextRows); with nothing read, the item's rows stay as they are. `text` is the item's own
        text, as given to `prepare`."""
        if not image_text:
            return replace(item, ocr_pixels=None)
        own = present_text(text)
        joint = image_text if own is None else f"{own}\n{image_text}"
        rows = ImageTextRows(
            tuple(self.text.windows(joint, self._max_text_windows).windows),
            tuple(self.text.windows(image_text, self._max_text_windows).windows),
        )
        return replace(item, ocr_pixels=None, image_text=image_text, image_text_rows=rows)
