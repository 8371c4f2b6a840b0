"""Re-encoding strips every metadata segment: COM, XMP, APPn, ICC (colours kept by converting to sRGB)."""

from __future__ import annotations

import io
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms

from gallery.models import Photo

pytestmark = pytest.mark.django_db

SECRETS = (b"<script", b"John Doe", b"xap/1.0", b"Photoshop 3.0", b"ACME-SECRET")


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_with_every_segment() -> bytes:
    """A real JPEG with a comment (COM), XMP (APP1), a Photoshop IRB (APP13) and a vendor APP11 segment."""
    image = Image.new("RGB", (96, 64), (30, 140, 200))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, comment=b"<html><script>alert(1)</script> owner John Doe")
    data = buffer.getvalue()
    extra = (
        _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta><dc:creator>John Doe</dc:creator></x:xmpmeta>")
        + _segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x10ACME-SECRET-owner")
        + _segment(0xEB, b"JP\x00\x00ACME-SECRET vendor block")
    )
    return data[:2] + extra + data[2:]  # right after SOI, where cameras put them


def _stored_bytes(photo: Photo) -> list[bytes]:
    out = []
    for field in (photo.image, photo.thumbnail):
        with field.open("rb") as handle:
            out.append(handle.read())
    return out


def test_a_jpeg_comment_xmp_and_app_segments_never_reach_the_photo_or_its_thumbnail(user_api):
    data = jpeg_with_every_segment()
    assert all(secret in data for secret in SECRETS)  # the fixture really carries them
    response = user_api.post(
        "/api/v1/photos/", {"images": [SimpleUploadedFile("c.jpg", data, "image/jpeg")]}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    photo = Photo.objects.get()
    for stored in _stored_bytes(photo):
        for secret in SECRETS:
            assert secret not in stored
        image = Image.open(io.BytesIO(stored))
        assert "comment" not in image.info and "xmp" not in image.info and "icc_profile" not in image.info
        assert not [m for m in getattr(image, "applist", []) if m[0] not in ("APP0",)]


def test_a_non_srgb_icc_profile_is_converted_to_srgb_and_dropped(user_api):
    # A LAB-based profile that is not sRGB: the pixels must be converted, then the profile dropped.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB"))
    raw = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(raw, "PNG", icc_profile=profile.tobytes())
    response = user_api.post(
        "/api/v1/photos/", {"images": [SimpleUploadedFile("p.png", raw.getvalue(), "image/png")]}, format="multipart"
    )
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        photo = Photo.objects.get()
        for stored in _stored_bytes(photo):
            assert "icc_profile" not in Image.open(io.BytesIO(stored)).info


def test_an_srgb_png_with_text_chunks_is_stored_without_them(user_api):
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Author", "owner John Doe")
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>xap/1.0 John Doe</x:xmpmeta>")
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    raw = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 200, 30)).save(raw, "PNG", pnginfo=info, icc_profile=srgb)
    response = user_api.post(
        "/api/v1/photos/", {"images": [SimpleUploadedFile("p.png", raw.getvalue(), "image/png")]}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    for stored in _stored_bytes(Photo.objects.get()):
        assert b"John Doe" not in stored
        assert "icc_profile" not in Image.open(io.BytesIO(stored)).info
