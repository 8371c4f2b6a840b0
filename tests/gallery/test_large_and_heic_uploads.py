"""Phone photos: above the pixel limit they are scaled down with a notice (bombs are still refused);
HEIC/HEIF (the iPhone default) is accepted, stored as a clean JPEG."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery.models import Photo
from tests.gallery.test_uploads import upload

pytestmark = pytest.mark.django_db


def _photo(size: tuple[int, int]) -> Image.Image:
    """Orange, with a blue top-left quarter: shows that the picture survived, upright and whole."""
    image = Image.new("RGB", size, (230, 120, 30))
    image.paste((20, 60, 220), (0, 0, size[0] // 2, size[1] // 2))
    return image


def _stored(user_api, item) -> Image.Image:  # type: ignore[no-untyped-def]
    body = b"".join(user_api.get(item["photo"]["image_url"]).streaming_content)
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def test_a_48_megapixel_phone_photo_is_scaled_to_the_limit_with_a_notice(user_api, settings):
    settings.UPLOAD_MAX_PIXELS = 40_000_000
    buffer = io.BytesIO()
    _photo((8000, 6000)).save(buffer, "JPEG", quality=80)
    response = upload(user_api, SimpleUploadedFile("IMG_0001.jpg", buffer.getvalue(), "image/jpeg"))
    assert response.status_code == 201, response.json()
    item = response.json()[0]
    assert "scaled down" in item["notice"] and "8000×6000" in item["notice"]
    photo = Photo.objects.get(pk=item["photo"]["id"])
    assert photo.width * photo.height <= 40_000_000
    assert photo.width * photo.height > 39_000_000  # to the limit, not far below it
    assert abs(photo.width / photo.height - 8000 / 6000) < 0.001
    stored = _stored(user_api, item)
    assert stored.size == (photo.width, photo.height)
    assert stored.getpixel((10, 10))[2] > 180 and stored.getpixel((photo.width - 10, photo.height - 10))[0] > 180


def test_the_web_form_tells_about_the_scaled_down_photo(client, user, settings):
    settings.UPLOAD_MAX_PIXELS = 100_000
    buffer = io.BytesIO()
    _photo((640, 480)).save(buffer, "PNG")
    client.force_login(user)
    response = client.post("/upload/", {"images": SimpleUploadedFile("big.png", buffer.getvalue())}, follow=True)
    assert "“big.png” was 640×480" in response.content.decode()
    assert Photo.objects.get().width * Photo.objects.get().height <= 100_000


def test_a_photo_far_beyond_the_decode_limit_is_still_refused(user_api, settings):
    settings.UPLOAD_MAX_DECODE_PIXELS = 2_000_000
    buffer = io.BytesIO()
    _photo((2000, 1500)).save(buffer, "JPEG", quality=60)
    response = upload(user_api, SimpleUploadedFile("huge.jpg", buffer.getvalue(), "image/jpeg"))
    assert response.status_code == 400
    assert "too large" in " ".join(response.json()["error"]["fields"]["images"])
    assert Photo.objects.count() == 0


def test_a_heic_photo_is_accepted_and_stored_as_a_jpeg_without_its_metadata(user_api):
    exif = Image.Exif()
    exif[0x0110] = "SpyPhone 15"  # Model
    exif.get_ifd(0x8769)[36867] = "2025:07:04 09:08:07"  # DateTimeOriginal
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (52.0, 22.0, 1.0), "E", (4.0, 53.0, 2.0)
    buffer = io.BytesIO()
    _photo((320, 240)).save(buffer, "HEIF", exif=exif.tobytes(), quality=90)
    heic = buffer.getvalue()
    assert heic[4:12] == b"ftypheic" or b"ftyp" in heic[:16]  # a real HEIF container

    response = upload(user_api, SimpleUploadedFile("IMG_4242.HEIC", heic, "image/heic"))
    assert response.status_code == 201, response.json()
    item = response.json()[0]
    photo = Photo.objects.get(pk=item["photo"]["id"])
    assert (photo.width, photo.height) == (320, 240)
    assert photo.image.name.endswith(".jpg")
    assert photo.taken_at is not None and photo.taken_at.year == 2025
    stored = _stored(user_api, item)
    assert stored.format == "JPEG" and len(stored.getexif()) == 0
    assert stored.getpixel((20, 20))[2] > 180 and stored.getpixel((300, 220))[0] > 180
    body = photo.image.open("rb").read()
    assert b"SpyPhone" not in body and b"GPS" not in body
