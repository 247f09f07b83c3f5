"""Training data: labelled samples from the default corpus or from user files, turned into tensors.

Items are `LabelledItem`s, the type evaluation reads too (image and/or text). `encode_samples`
renders or loads the images, tokenizes the texts and runs the frozen text tower once per distinct
text, so training epochs only run the image tower and the fusion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tokenizers import Tokenizer
from tqdm import tqdm

from service.errors import ServiceError
from service.evaluation.labelled_data import LabelledItem, read_labelled
from service.serving.inputs import decode_image
from service.settings import Settings
from service.taxonomy import CATEGORIES, GRADES

MAX_IMAGE_PIXELS: int = Settings.model_fields["max_image_pixels"].default  # the service's bomb limit

IGNORE = -100  # label of an absent modality: no loss


@dataclass
class EncodedSet:
    """Tensors for one split; text states are stored per distinct text and indexed."""

    samples: list[LabelledItem]
    # what the image tower reads, one row per distinct picture, row 0 blank (no image): pixels (M, H, W, 3)
    # uint8, or a frozen tower's tokens (M, N_tokens, C) float16, computed once (its cost per step was
    # most of an epoch's)
    images: torch.Tensor
    image_index: torch.Tensor  # (N,) row of `images`, 0 without an image
    text_index: torch.Tensor  # (N,) index into text_states
    text_states: list[torch.Tensor]  # each (T_i, hidden) float16
    text_masks: list[torch.Tensor]  # each (T_i,) int64
    present: torch.Tensor  # (N, 2) float
    image_label: torch.Tensor  # (N,) int64, IGNORE when absent
    text_label: torch.Tensor  # (N,)
    joint_label: torch.Tensor  # (N,)
    category_target: torch.Tensor  # (N, 15) float
    glyph_target: torch.Tensor  # (N, n_glyphs) float: glyphs a corpus scene shows (training aid)
    glyph_known: torch.Tensor  # (N,) float: 1 where the scene's glyphs are known

    def text_lengths(self) -> torch.Tensor:
        """Return each sample's text length in tokens (N,)."""
        per_text = torch.tensor([len(m) for m in self.text_masks])
        return per_text[self.text_index]

    def batch(self, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        """Collate a batch, padding text states to the longest text in it."""
        texts = self.text_index[idx].tolist()
        T = max(self.text_states[t].shape[0] for t in texts)
        hidden = self.text_states[texts[0]].shape[1]
        states = torch.zeros(len(texts), T, hidden)
        mask = torch.zeros(len(texts), T, dtype=torch.long)
        for row, t in enumerate(texts):
            n = self.text_states[t].shape[0]
            states[row, :n] = self.text_states[t].float()
            mask[row, :n] = self.text_masks[t]
        return {
            "images": self.images[self.image_index[idx]],
            "text_states": states,
            "attention_mask": mask,
            "present": self.present[idx],
            "image_label": self.image_label[idx],
            "text_label": self.text_label[idx],
            "joint_label": self.joint_label[idx],
            "category_target": self.category_target[idx],
            "glyph_target": self.glyph_target[idx],
            "glyph_known": self.glyph_known[idx],
        }


# ----------------------------------------------------------------------------- sources


def corpus_samples(seed: int, size: int) -> list[LabelledItem]:
    """Return the default synthetic corpus as samples (scenes are rendered later)."""
    from model.corpus.build import build_corpus

    return build_corpus(seed=seed, size=size)


class DataError(ValueError):
    """Labelled data that cannot train or evaluate a model; the command line prints it in one line."""


def file_samples(path: Path, split_seed: int = 0) -> tuple[list[LabelledItem], int]:
    """Read a VLSU-layout CSV or a JSONL file of labelled items; return samples and skipped rows.

    The file is read exactly as `python -m service eval` reads it (service.evaluation.labelled_data): rows
    whose image file is missing or cannot be decoded, or whose labels cannot be read, are skipped
    and counted. Items get a train/val/test split (80/10/10) from a stable hash of their id.
    """
    if not path.is_file():
        raise DataError(f"no labelled file at {path}")
    try:
        data = read_labelled(path)
    except (ValueError, OSError) as e:  # LabelError names the file; others (a decode error, say) may not
        raise DataError(str(e) if str(path) in str(e) else f"{path}: {e}") from None
    readable = [item for item in data.items if item.image is None or _decodes(Path(str(item.image)))]
    samples = [replace(item, split=_hash_split(item.id, split_seed), source=str(path)) for item in readable]
    undecodable = len(data.items) - len(readable)
    return samples, len(data.missing_images) + len(data.invalid_rows) + undecodable


def _decodes(path: Path) -> bool:
    """Return whether the service could decode this image (checked at a small size: JPEGs draft)."""
    try:
        load_image(path, 8)
    except (OSError, ServiceError):
        return False
    return True


def _hash_split(uid: str, seed: int) -> str:
    """Assign train/val/test 80/10/10 from a stable hash of the id."""
    bucket = int(hashlib.sha256(f"{seed}:{uid}".encode()).hexdigest(), 16) % 10
    return "test" if bucket == 9 else "val" if bucket == 8 else "train"


# ----------------------------------------------------------------------------- encoding


def load_image(path: Path, size: int) -> np.ndarray:
    """Load a local image exactly as the service decodes a request's image (no train/serve skew)."""
    return decode_image(path.read_bytes(), size, MAX_IMAGE_PIXELS)


def _render(args: tuple[object, int]) -> np.ndarray:
    image, size = args
    if isinstance(image, Path):
        return load_image(image, size)
    if hasattr(image, "pixels"):  # a picture that carries nothing (model/public.py)
        pixels: np.ndarray = image.pixels(size)
        return pixels
    from model.corpus.scenes import render_scene

    return np.asarray(render_scene(image, size).convert("RGB"), dtype=np.uint8)  # type: ignore[arg-type]


IMAGE_CHUNK = 1024  # pictures rendered, then read by a frozen tower, at a time (bounds the pixels held)


def image_rows(
    samples: Sequence[LabelledItem],
    size: int,
    tower: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (images, image_index) of EncodedSet: each distinct picture rendered once (row 0 blank) and,
    with a frozen `tower`, read by it once, a chunk at a time, its tokens kept in float16."""
    keys: dict[object, int] = {}
    index = torch.zeros(len(samples), dtype=torch.long)
    distinct: list[LabelledItem] = []
    for row, s in enumerate(samples):
        if s.image is None:
            continue
        key = _image_key(s.image)
        if key not in keys:
            keys[key] = len(distinct) + 1
            distinct.append(s)
        index[row] = keys[key]
    if tower is None:
        pixels = render_images(distinct, size)
        return torch.cat([torch.zeros(1, size, size, 3, dtype=torch.uint8), pixels]), index
    parts: list[torch.Tensor] = []
    with torch.no_grad():
        blank = tower(torch.zeros(1, size, size, 3, dtype=torch.uint8))
        for start in tqdm(range(0, len(distinct), IMAGE_CHUNK), desc="image tower"):
            pixels = render_images(distinct[start : start + IMAGE_CHUNK], size)
            parts.extend(tower(batch).half() for batch in pixels.split(128))
    return torch.cat([torch.zeros_like(blank).half(), *parts]), index


def _image_key(image: object) -> object:
    """What makes two samples' pictures the same: a file's path, else the scene or control itself."""
    if isinstance(image, Path):
        return ("file", str(image))
    try:
        hash(image)
    except TypeError:
        return ("object", id(image))
    return ("value", image)


def render_images(samples: Sequence[LabelledItem], size: int, workers: int = 2) -> torch.Tensor:
    """Render corpus scenes / load files for every sample with an image (black when absent)."""
    pixels = np.zeros((len(samples), size, size, 3), dtype=np.uint8)
    todo = [(i, s.image) for i, s in enumerate(samples) if s.image is not None]
    jobs = [(image, size) for _, image in todo]
    if workers > 1 and len(jobs) > 256:
        with ProcessPoolExecutor(workers) as pool:
            arrays = list(tqdm(pool.map(_render, jobs, chunksize=64), total=len(jobs), desc="images"))
    else:
        arrays = [_render(job) for job in tqdm(jobs, desc="images")]
    for (i, _), arr in zip(todo, arrays, strict=True):
        pixels[i] = arr
    return torch.from_numpy(pixels)


def load_tokenizer(path: Path, max_tokens: int) -> Tokenizer:
    """Load a `tokenizers` file with truncation at max_tokens (the service does the same)."""
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.enable_truncation(max_tokens)
    tokenizer.no_padding()
    return tokenizer


@torch.no_grad()
def encode_texts(
    texts: Sequence[str], tokenizer: Tokenizer, encode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run the frozen text tower once per text, in length-sorted batches."""
    ids = [enc.ids for enc in tokenizer.encode_batch(list(texts))]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    states: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    masks: list[torch.Tensor] = [torch.empty(0)] * len(ids)
    for start in tqdm(range(0, len(order), 256), desc="text tower"):
        chunk = order[start : start + 256]
        T = max(len(ids[i]) for i in chunk)
        batch = torch.zeros(len(chunk), T, dtype=torch.long)
        mask = torch.zeros(len(chunk), T, dtype=torch.long)
        for row, i in enumerate(chunk):
            batch[row, : len(ids[i])] = torch.tensor(ids[i])
            mask[row, : len(ids[i])] = 1
        out = encode(batch, mask)  # (b, T, hidden)
        for row, i in enumerate(chunk):
            n = len(ids[i])
            states[i] = out[row, :n].half().clone()
            masks[i] = torch.ones(n, dtype=torch.long)
    return states, masks


def encode_samples(
    samples: list[LabelledItem],
    image_size: int,
    tokenizer: Tokenizer,
    encode: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    image_tower: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> EncodedSet:
    """Turn samples into tensors: images rendered (and read by `image_tower`, when it is a frozen one),
    texts through the frozen text tower."""
    ABSENT = ""  # an absent text is fed as "[CLS] [SEP]", i.e. the empty string
    distinct = list(dict.fromkeys([ABSENT] + [s.text for s in samples if s.text is not None]))
    states, masks = encode_texts(distinct, tokenizer, encode)
    position = {t: i for i, t in enumerate(distinct)}
    G = {g: i for i, g in enumerate(GRADES)}
    cats = torch.zeros(len(samples), len(CATEGORIES))
    for row, s in enumerate(samples):
        for c in s.categories:
            cats[row, CATEGORIES.index(c)] = 1.0
    from model.corpus.glyphs import glyph_names

    names = {g: i for i, g in enumerate(glyph_names())}
    glyphs = torch.zeros(len(samples), len(names))
    glyph_known = torch.zeros(len(samples))
    for row, s in enumerate(samples):
        shown = getattr(s.image, "glyphs", None)  # corpus scenes know their glyphs; files don't
        if shown is not None:
            glyph_known[row] = 1.0
            for g in shown:
                glyphs[row, names[g]] = 1.0
    images, image_index = image_rows(samples, image_size, image_tower)
    return EncodedSet(
        samples=samples,
        images=images,
        image_index=image_index,
        text_index=torch.tensor([position[s.text if s.text is not None else ABSENT] for s in samples]),
        text_states=states,
        text_masks=masks,
        present=torch.tensor(
            [[s.image is not None, s.text is not None] for s in samples], dtype=torch.float32
        ),
        image_label=torch.tensor([G[s.image_grade] if s.image_grade else IGNORE for s in samples]),
        text_label=torch.tensor([G[s.text_grade] if s.text_grade else IGNORE for s in samples]),
        joint_label=torch.tensor([G[s.joint_grade] for s in samples]),
        category_target=cats,
        glyph_target=glyphs,
        glyph_known=glyph_known,
    )
