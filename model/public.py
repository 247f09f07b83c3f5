"""Real text in training: public datasets, hand-written texts, long texts, and pictures that carry nothing.

Which source lands in which split was fixed by source before any model scored them, so the held-out
figures measure transfer to data the model never saw, not memory (the card shows the table):

- train: AdvBench (less its StrongREJECT copies), AILuminate, ToxiGen (8 groups), GSM8K (1,000 drawn),
  the hand-written look-alikes (4 in 5);
- val (chooses the epoch and the thresholds, beside the corpus's val): HarmBench, ToxiGen (4 groups),
  Self-Instruct's user-oriented instructions, the look-alikes (1 in 5);
- report (the card's figures only, never tuned on): StrongREJECT, ToxiGen (4 other groups),
  Self-Instruct's seed tasks, the sealed contrast sets.

Every text-only item also appears, at a seeded draw, beside a picture that carries nothing (white,
black, one colour, noise, a harmless glyph scene, or a crop of an ordinary photograph) with the text's
grade as the joint grade, so such a picture learns to change nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.resources
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image

from model.corpus.roles import HARMLESS
from model.corpus.scenes import Scene, render_scene
from service.evaluation.labelled_data import LabelledItem
from service.taxonomy import CATEGORIES, GRADES

DATA = Path(__file__).parent / "data"
LOOKALIKES = DATA / "lookalikes"  # hand-written training texts: harm words used harmlessly, and harms
CONTRAST = DATA / "contrast"  # sealed contrast sets: reported, never trained or tuned on

SPLIT_OF_SOURCE = {
    "advbench": "train",
    "ailuminate": "train",
    "gsm8k": "train",
    "harmbench": "val",
    "self_instruct_user": "val",
    "strongreject": "report",
    "self_instruct_seed": "report",
}
# ToxiGen is one source of 16 groups: whole groups are held out (a group's sentences share topics)
TOXIGEN_SPLIT = dict.fromkeys(("asian", "jewish", "latino", "women"), "val") | dict.fromkeys(
    ("black", "muslim", "native_american", "mental_disability"), "report"
)
GSM8K_CAP = 1000  # maths problems must not teach "maths = safe, an imperative = harmful"
CONTROL_SHARE = 0.5  # of text-only items, the share that also appears beside a control picture
CONTROL_KINDS = ("white", "black", "solid", "noise", "scene", "photo", "photo")  # photos twice as often
# Ordinary photographs that carry nothing: scikit-image's bundled samples (a `train` dependency) whose
# licence is CC0 or public domain, as its docstrings say (the card lists them). Training's items see crops
# of the first set; validation's and the report's see only the held-out three, so the report's figures
# beside photos are on photographs never trained on.
PHOTOS = {
    "train": (
        "brick.png",  # CC0 (CC0Textures)
        "camera.png",  # CC0, Lav Varshney
        "cell.png",  # CC0
        "chelsea.png",  # CC0, Stefan van der Walt
        "coins.png",  # no known copyright restrictions
        "grass.png",  # CC0 (CC0Textures)
        "gravel.png",  # CC0 (CC0Textures)
        "horse.png",  # CC0, Andreas Preuss
        "hubble_deep_field.jpg",  # public domain, NASA
        "ihc.png",  # no known copyright restrictions
        "retina.jpg",  # CC0 1.0
        "text.png",  # public domain
    ),
    "held-out": (
        "astronaut.png",  # public domain, NASA
        "coffee.png",  # CC0, Rachel Michetti
        "rocket.jpg",  # public domain, SpaceX
    ),
}


@dataclass(frozen=True)
class ControlImage:
    """A picture that carries nothing: white, black, one colour, noise, a harmless glyph scene, or a crop
    of an ordinary photograph (of PHOTOS[photos])."""

    kind: str
    seed: int
    photos: str = "train"

    def pixels(self, size: int) -> np.ndarray:
        """Render it as (size, size, 3) uint8."""
        rng = np.random.default_rng(self.seed)
        if self.kind == "photo":
            return photo_crop(PHOTOS[self.photos], rng, size)
        if self.kind == "white":
            return np.full((size, size, 3), 255, np.uint8)
        if self.kind == "black":
            return np.zeros((size, size, 3), np.uint8)
        if self.kind == "solid":
            return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (size, size, 3)).copy()
        if self.kind == "noise":
            return rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        glyphs = tuple(random.Random(self.seed).sample(sorted(HARMLESS), 2))
        return np.asarray(render_scene(Scene(glyphs, self.seed), size).convert("RGB"), dtype=np.uint8)


@functools.cache
def photo(name: str) -> Image.Image:
    """One of scikit-image's bundled sample photographs, as RGB."""
    try:
        folder = importlib.resources.files("skimage") / "data"
    except ModuleNotFoundError:
        raise RuntimeError("the photo controls need scikit-image (the `train` extra)") from None
    with (folder / name).open("rb") as file, Image.open(file) as img:
        return img.convert("RGB")


