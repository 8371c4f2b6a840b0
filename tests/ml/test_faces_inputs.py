"""Bad and unusual inputs on the way into face detection: clear ImageError, or correct handling."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ml.faces.detect import FaceDetector
from ml.images import ImageError, open_image

PORTRAIT = "face_recognition__kit_with_rose.jpg"  # two faces


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector(device="cpu")


@pytest.fixture(scope="module")
def portrait_bytes(testdata: Path) -> bytes:
    return (testdata / "faces_group" / PORTRAIT).read_bytes()


def test_it_rejects_bytes_that_are_not_an_image():
    with pytest.raises(ImageError, match="not a readable image"):
        open_image(b"%PDF-1.4 definitely not a photo" * 10)


def test_it_rejects_a_truncated_jpeg(portrait_bytes):
    with pytest.raises(ImageError, match="damaged or truncated"):
        open_image(portrait_bytes[: len(portrait_bytes) // 2])


def test_it_rejects_a_one_pixel_image():
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buffer, "PNG")
    with pytest.raises(ImageError, match="too small"):
        open_image(buffer.getvalue())


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width×height but carries one tiny compressed row: decoding it
    would allocate gigabytes, so it must be refused from the header alone."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0")) + chunk(b"IEND", b"")


def test_it_refuses_enormous_dimensions_before_decoding():
    with pytest.raises(ImageError, match="too large"):
        open_image(_png_header_only(100_000, 100_000))


def test_a_cmyk_jpeg_is_converted_and_its_faces_found(detector, portrait_bytes):
    cmyk = Image.open(io.BytesIO(portrait_bytes)).convert("CMYK")
    buffer = io.BytesIO()
    cmyk.save(buffer, "JPEG", quality=95)
    image = open_image(buffer.getvalue())
    assert image.mode == "RGB"
    assert len(detector.detect(image)) == 2


def test_a_16_bit_png_is_converted_and_its_faces_found(detector, portrait_bytes):
    grey = np.asarray(Image.open(io.BytesIO(portrait_bytes)).convert("L"), dtype=np.uint16) * 257  # full 16-bit range
    buffer = io.BytesIO()
    Image.fromarray(grey).save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode.startswith("I")
    image = open_image(buffer.getvalue())
    assert image.mode == "RGB"
    # 16-bit values were scaled down to 8 bits, not clipped to white.
    assert 40 < np.asarray(image).mean() < 215
    assert len(detector.detect(image)) == 2


def test_a_png_with_alpha_is_flattened_and_its_faces_found(detector, testdata):
    pngs = sorted((testdata / "faces").glob("*/*.png"))
    assert pngs, "the test data promises two PNGs with alpha"
    for path in pngs:
        image = open_image(path)
        assert image.mode == "RGB"
        assert len(detector.detect(image)) >= 1


def test_a_huge_but_allowed_photo_is_detected_after_downscaling(detector, testdata):
    image = open_image(testdata / "faces_group" / "face_recognition__two_people.jpg")
    huge = image.resize((image.width * 5, image.height * 5))  # 5630×3305, 18.6 MP
    faces = detector.detect(huge)
    assert len(faces) == 2
    assert all(f.box[2] <= huge.width and f.box[3] <= huge.height for f in faces)
    assert min(f.width for f in faces) > 400  # in the big image's pixels, not the detector's
