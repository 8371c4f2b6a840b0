"""Bad or unusual inputs to the style engines fail with ImageError (never a crash) or just work."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from ml.images import ImageError, open_image
from ml.style.arbitrary import ArbitraryStylizer
from ml.style.presets import PresetStylizer


@pytest.fixture(scope="module")
def presets() -> PresetStylizer:
    return PresetStylizer(device="cpu")


@pytest.fixture(scope="module")
def arbitrary() -> ArbitraryStylizer:
    return ArbitraryStylizer(device="cpu")


def _encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt)
    return buffer.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width``×``height`` but that carries almost no pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")
    )


def _gradient(mode: str) -> Image.Image:
    ramp = np.linspace(0, 255, 64 * 48, dtype=np.float32).reshape(48, 64).astype(np.uint8)
    rgb = Image.fromarray(np.stack([ramp, ramp[::-1], np.full_like(ramp, 90)], axis=-1), "RGB")
    if mode == "L":
        return rgb.convert("L")
    if mode == "RGBA":
        rgba = rgb.convert("RGBA")
        rgba.putalpha(Image.fromarray(ramp))
        return rgba
    if mode == "P":
        return rgb.quantize(16)
    return rgb


@pytest.mark.parametrize("mode", ["L", "RGBA", "P"])
def test_grey_transparent_and_palette_files_are_stylised_as_rgb(presets, mode):
    image = open_image(_encode(_gradient(mode)))
    assert image.mode == "RGB" and image.size == (64, 48)
    assert presets.stylize(image, {4: 1.0}).size == (64, 48)


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "I;16"])
def test_unusual_modes_passed_directly_to_the_engines_work(presets, arbitrary, mode):
    image = _gradient(mode) if mode != "I;16" else Image.new("I;16", (40, 40), 30000)
    assert presets.stylize(image, {4: 1.0}).mode == "RGB"
    assert arbitrary.stylize(image, _gradient("RGBA")).mode == "RGB"


def test_it_rejects_a_one_pixel_file():
    with pytest.raises(ImageError, match="too small"):
        open_image(_encode(Image.new("RGB", (1, 1))))


def test_engines_reject_a_one_pixel_image(presets, arbitrary):
    with pytest.raises(ImageError, match="too small"):
        presets.stylize(Image.new("RGB", (1, 1)), {0: 1.0})
    with pytest.raises(ImageError, match="too small"):
        arbitrary.stylize(Image.new("RGB", (1, 1)), _gradient("RGB"))


def test_it_rejects_a_header_claiming_20000_by_20000_before_decoding():
    with pytest.raises(ImageError, match="too large"):
        open_image(_png_header_claiming(20000, 20000))


@pytest.mark.parametrize(
    "data", [b"not an image at all", b"%PDF-1.4\n" + b"0" * 200, b"\x89PNG\r\n\x1a\n" + b"\x00" * 5, b""]
)
def test_it_rejects_bytes_that_are_not_an_image(data):
    with pytest.raises(ImageError):
        open_image(data)


def test_it_rejects_a_truncated_jpeg():
    data = _encode(_gradient("RGB").resize((256, 256)), "JPEG")
    with pytest.raises(ImageError):
        open_image(data[: len(data) // 2])


def test_engines_reject_things_that_are_not_images(presets):
    with pytest.raises(ImageError, match="PIL image"):
        presets.stylize(b"\x89PNG", {0: 1.0})  # type: ignore[arg-type]