def photo_crop(names: Sequence[str], rng: np.random.Generator, size: int) -> np.ndarray:
    """A seeded square crop (40-100% of the shorter side) of one of the photos, maybe mirrored, its
    brightness within 20%, resized as the service resizes (bicubic): (size, size, 3) uint8."""
    img = photo(names[int(rng.integers(len(names)))])
    side = max(8, round(min(img.size) * rng.uniform(0.4, 1.0)))
    left, top = (int(rng.integers(0, extent - side + 1)) for extent in img.size)
    crop = img.crop((left, top, left + side, top + side))
    if rng.random() < 0.5:
        crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    resized = np.asarray(crop.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    return np.clip(resized * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)


def _hash_share(key: str, salt: str) -> float:
    return int(hashlib.sha256(f"{salt}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF


def split_of(item: LabelledItem) -> str | None:
    """Return the split a public item belongs to (None: left out), by its source and group."""
    if item.source == "toxigen":
        return TOXIGEN_SPLIT.get(item.group, "train")
    if item.source == "gsm8k":  # a seeded 1,000 of 7,473 (by hash, so the draw does not move)
        return "train" if _hash_share(item.id, "gsm8k") < GSM8K_CAP / 7473 else None
    return SPLIT_OF_SOURCE.get(item.source)


def public_items(root: Path) -> list[LabelledItem]:
    """Read the registered datasets under `root` and put each item in its split."""
    from model.datasets import load_items

    items = load_items(root)
    report_texts = {i.text for i in items if split_of(i) == "report"}
    placed = []
    for item in items:
        split = split_of(item)
        # AdvBench's prompts that StrongREJECT also holds stay out of training (StrongREJECT reports)
        if split is not None and not (split != "report" and item.text in report_texts):
            placed.append(replace(item, split=split))
    return placed


def read_texts(path: Path, source: str) -> list[LabelledItem]:
    """Read hand-written texts ({"text", "grade", "categories", "kind", ...} per line) as text-only items."""
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        row = json.loads(line)
        grade, categories = row.get("grade"), tuple(row.get("categories") or ())
        if (
            grade not in GRADES
            or not set(categories) <= set(CATEGORIES)
            or not str(row.get("text", "")).strip()
        ):
            raise ValueError(f"{path}: line {number}: needs text, a grade and known categories")
        text = row["text"].strip()
        items.append(
            LabelledItem(
                id=row.get("id") or hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:16],
                image=None,
                text=text,
                image_grade=None,
                text_grade=grade,
                joint_grade=grade,
                categories=categories if grade != "safe" else (),
                source=source,
                group=str(row.get("kind", "")),
            )
        )
    return items


def lookalike_items() -> list[LabelledItem]:
    """The hand-written training look-alikes, 1 in 5 (by hash) kept for validation."""
    items = [i for path in sorted(LOOKALIKES.glob("*.jsonl")) for i in read_texts(path, "lookalikes")]
    return [replace(i, split="val" if _hash_share(i.id, "lookalikes") < 0.2 else "train") for i in items]


def contrast_items() -> list[LabelledItem]:
    """The sealed contrast sets, for the report split only."""
    paths = sorted(CONTRAST.glob("*.jsonl"))
    return [replace(i, split="report") for p in paths for i in read_texts(p, f"contrast/{p.stem}")]


def long_texts(items: Sequence[LabelledItem], seed: int, count: int) -> list[LabelledItem]:
    """Long texts from training texts: harmless ones joined (safe), and a harm after harmless context.

    Windows read a long text a window at a time, so the model must see a harm at the end of a window
    of harmless context, and harmless text that is merely long.
    """
    rng = random.Random(seed)
    harmless = [i for i in items if i.text and i.joint_grade == "safe"]
    harmful = [i for i in items if i.text and i.joint_grade == "unsafe"]
    if len(harmless) < 8 or not harmful:
        return []
    made = []
    for n in range(count):
        context = " ".join(i.text or "" for i in rng.sample(harmless, rng.randint(3, 8)))
        if n % 2:
            made.append(replace(rng.choice(harmless), id=f"long-{seed}-{n}", text=context, source="long"))
        else:
            harm = rng.choice(harmful)
            made.append(replace(harm, id=f"long-{seed}-{n}", text=f"{context} {harm.text}", source="long"))
    return made


def with_controls(
    items: Iterable[LabelledItem], seed: int, share: float = CONTROL_SHARE
) -> list[LabelledItem]:
    """Return text-only items beside a control picture (a seeded share): the joint grade stays the text's."""
    rng = random.Random(seed)
    paired = []
    for item in items:
        if item.image is None and item.text is not None and rng.random() < share:
            photos = "train" if item.split == "train" else "held-out"
            control = ControlImage(rng.choice(CONTROL_KINDS), rng.randrange(2**31), photos)
            paired.append(replace(item, id=f"{item.id}+{control.kind}", image=control, image_grade="safe"))
    return paired
