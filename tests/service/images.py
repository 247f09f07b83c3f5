"""Image bytes for tests: every supported format, and the bad ones."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """Encode a Pillow image in a format."""
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **params)
    return buffer.getvalue()


def solid(value: int, fmt: str = "PNG", size: tuple[int, int] = (40, 30)) -> bytes:
    """A single-colour grey image (value 0 black .. 255 white)."""
    return encode(Image.new("RGB", size, (value, value, value)), fmt)


def noise_png(side: int) -> bytes:
    """A side x side PNG of grey noise: about 1 byte per pixel, it barely compresses."""
    return encode(Image.effect_noise((side, side), 64).convert("RGB"), "PNG")


def truncated_jpeg() -> bytes:
    """A JPEG cut in half: the header parses, the pixels do not."""
    noisy = Image.effect_noise((256, 256), 64).convert("RGB")
    data = encode(noisy, "JPEG", quality=95)
    return data[: len(data) // 2]


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header declares width x height pixels (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )
