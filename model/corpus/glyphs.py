"""Glyph images of the corpus vocabulary: regenerate once from the emoji font, load the shipped PNGs."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw, ImageFont

VOCABULARY_FILE = Path(__file__).parents[1] / "vocabulary.json"
GLYPH_DIR = Path(__file__).with_name("glyphs")
NOTO_EMOJI_FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
# Noto Color Emoji is a bitmap font: 109 px is the only strike size Pillow can load.
FONT_SIZE = 109
MAX_SIDE = 64

LICENSE_TEXT = """\
The PNG images in this folder were rendered from the Noto Color Emoji font
(https://github.com/googlefonts/noto-emoji) with Pillow, cropped and downscaled.

Copyright 2013 Google LLC

Licensed under the Apache License, Version 2.0 (the "License");
you may not use these files except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
"""


@cache
def vocabulary() -> dict[str, Any]:
    """Return the shipped vocabulary (model/vocabulary.json): categories and the corpus glyphs."""
    with VOCABULARY_FILE.open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def glyph_names() -> tuple[str, ...]:
    """Return the glyph names of the vocabulary, in file order."""
    return tuple(g["name"] for g in vocabulary()["glyphs"])


def _emoji_text(codepoints: list[str]) -> str:
    return "".join(chr(int(cp.removeprefix("U+"), 16)) for cp in codepoints)


def render_glyph(font: ImageFont.FreeTypeFont, text: str) -> Image.Image:
    """Render one emoji sequence to a tightly cropped RGBA image of at most MAX_SIDE px."""
    # A sequence the font cannot join (ZWJ, FE0F) advances further than its first codepoint alone.
    if font.getlength(text) > 1.1 * font.getlength(text[0]):
        raise ValueError(f"emoji {text!r} did not render as one glyph")
    canvas = Image.new("RGBA", (FONT_SIZE * 4, FONT_SIZE * 2), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((FONT_SIZE // 2, FONT_SIZE // 4), text, font=font, embedded_color=True)
    bbox = canvas.getbbox()
    if bbox is None:
        raise ValueError(f"emoji {text!r} rendered empty")
    glyph = canvas.crop(bbox)
    glyph.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return glyph


def check_glyph(name: str, glyph: Image.Image) -> None:
    """Raise if a glyph is not a real colour emoji (empty, tofu box, or split into several glyphs)."""
    rgba = np.asarray(glyph.convert("RGBA"), dtype=np.float32)
    opaque = rgba[..., 3] > 128
    if opaque.mean() < 0.15:
        raise ValueError(f"glyph {name!r} is nearly empty")
    rgb = rgba[..., :3][opaque]
    # Colour emoji have saturated pixels; a tofu box or monochrome fallback does not.
    saturation = rgb.max(axis=1) - rgb.min(axis=1)
    if float((saturation > 40).mean()) < 0.05 and float(rgb.std()) < 20:
        raise ValueError(f"glyph {name!r} looks monochrome (tofu?)")


def regenerate(font_path: str | Path = NOTO_EMOJI_FONT, out_dir: Path = GLYPH_DIR) -> list[Path]:
    """Render every vocabulary glyph from the emoji font into out_dir and write its LICENSE."""
    font = ImageFont.truetype(str(font_path), FONT_SIZE)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in vocabulary()["glyphs"]:
        glyph = render_glyph(font, _emoji_text(entry["codepoints"]))
        check_glyph(entry["name"], glyph)
        path = out_dir / f"{entry['name']}.png"
        glyph.save(path, optimize=True)
        written.append(path)
    (out_dir / "LICENSE").write_text(LICENSE_TEXT, encoding="utf-8")
    load_glyph.cache_clear()
    return written


@cache
def load_glyph(name: str) -> Image.Image:
    """Load the shipped RGBA image of one glyph (cached; do not mutate the result)."""
    path = GLYPH_DIR / f"{name}.png"
    if not path.is_file():
        raise KeyError(f"unknown glyph {name!r} (no {path.name})")
    with Image.open(path) as img:
        return img.convert("RGBA")


if __name__ == "__main__":
    for written_path in regenerate():
        print(written_path)
