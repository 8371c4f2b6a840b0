"""Uploads: only real JPEG/PNG/WebP get in, nothing half-saved, no metadata served."""

from __future__ import annotations

import io
import re
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery.models import Photo
from tests.gallery.conftest import jpeg_with_gps

pytestmark = pytest.mark.django_db


def upload(client, *files: SimpleUploadedFile, field: str = "images"):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/photos/", {field: list(files)}, format="multipart")


def media_files(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_an_upload_is_stored_upright_without_any_exif(user_api, settings):
    data = jpeg_with_gps(size=(320, 240), orientation=6)  # 6: rotate 90° clockwise to view
    response = upload(user_api, SimpleUploadedFile("holiday.jpg", data, "image/jpeg"))
    assert response.status_code == 201, response.json()
    item = response.json()[0]
    assert item["duplicate"] is False
    photo = Photo.objects.get(pk=item["photo"]["id"])
    assert (photo.width, photo.height) == (240, 320)
    assert photo.taken_at is not None and photo.taken_at.year == 2024
    served = user_api.get(item["photo"]["image_url"])
    body = b"".join(served.streaming_content)
    image = Image.open(io.BytesIO(body))
    assert image.size == (240, 320)
    assert len(image.getexif()) == 0
    assert b"SpyCam" not in body and b"GPS" not in body
    thumb = b"".join(user_api.get(item["photo"]["thumbnail_url"]).streaming_content)
    assert len(Image.open(io.BytesIO(thumb)).getexif()) == 0


def test_several_photos_upload_at_once_and_duplicates_are_recognised(user_api, content_jpeg):
    first = SimpleUploadedFile("a.jpg", content_jpeg, "image/jpeg")
    png = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(png, "PNG")
    second = SimpleUploadedFile("b.png", png.getvalue(), "image/png")
    response = upload(user_api, first, second)
    assert response.status_code == 201
    assert [r["duplicate"] for r in response.json()] == [False, False]
    again = upload(user_api, SimpleUploadedFile("same.jpg", content_jpeg, "image/jpeg"))
    assert again.status_code == 200
    assert again.json()[0]["duplicate"] is True
    assert Photo.objects.count() == 2


def _bomb() -> bytes:
    """A small PNG whose header claims 20000×20000 pixels (400 MP)."""
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = (20000).to_bytes(4, "big") * 2  # IHDR width/height
    crc = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    data[29:33] = crc
    return bytes(data)


BAD_FILES = {
    "a text file named .jpg": (
        "notes.jpg",
        b"this is just text, not a photo\n" * 10,
        "image/jpeg",
        "not a readable image",
    ),
    "a PDF sent as image/jpeg": (
        "scan.jpg",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        "image/jpeg",
        "not a readable image",
    ),
    "a decompression bomb": ("bomb.png", _bomb(), "image/png", "too large"),
    "zero bytes": ("empty.jpg", b"", "image/jpeg", "empty"),
}


@pytest.mark.parametrize("case", list(BAD_FILES), ids=list(BAD_FILES))
def test_bad_files_get_a_clear_400_and_nothing_is_stored(user_api, settings, queues, case):
    name, data, content_type, phrase = BAD_FILES[case]
    response = upload(user_api, SimpleUploadedFile(name, data, content_type))
    assert response.status_code == 400
    message = " ".join(response.json()["error"]["fields"]["images"])
    assert (phrase in message and "JPEG" in message) or phrase in message
    assert Photo.objects.count() == 0
    assert media_files(settings) == []
    assert all(q.count == 0 for q in queues.values())


def test_a_truncated_jpeg_is_rejected_after_a_full_decode(user_api, settings, content_jpeg):
    truncated = content_jpeg[: len(content_jpeg) // 2]
    response = upload(user_api, SimpleUploadedFile("cut.jpg", truncated, "image/jpeg"))
    assert response.status_code == 400
    message = response.json()["error"]["fields"]["images"][0]
    assert "truncated" in message and "upload it again" in message and "Upload a JPEG" not in message
    assert Photo.objects.count() == 0 and media_files(settings) == []


def test_an_oversize_file_is_rejected(user_api, settings, content_jpeg):
    settings.UPLOAD_MAX_BYTES = len(content_jpeg) - 1
    response = upload(user_api, SimpleUploadedFile("big.jpg", content_jpeg, "image/jpeg"))
    assert response.status_code == 400
    assert "MB limit" in response.json()["error"]["fields"]["images"][0]
    assert Photo.objects.count() == 0


def test_one_bad_file_in_a_batch_stores_none_of_them(user_api, settings, content_jpeg):
    good = SimpleUploadedFile("good.jpg", content_jpeg, "image/jpeg")
    bad = SimpleUploadedFile("bad.jpg", b"nope", "image/jpeg")
    response = upload(user_api, good, bad)
    assert response.status_code == 400
    assert "bad.jpg" in response.json()["error"]["fields"]["images"][0]
    assert Photo.objects.count() == 0 and media_files(settings) == []


def test_101_files_get_a_clear_400(user_api):
    files = [SimpleUploadedFile(f"f{i}.jpg", b"x", "image/jpeg") for i in range(101)]
    response = upload(user_api, *files)
    assert response.status_code == 400
    assert "files" in response.json()["error"]["message"].lower()
    assert Photo.objects.count() == 0


def test_more_files_than_the_per_request_limit_get_a_clear_400(user_api, settings, content_jpeg):
    settings.UPLOAD_MAX_FILES = 2
    files = [SimpleUploadedFile(f"f{i}.jpg", content_jpeg, "image/jpeg") for i in range(3)]
    response = upload(user_api, *files)
    assert response.status_code == 400
    assert "at most 2" in response.json()["error"]["fields"]["images"][0]


def test_a_missing_file_field_gets_a_clear_400(user_api):
    response = user_api.post("/api/v1/photos/", {}, format="multipart")
    assert response.status_code == 400
    assert "at least one photo" in response.json()["error"]["fields"]["images"][0]


def test_the_web_upload_form_works_without_javascript(client, user, content_jpeg):
    client.force_login(user)
    response = client.post(
        "/upload/", {"images": [SimpleUploadedFile("a.jpg", content_jpeg, "image/jpeg")]}, follow=True
    )
    assert "Uploaded 1 photo." in response.content.decode()
    assert Photo.objects.filter(owner=user).count() == 1


def test_the_web_upload_form_shows_why_a_file_was_refused(client, user):
    client.force_login(user)
    response = client.post("/upload/", {"images": [SimpleUploadedFile("a.jpg", b"text", "image/jpeg")]})
    assert response.status_code == 200
    assert "not a readable image" in response.content.decode()
    assert Photo.objects.count() == 0


def test_photo_list_pages_are_capped(user_api, user):
    response = user_api.get("/api/v1/photos/?page_size=100000")
    assert response.status_code == 200
    assert response.json()["count"] == 0 and "results" in response.json()


def test_a_png_html_polyglot_is_served_only_as_a_clean_reencoded_image(user_api):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "navy").save(buffer, "PNG")
    polyglot = buffer.getvalue() + b"<html><script>alert(document.cookie)</script></html>"
    response = upload(user_api, SimpleUploadedFile("avatar.png", polyglot, "image/png"))
    assert response.status_code == 201
    served = user_api.get(response.json()[0]["photo"]["image_url"])
    body = b"".join(served.streaming_content)
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"
    assert b"<script" not in body and body.endswith(b"IEND\xaeB`\x82")


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.jpg", "x.php%00.jpg", "x.jpg.php", "." + "a" * 300 + ".jpg", ".hidden.jpg"]
)
def test_the_uploaded_file_name_never_reaches_the_filesystem(user_api, settings, name):
    data = jpeg_with_gps(size=(64, 48))
    response = upload(user_api, SimpleUploadedFile(name, data, "image/jpeg"))
    assert response.status_code == 201
    photo = Photo.objects.get()
    stored = Path(photo.image.path).resolve()
    assert stored.is_relative_to(Path(settings.MEDIA_ROOT).resolve() / "photos")
    assert re.fullmatch(r"[0-9a-f]{32}\.jpg", stored.name)
    download = user_api.get(response.json()[0]["photo"]["image_url"] + "?download=1")
    # The download is named after the upload, but only as a slug: no path, no odd characters.
    match = re.fullmatch(r'attachment; filename="([a-z0-9][a-z0-9_-]*\.jpg)"', download["Content-Disposition"])
    assert match, download["Content-Disposition"]


def test_uploads_over_the_rate_limit_get_429_with_retry_after(user_api, settings):
    from nstsite.rest import UploadThrottle

    UploadThrottle.THROTTLE_RATES = {**UploadThrottle.THROTTLE_RATES, "upload": "2/hour"}
    try:
        responses = [
            upload(user_api, SimpleUploadedFile(f"{i}.jpg", jpeg_with_gps(size=(40 + i, 40)))) for i in range(3)
        ]
    finally:
        del UploadThrottle.THROTTLE_RATES  # back to the inherited settings
    assert [r.status_code for r in responses] == [201, 201, 429]
    assert int(responses[2]["Retry-After"]) > 0
    assert Photo.objects.count() == 2
