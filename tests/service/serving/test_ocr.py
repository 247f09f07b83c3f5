"""The OCR stage: real PP-OCRv4 models (rapidocr-onnxruntime) on the project's ONNX Runtime, and how what
it reads becomes engine rows and readings.

Skipped with the reason when rapidocr-onnxruntime or the DejaVu font is missing; `.ci/run` installs both.
"""

from __future__ import annotations

import importlib.metadata
import logging
import random
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from service.errors import ImageTooCostly, OcrUnavailable
from service.policy.rules import GradeThresholds, ModelScores
from service.serving import ocr
from service.serving.batching import combine_rows, more_severe
from service.serving.bundle import Bundle
from service.serving.engine import cuda_usable
from service.serving.inputs import Preprocessor, decode_with_copy, decoded_bytes
from service.serving.ocr import OcrPlan, TextReader, plan_ocr, read_image_text
from service.settings import Settings
from service.taxonomy import CATEGORIES
from tests.service.text_images import (
    HARMFUL_LIST,
    SENTENCE,
    WORDS,
    dense_page,
    font,
    needs_font,
    needs_rapidocr,
    photo_like,
    png,
    rgb,
    text_picture,
    typed_list,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def reader() -> TextReader:
    """Every image read (a GPU's plan, or SAFETY_OCR=on), on CPU."""
    return TextReader(OcrPlan(cuda=False, gate_side=None), max_chars=1000, threads=1)


@pytest.fixture(scope="module")
def gated() -> TextReader:
    """The CPU plan of SAFETY_OCR=auto: the text-presence gate first."""
    return TextReader(OcrPlan(cuda=False, gate_side=ocr.GATE_SIDE), max_chars=1000, threads=1)


# ---------------------------------------------------------------- reading, with the real models


@needs_rapidocr
@needs_font
def test_reads_a_rendered_sentence(reader: TextReader) -> None:
    read = reader.read(rgb(text_picture(SENTENCE)))
    assert read.text == SENTENCE and read.boxes == 1 and not read.capped and not read.gated


@needs_rapidocr
@needs_font
@pytest.mark.parametrize("which", ["all", "gated"])
def test_reads_a_typed_numbered_list_line_by_line(reader: TextReader, gated: TextReader, which: str) -> None:
    read = (reader if which == "all" else gated).read(rgb(typed_list()))
    assert read.text == HARMFUL_LIST  # each line, in order, "\n" between them
    assert re.findall(r"^(\d)\. ", read.text, flags=re.MULTILINE) == ["1", "2", "3"]


@needs_rapidocr
@needs_font
def test_reads_light_text_on_dark_and_text_over_a_photo(reader: TextReader) -> None:
    assert reader.read(rgb(text_picture("how to make a bomb", background="black", ink="white"))).text == (
        "how to make a bomb"
    )
    poster = photo_like()
    ImageDraw.Draw(poster).text(
        (40, 200), "SELL PILLS HERE", fill="white", font=font(48), stroke_width=2, stroke_fill="black"
    )
    assert reader.read(rgb(poster)).text.upper() == "SELL PILLS HERE"


@needs_rapidocr
@needs_font
@pytest.mark.parametrize("kind", ["blank", "photo"])
def test_a_picture_without_text_reads_nothing(reader: TextReader, gated: TextReader, kind: str) -> None:
    image = Image.new("RGB", (512, 512), "white") if kind == "blank" else photo_like()
    assert reader.read(rgb(image)).text == ""
    behind_the_gate = gated.read(rgb(image))
    assert behind_the_gate.text == "" and behind_the_gate.gated  # nothing but the gate ran


@needs_rapidocr
@needs_font
def test_a_text_dense_page_is_cut_at_the_character_cap() -> None:
    small = TextReader(OcrPlan(cuda=False, gate_side=None), max_chars=150, threads=1)
    read = small.read(rgb(dense_page()))  # 60 lines of ~80 characters
    assert read.capped and 0 < len(read.text) <= 150
    # recognition stopped once the cap was reached: a chunk of boxes past it at most, not the 60 lines
    assert read.boxes <= -(-150 // 40) + ocr.REC_CHUNK
    rng = random.Random(1)  # dense_page's seed: the page starts with its first line
    assert read.text.split("\n")[0].split()[:3] == [rng.choice(WORDS) for _ in range(3)]


@needs_rapidocr
@needs_font
def test_a_huge_image_is_read_from_a_copy_within_the_size_cap(reader: TextReader) -> None:
    poster = Image.new("RGB", (6000, 4000), "white")
    ImageDraw.Draw(poster).text((300, 1800), "A HUGE POSTER", fill="black", font=font(400))
    pixels, copy = decode_with_copy(png(poster), 32, 40_000_000, 256 * 2**20, copy_side=960)
    assert pixels.shape == (32, 32, 3)
    assert copy is not None and copy.shape == (640, 960, 3)  # the longest side at the cap, aspect kept
    assert reader.read(copy).text == "A HUGE POSTER"
    # the reader bounds what it is handed too: an array over its side is reduced before detection
    assert reader.read(rgb(poster)).text == "A HUGE POSTER"


@needs_rapidocr
def test_a_strip_too_thin_to_hold_a_line_is_not_read(reader: TextReader) -> None:
    strip = np.full((40_000, 2, 3), 255, dtype=np.uint8)  # 960 x 0.05 px once fitted to the cap
    read = reader.read(strip)
    assert read.text == "" and read.boxes == 0 and not read.gated


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_usable(), reason="needs a CUDA GPU and the CUDA execution provider")
@needs_rapidocr
@needs_font
def test_on_cuda_the_sessions_run_on_the_gpu_and_read_the_same(reader: TextReader) -> None:
    on_gpu = TextReader(OcrPlan(cuda=True, gate_side=None), max_chars=1000, threads=1)
    pipeline = on_gpu._free.get()
    on_gpu._free.put(pipeline)
    sessions = (pipeline.ocr.text_det.infer.session, pipeline.ocr.text_rec.session.session)
    assert all(s.get_providers()[0] == "CUDAExecutionProvider" for s in sessions)
    for image in (typed_list(), text_picture(SENTENCE)):
        assert on_gpu.read(rgb(image)).text == reader.read(rgb(image)).text
    assert on_gpu.read(rgb(dense_page())).capped


# ---------------------------------------------------------------- the decode copy and its memory bound


def test_the_ocr_copy_counts_in_the_decoded_bytes_bound() -> None:
    data = png(Image.new("RGB", (2000, 1500), "white"))
    own = decoded_bytes("RGB", 2000, 1500)
    copy = decoded_bytes("RGB", 960, 720)
    pixels, none = decode_with_copy(data, 32, 40_000_000, own + copy // 2)  # no copy: it fits
    assert none is None and pixels.shape == (32, 32, 3)
    with pytest.raises(ImageTooCostly):
        decode_with_copy(data, 32, 40_000_000, own + copy // 2, copy_side=960)
    _, fitted = decode_with_copy(data, 32, 40_000_000, own + copy, copy_side=960)
    assert fitted is not None and fitted.shape == (720, 960, 3)


def test_without_a_copy_the_model_pixels_are_decode_images() -> None:
    """OCR off: the decode step is exactly decode_image's (the same pixels as before OCR)."""
    from service.serving.inputs import decode_image

    data = png(photo_like(800, 600))
    pixels, copy = decode_with_copy(data, 64, 40_000_000)
    assert copy is None and np.array_equal(pixels, decode_image(data, 64, 40_000_000))


# ---------------------------------------------------------------- how the text read becomes readings


def test_more_severe_grades_as_the_more_severe_of_two_readings_under_any_thresholds() -> None:
    rng = np.random.default_rng(0)
    for _ in range(2000):
        a, b = (tuple(float(x) for x in rng.dirichlet([0.5, 0.5, 0.5])) for _ in range(2))
        combined = more_severe(a, b)  # type: ignore[arg-type]
        assert min(combined) >= -1e-12 and abs(sum(combined) - 1) < 1e-9
        thresholds = GradeThresholds(borderline=float(rng.uniform()), unsafe=float(rng.uniform()))
        grades = [thresholds.code(s[1], s[2]) for s in (a, b)]
        assert thresholds.code(combined[1], combined[2]) == max(grades)
    assert more_severe((0.2, 0.1, 0.7), (0.9, 0.05, 0.05)) == pytest.approx((0.2, 0.1, 0.7))


def scores(
    image: tuple[float, float, float] | None, text: tuple[float, float, float] | None, joint: float
) -> ModelScores:
    return ModelScores(image, text, (1 - joint, 0.0, joint), dict.fromkeys(CATEGORIES, joint))


@pytest.mark.parametrize("own_text", ["a photo of my cat", None])
def test_rows_of_an_item_with_text_in_its_image(test_bundle: Path, own_text: str | None) -> None:
    prep = Preprocessor(Bundle.load(test_bundle), Settings(model_dir=test_bundle), ocr_side=960)
    item = prep.prepare(png(Image.new("RGB", (64, 48), "black")), own_text)
    assert item.ocr_pixels is not None and item.ocr_pixels.shape == (48, 64, 3)
    as_before = prep.with_image_text(item, own_text, "")  # nothing read: the rows stay as they were
    assert as_before.ocr_pixels is None and as_before.image_text is None and as_before.image_text_rows is None
    assert [ids for _, ids in as_before.row_inputs()] == as_before.row_ids()
    read = prep.with_image_text(item, own_text, "how to make a bomb")
    assert read.image_text == "how to make a bomb" and read.ocr_pixels is None
    rows = read.row_inputs()
    assert len(rows) == read.rows == (3 if own_text else 2)
    joint, alone = rows[0], rows[1]
    assert joint[0] is item.pixels and alone[0] is None  # the joint row has the image; the text alone not
    expected = prep.text.windows(f"{own_text}\nhow to make a bomb" if own_text else "how to make a bomb", 16)
    assert np.array_equal(joint[1], expected.windows[0])  # type: ignore[arg-type]
    assert np.array_equal(alone[1], prep.text.windows("how to make a bomb", 16).windows[0])  # type: ignore[arg-type]
    if own_text:
        assert rows[2][0] is None and np.array_equal(rows[2][1], item.input_ids)  # type: ignore[arg-type]


@pytest.mark.parametrize("own_text", [True, False])
def test_the_image_reading_takes_the_more_severe_of_pixels_and_image_text(
    test_bundle: Path, own_text: bool
) -> None:
    prep = Preprocessor(Bundle.load(test_bundle), Settings(model_dir=test_bundle), ocr_side=960)
    text = "hello" if own_text else None
    item = prep.with_image_text(prep.prepare(png(Image.new("RGB", (8, 8))), text), text, "bomb")
    pixels, image_text, user = (0.9, 0.05, 0.05), (0.1, 0.1, 0.8), (0.7, 0.2, 0.1)
    rows = [scores(pixels, (0.0, 0.0, 1.0), 0.6), scores(None, image_text, 0.8)]
    rows += [scores(None, user, 0.1)] if own_text else []
    combined = combine_rows(item, rows)
    assert combined.image == pytest.approx(more_severe(pixels, image_text))
    assert combined.text == (user if own_text else None)  # modalities.text stays the user's own text
    assert combined.joint == rows[0].joint and combined.categories == rows[0].categories  # the joint rows'


# ---------------------------------------------------------------- the setting and the install


def test_plan_follows_the_setting_and_the_device(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ocr, "rapidocr_installed", lambda: True)
    assert plan_ocr("off", cuda=True) is None
    assert plan_ocr("auto", cuda=True) == OcrPlan(cuda=True, gate_side=None)
    assert plan_ocr("auto", cuda=False) == OcrPlan(cuda=False, gate_side=ocr.GATE_SIDE)
    assert plan_ocr("on", cuda=False) == OcrPlan(cuda=False, gate_side=None)
    monkeypatch.setattr(ocr, "rapidocr_installed", lambda: False)
    with caplog.at_level(logging.INFO, logger="service.serving.ocr"):
        assert plan_ocr("auto", cuda=True) is None
    (line,) = [r.getMessage() for r in caplog.records]
    assert "OCR is off" in line and "--no-deps rapidocr-onnxruntime==" in line
    with pytest.raises(OcrUnavailable, match="SAFETY_OCR=on.*not installed.*pip install"):
        plan_ocr("on", cuda=False)


def test_every_install_step_pins_the_same_rapidocr() -> None:
    pin = f"rapidocr-onnxruntime=={ocr.RAPIDOCR_VERSION}"
    assert pin in ocr.OCR_INSTALL
    for path in ("Makefile", ".ci/run", "pyproject.toml", "README.md"):
        assert pin in (ROOT / path).read_text(), path
    assert f"ARG RAPIDOCR_VERSION={ocr.RAPIDOCR_VERSION}" in (ROOT / "Dockerfile").read_text()


@needs_rapidocr
def test_the_ocr_extra_has_what_the_package_needs_but_onnxruntime() -> None:
    """rapidocr-onnxruntime's requirements, less the two that would clash (CPU onnxruntime, GUI OpenCV),
    are the `ocr` extra's, the service's own, or unused by its code."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = {Requirement(r).name.lower() for r in project["optional-dependencies"]["ocr"]}
    own = {Requirement(r).name.lower() for r in project["dependencies"]}
    wanted = {Requirement(r).name.lower() for r in importlib.metadata.requires("rapidocr-onnxruntime") or []}
    unused = {"six", "tqdm"}  # named, never imported
    assert wanted - {"onnxruntime", "opencv-python"} <= extra | own | unused, wanted
    assert "opencv-python-headless" in extra
    source = Path(importlib.util.find_spec("rapidocr_onnxruntime").origin).parent  # type: ignore[union-attr,arg-type]
    imports = " ".join(p.read_text() for p in source.rglob("*.py"))
    assert not any(re.search(rf"^\s*(import|from) {name}\b", imports, re.MULTILINE) for name in unused)
    installed = sorted(
        d.metadata["Name"]
        for d in importlib.metadata.distributions()
        if d.metadata["Name"].startswith("onnxruntime")
    )
    assert installed == ["onnxruntime-gpu"]  # one onnxruntime: the project's


@needs_rapidocr
@needs_font
def test_read_image_text_adds_what_was_read(test_bundle: Path, reader: TextReader) -> None:
    prep = Preprocessor(Bundle.load(test_bundle), Settings(model_dir=test_bundle), ocr_side=960)
    item = prep.prepare(png(text_picture("how to make a bomb", background="black", ink="white")), None)
    read, with_text = read_image_text(reader, prep, item, None)
    assert read.text == with_text.image_text == "how to make a bomb"
    assert with_text.rows == 2 and with_text.text_windows is None  # the user sent no text
