"""Scenes: 1-3 glyphs on a background, their rendering, and their image-alone grade."""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from model.corpus.glyphs import load_glyph, vocabulary
from model.corpus.roles import (
    ADULTS,
    ANIMALS,
    BLADES,
    CHILDREN,
    CROWDED_PLACES,
    INTOXICANTS,
    MILITARY,
    SEXUAL_INNUENDO,
    STRIKING_WEAPONS,
    WORSHIP,
    Clause,
    Reading,
    fold,
)


@dataclass(frozen=True)
class Scene:
    """What an image shows: glyph names (drawn in order) and the seed of its layout and background."""

    glyphs: tuple[str, ...]
    seed: int


# Glyphs that are borderline even alone, and the category that makes them so.
BORDERLINE_GLYPHS: dict[str, tuple[str, ...]] = {
    "dagger": ("weapons",),
    "bomb": ("weapons",),
    "drop_of_blood": ("gore",),
    "skull": ("gore",),
    "middle_finger": ("hate_speech",),
}

UNSAFE_GLYPHS: dict[str, list[str]] = {
    g["name"]: g["categories"] for g in vocabulary()["glyphs"] if g["grade_alone"] == "unsafe"
}
# The shipped vocabulary and this table must agree on which glyphs are borderline alone.
assert {g["name"] for g in vocabulary()["glyphs"] if g["grade_alone"] == "borderline"} == set(
    BORDERLINE_GLYPHS
)

# Combinations that are unsafe or borderline as a picture, whatever text goes with them.
SCENE_RULES: tuple[Clause, ...] = (
    Clause("blade_and_blood", (BLADES, {"drop_of_blood"}), "unsafe", ("gore", "interpersonal_violence")),
    Clause(
        "hurt_animal",
        (ANIMALS, BLADES | STRIKING_WEAPONS | {"bow_and_arrow"}, {"drop_of_blood"}),
        "unsafe",
        ("animal_violence", "gore"),
    ),
    Clause("bomb_at_crowd", ({"bomb"}, CROWDED_PLACES), "unsafe", ("terrorism", "weapons")),
    Clause("skull_and_blood", ({"skull"}, {"drop_of_blood"}), "unsafe", ("gore",)),
    Clause(
        "insult_faith_or_disability",
        ({"middle_finger"}, WORSHIP | {"woman_with_headscarf", "person_in_wheelchair"}),
        "unsafe",
        ("hate_speech",),
    ),
    Clause("burning_worship", ({"fire"}, WORSHIP), "unsafe", ("terrorism", "hate_speech")),
    Clause("chained_child", ({"chains"}, CHILDREN), "unsafe", ("human_exploitation",)),
    Clause(
        "child_in_innuendo",
        (CHILDREN, SEXUAL_INNUENDO, {"bed", "camera"}),
        "unsafe",
        ("sexual_explicit", "human_exploitation"),
    ),
    Clause(
        "strike_on_homes",
        ({"rocket", "military_helmet"}, {"fire"}, {"house", "school", "hospital"}),
        "unsafe",
        ("warfare",),
    ),
    Clause("chained_adult", ({"chains"}, ADULTS), "borderline", ("human_exploitation",)),
    Clause("syringe_and_child", ({"syringe"}, CHILDREN), "borderline", ("drug_abuse",)),
    Clause("rope_at_bridge", ({"rope_knot"}, {"bridge"}), "borderline", ("self_harm",)),
    Clause(
        "overdose_symbol",
        ({"pill", "syringe"}, {"skull", "coffin"}),
        "borderline",
        ("drug_abuse", "self_harm"),
    ),
    Clause("child_with_intoxicant", (CHILDREN, INTOXICANTS), "borderline", ("drug_abuse",)),
    Clause("war_dead", (MILITARY, {"skull", "coffin"}), "borderline", ("warfare",)),
    Clause("innuendo_in_bed", (SEXUAL_INNUENDO | {"bikini"}, {"bed"}), "borderline", ("sexual_racy",)),
)


def image_grade(glyphs: tuple[str, ...] | frozenset[str]) -> tuple[str, tuple[str, ...]]:
    """Return the image-alone grade and categories of a scene showing these glyphs."""
    present = frozenset(glyphs)
    readings = [Reading("borderline", BORDERLINE_GLYPHS[g]) for g in present if g in BORDERLINE_GLYPHS]
    # No glyph is unsafe alone today; keep the vocabulary authoritative if one ever is.
    readings += [Reading("unsafe", tuple(UNSAFE_GLYPHS[g])) for g in present if g in UNSAFE_GLYPHS]
    readings += [Reading(rule.grade, rule.categories) for rule in SCENE_RULES if rule.matches(present)]
    reading = fold(readings)
    return reading.grade, reading.categories


# ---------------------------------------------------------------- rendering


