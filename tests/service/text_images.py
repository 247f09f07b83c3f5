"""Pictures with text in them for the OCR tests (loadtests/pictures.py draws them), and the skips.

DejaVu comes from Debian's fonts-dejavu-core (.ci/run installs it); without it, or without
rapidocr-onnxruntime, the OCR tests skip with the reason.
"""

from __future__ import annotations

import importlib.util

import pytest

from loadtests.pictures import (
    EMPTY_LIST,
    FONT,
    HARMFUL_LIST,
    HARMLESS_PROMPT,
    SENTENCE,
    WORDS,
    dense_page,
    font,
    photo_like,
    png,
    rgb,
    text_picture,
    typed_list,
)

__all__ = [
    "EMPTY_LIST",
    "HARMFUL_LIST",
    "HARMLESS_PROMPT",
    "SENTENCE",
    "WORDS",
    "dense_page",
    "font",
    "needs_font",
    "needs_rapidocr",
    "photo_like",
    "png",
    "rgb",
    "text_picture",
    "typed_list",
]

needs_font = pytest.mark.skipif(not FONT.is_file(), reason=f"no {FONT} (apt-get install fonts-dejavu-core)")
needs_rapidocr = pytest.mark.skipif(
    importlib.util.find_spec("rapidocr_onnxruntime") is None,
    reason="rapidocr-onnxruntime is not installed (pip install '.[ocr]' && pip install --no-deps "
    "rapidocr-onnxruntime==1.4.4)",
)
