"""Gallery fixtures: real images made or read for the tests."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image


@pytest.fixture(autouse=True)
def _no_face_scan(settings):  # type: ignore[no-untyped-def]
    # Face detection on upload has its own tests (tests/faces); here uploads stay on the style queue.
    settings.FACES_DETECT_ON_UPLOAD = False


def jpeg_with_gps(source: Path | None = None, size: tuple[int, int] = (320, 240), orientation: int = 1) -> bytes:
    """A JPEG carrying GPS coordinates, a camera model, a capture date and an orientation tag."""
    image = Image.open(source).convert("RGB") if source else Image.new("RGB", size, (200, 120, 40))
    if not source:
        for x in range(0, size[0], 16):
            image.paste((20, 90, 200), (x, 0, x + 8, size[1] // 2))
    exif = Image.Exif()
    exif[0x0110] = "SpyCam 3000"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[36867] = "2024:05:17 10:11:12"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 22.0, 1.0), "E", (4.0, 53.0, 2.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


@pytest.fixture
def content_jpeg(testdata: Path) -> bytes:
    return jpeg_with_gps(testdata / "style" / "content" / "tubingen.jpg")


@pytest.fixture
def style_jpeg(testdata: Path) -> bytes:
    return (testdata / "style" / "styles" / "starry_night.jpg").read_bytes()