def render_scene(scene: Scene, size: int = 96) -> Image.Image:
    """Render a scene to an RGB image of size x size; the same scene always gives the same pixels."""
    rng = random.Random(scene.seed)
    np_rng = np.random.default_rng(scene.seed)
    canvas = _background(rng, np_rng, size).convert("RGBA")
    boxes: list[tuple[float, float, float, float]] = []
    # Several glyphs share the frame, so each gets a smaller share of it.
    max_frac = (0.55, 0.45, 0.38)[min(len(scene.glyphs), 3) - 1]
    for name in scene.glyphs:
        glyph = _transform_glyph(load_glyph(name), rng, size, max_frac)
        x, y = _place(glyph.size, boxes, rng, size)
        boxes.append((x, y, x + glyph.width, y + glyph.height))
        canvas.alpha_composite(glyph, (x, y))
    image = canvas.convert("RGB")
    if rng.random() < 0.3:
        image = image.filter(ImageFilter.GaussianBlur(radius=rng.uniform(0.3, 1.2) * size / 96))
    return _jpeg_roundtrip(image, rng.randint(40, 95))


def _transform_glyph(glyph: Image.Image, rng: random.Random, size: int, max_frac: float) -> Image.Image:
    target = rng.uniform(0.28, max_frac) * size
    scale = target / max(glyph.size)
    resized = glyph.resize(
        (max(1, round(glyph.width * scale)), max(1, round(glyph.height * scale))), Image.Resampling.BICUBIC
    )
    if rng.random() < 0.5:
        resized = resized.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return resized.rotate(rng.uniform(-25.0, 25.0), resample=Image.Resampling.BICUBIC, expand=True)


def _place(
    glyph_size: tuple[int, int], boxes: list[tuple[float, float, float, float]], rng: random.Random, size: int
) -> tuple[int, int]:
    """Pick a position that keeps the glyph in frame and overlaps earlier glyphs the least."""
    width, height = glyph_size
    best: tuple[float, int, int] = (math.inf, 0, 0)
    for _ in range(24):
        x = rng.randint(0, max(0, size - width))
        y = rng.randint(0, max(0, size - height))
        overlap = sum(_overlap_area((x, y, x + width, y + height), box) for box in boxes)
        if overlap < best[0]:
            best = (overlap, x, y)
        if overlap == 0:
            break
    return best[1], best[2]


def _overlap_area(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, width) * max(0.0, height)


def _random_colour(rng: random.Random, light: bool | None = None) -> tuple[int, int, int]:
    low, high = {None: (0, 255), True: (150, 255), False: (0, 120)}[light]
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _background(rng: random.Random, np_rng: np.random.Generator, size: int) -> Image.Image:
    kind = rng.choice(("solid", "gradient", "noise", "stripes", "checks", "dots"))
    first, second = _random_colour(rng), _random_colour(rng)
    if kind == "solid":
        return Image.new("RGB", (size, size), first)
    if kind == "gradient":
        angle = rng.uniform(0, 2 * math.pi)
        ys, xs = np.mgrid[0:size, 0:size] / max(1, size - 1)
        t = xs * math.cos(angle) + ys * math.sin(angle)
        t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
        pixels = np.array(first) * (1 - t[..., None]) + np.array(second) * t[..., None]
        return Image.fromarray(pixels.astype(np.uint8), "RGB")
    if kind == "noise":
        # Low-resolution noise upscaled: blotches rather than per-pixel static.
        cells = rng.randint(4, 24)
        noise = np_rng.integers(0, 256, size=(cells, cells, 3), dtype=np.uint8)
        blotchy = Image.fromarray(noise, "RGB").resize((size, size), Image.Resampling.BICUBIC)
        return Image.blend(Image.new("RGB", (size, size), first), blotchy, rng.uniform(0.15, 0.5))
    image = Image.new("RGB", (size, size), first)
    draw = ImageDraw.Draw(image)
    step = rng.randint(max(4, size // 16), max(6, size // 5))
    if kind == "stripes":
        diagonal = rng.random() < 0.5
        for offset in range(-size, 2 * size, step * 2):
            if diagonal:
                draw.polygon(
                    [(offset, 0), (offset + step, 0), (offset + step + size, size), (offset + size, size)],
                    second,
                )
            else:
                draw.rectangle((0, offset, size, offset + step - 1), second)
    elif kind == "checks":
        for row in range(0, size, step):
            for col in range(0, size, step):
                if (row // step + col // step) % 2:
                    draw.rectangle((col, row, col + step - 1, row + step - 1), second)
    else:
        radius = max(1, step // 4)
        for row in range(step // 2, size, step):
            for col in range(step // 2, size, step):
                draw.ellipse((col - radius, row - radius, col + radius, row + radius), second)
    return image


def _jpeg_roundtrip(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB")
