"""Decoding, resizing, limits and tokenization of request content."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from service.errors import ImageTooLarge, InvalidImage, MissingInput, TextTooLong, UnsupportedImageFormat
from service.serving.bundle import Bundle
from service.serving.inputs import ALLOWED_FORMATS, Preprocessor, TextTokenizer, decode_image
from service.settings import Settings
from tests.service.bundle import MAX_TOKENS
from tests.service.images import encode, png_bomb, solid, truncated_jpeg

SIZE = 32


@pytest.mark.parametrize("fmt", ALLOWED_FORMATS)
def test_every_supported_format_decodes_to_uint8_hwc(fmt: str) -> None:
    pixels = decode_image(solid(200, fmt), SIZE, 10_000_000)
    assert pixels.shape == (SIZE, SIZE, 3) and pixels.dtype == np.uint8
    assert abs(float(pixels.mean()) - 200) < 3


def test_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (20, 20), (v, v, v)) for v in (255, 0)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert decode_image(data, SIZE, 10_000_000).mean() > 250


def test_a_camera_jpeg_with_more_pictures_mpo_decodes_its_first() -> None:
    frames = [Image.new("RGB", (640, 480), (v, v, v)) for v in (230, 10)]
    data = encode(frames[0], "MPO", save_all=True, append_images=frames[1:])
    assert data[:3] == b"\xff\xd8\xff"  # a JPEG to anyone who reads it as one (phones write these)
    assert decode_image(data, SIZE, 10_000_000).mean() > 220


def test_alpha_and_greyscale_become_rgb() -> None:
    for image in (Image.new("RGBA", (10, 10), (10, 20, 30, 0)), Image.new("L", (10, 10), 77)):
        assert decode_image(encode(image, "PNG"), SIZE, 10_000_000).shape == (SIZE, SIZE, 3)


def test_exif_orientation_is_applied() -> None:
    image = Image.new("RGB", (60, 20), (0, 0, 0))
    image.paste((255, 255, 255), (0, 0, 30, 20))  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display: the white half ends up on top
    pixels = decode_image(encode(image, "JPEG", exif=exif, quality=95), SIZE, 10_000_000)
    assert pixels[: SIZE // 2].mean() > 200 and pixels[SIZE // 2 :].mean() < 50


@pytest.mark.parametrize("name", ["corrupt_exif_struct_error.jpg", "corrupt_exif_type_error.jpg"])
def test_a_corrupt_exif_block_keeps_the_pixels_as_stored(name: str) -> None:
    # Found by fuzzing: Pillow's EXIF parser raised struct.error / TypeError, answered as a 500.
    data = (Path(__file__).parents[2] / "fixtures" / name).read_bytes()
    pixels = decode_image(data, SIZE, 10_000_000)
    with Image.open(Path(__file__).parents[2] / "fixtures" / name) as stored:
        expected = np.asarray(stored.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BICUBIC))
    assert pixels.shape == (SIZE, SIZE, 3) and np.abs(pixels.astype(int) - expected).mean() < 2


def test_large_jpeg_is_drafted_and_resized() -> None:
    pixels = decode_image(solid(128, "JPEG", (3000, 2000)), SIZE, 10_000_000)
    assert pixels.shape == (SIZE, SIZE, 3)


def test_unsupported_format_and_non_images_are_415_errors() -> None:
    with pytest.raises(UnsupportedImageFormat):
        decode_image(solid(10, "TIFF"), SIZE, 10_000_000)
    with pytest.raises(UnsupportedImageFormat):
        decode_image(b"this is plain text, not an image", SIZE, 10_000_000)


def test_truncated_and_empty_images_are_invalid() -> None:
    with pytest.raises(InvalidImage):
        decode_image(truncated_jpeg(), SIZE, 10_000_000)
    with pytest.raises(InvalidImage):
        decode_image(b"", SIZE, 10_000_000)


def test_decompression_bombs_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1_000_000)
    with pytest.raises(ImageTooLarge):
        decode_image(png_bomb(), SIZE, 1_000_000)  # far over: Pillow's own DecompressionBombError
    with pytest.raises(ImageTooLarge):
        decode_image(png_bomb(1100, 1000), SIZE, 1_000_000)  # just over: our check / Pillow's warning


def test_text_encoder_truncates_and_reports_it(test_bundle: Path) -> None:
    encoder = TextTokenizer(test_bundle / "tokenizer.json", MAX_TOKENS)
    ids, truncated = encoder.encode("hello world")
    assert not truncated and ids[0] == 2 and ids[-1] == 3 and ids.dtype == np.int64
    ids, truncated = encoder.encode("hello " * 100)
    assert truncated and len(ids) == MAX_TOKENS and ids[-1] == 3
    assert encoder.absent_ids().tolist() == [2, 3]


def test_preprocessor_limits_and_absent_modalities(test_bundle: Path) -> None:
    settings = Settings(model_dir=test_bundle, max_text_chars=100)
    prep = Preprocessor(Bundle.load(test_bundle), settings)
    item = prep.prepare(None, "hello")
    assert item.pixels is None and item.input_ids is not None and len(item.content_sha256) == 16
    item = prep.prepare(solid(0), None)
    assert item.input_ids is None and item.pixels is not None
    for blank in ("", " \n\t "):  # a blank text is no text, as an empty one
        with pytest.raises(MissingInput):
            prep.prepare(None, blank)
    assert prep.prepare(solid(0), "   ").input_ids is None
    with pytest.raises(TextTooLong):
        prep.prepare(None, "x" * 101)


def _strip(mode: str, height: int) -> bytes:
    """A 1-pixel-wide PNG strip: tiny compressed, `height` pixels decoded."""
    return encode(Image.new(mode, (1, height), 0 if mode == "L" else (0, 0, 0)), "PNG")


@pytest.mark.parametrize(
    ("mode", "height", "mib"),
    [("RGB", 30_000_000, 315), ("L", 39_000_000, 335)],  # 86 MiB of pixels; 37 MiB and 298 of lines
)
def test_an_image_that_would_take_too_much_memory_to_decode_is_refused_from_its_header(
    mode: str, height: int, mib: int
) -> None:
    from service.errors import ImageTooCostly, reply_for

    data = _strip(mode, height)  # inside the pixel limit
    with pytest.raises(ImageTooCostly) as caught:
        decode_image(data, SIZE, 40_000_000, max_decoded_bytes=64 * 2**20)
    reply = reply_for(caught.value)
    assert reply.status == 413 and reply.code == "image_too_costly" and f"{mib} MiB" in reply.message


def test_a_long_strip_within_the_budget_decodes_in_bounded_memory(tmp_path: Path) -> None:
    """1 x 7,000,000 pixels (60 MiB decoded, inside the budget): before its long side was reduced ahead of
    the resize, Pillow's resize alone took some 350 MB more. Measured in a fresh process (peak RSS)."""
    import subprocess
    import sys

    path = tmp_path / "strip.png"
    path.write_bytes(_strip("L", 7_000_000))
    script = (
        "import resource, sys\n"
        "from service.serving.inputs import decode_image\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "pixels = decode_image(data, 224, 40_000_000)\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(pixels.shape, (after - before) // 1024)\n"
    )
    command = [sys.executable, "-c", script, str(path)]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    shape, grown_mb = out.stdout.rsplit(" ", 1)
    assert shape == "(224, 224, 3)" and int(grown_mb) < 150, out.stdout


def test_a_picture_up_to_the_resized_side_resizes_exactly_as_training_loads_it() -> None:
    from service.serving.inputs import MAX_RESIZED_SIDE

    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 255, (300, MAX_RESIZED_SIDE, 3), dtype=np.uint8))
    expected = np.asarray(picture.resize((SIZE, SIZE), Image.Resampling.BICUBIC))
    assert np.array_equal(decode_image(encode(picture, "PNG"), SIZE, 40_000_000), expected)
