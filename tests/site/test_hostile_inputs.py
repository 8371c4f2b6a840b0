"""Hostile query strings, forms and JSON get a 400 with a message, never a 500 (issue: hostile inputs).

Each case was a 500 before ``nstsite/inputs.py`` and the strict API fields: "²" passes
``str.isdigit()`` but not ``int()``, NUL reaches PostgreSQL, deep JSON overflows the decoder.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "²"  # str.isdigit() is True, int() raises


@pytest.fixture
def things(user, staff_user, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A photo of the user's, a person of theirs, and a face they shared with the directory."""
    from faces.models import Face
    from faces.services import person_create
    from tests.faces.conftest import make_photo

    Image.new("RGB", (64, 64), "teal").save(tmp_path / "p.png")
    photo = make_photo(user, tmp_path / "p.png")
    person = person_create(name="Ada", actor=user, owner=user)
    shared = Face.objects.create(
        owner=user, photo=photo, person=person, assignment="confirmed", shared=True, x1=0, y1=0, x2=10, y2=10, score=1.0,
        embedder="dlib-resnet-v1", embedding=[1.0] + [0.0] * 127,
    )  # fmt: skip
    return {"photo": photo.pk, "person": person.pk, "face": shared.pk}


def _as(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


# (who, method, path, form data): every one was a 500.
CASES = [
    ("user", "get", f"/api/v1/renders/?photo={SUPERSCRIPT_TWO}", None),
    ("user", "get", f"/api/v1/faces/?photo={SUPERSCRIPT_TWO}", None),
    ("user", "get", f"/api/v1/faces/?person={SUPERSCRIPT_TWO}", None),
    ("user", "get", "/api/v1/styles/?kind=%00", None),
    ("user", "get", f"/?person={SUPERSCRIPT_TWO}", None),
    ("user", "get", f"/renders/?photo={SUPERSCRIPT_TWO}", None),
    ("staff", "get", "/faces/directory/?q=%00", None),
    ("user", "post", "/photos/{photo}/stylize/", {"method": "arbitrary", "style": SUPERSCRIPT_TWO}),
    ("user", "post", "/photos/{photo}/stylize/", {"method": "preset", f"weight_{SUPERSCRIPT_TWO}": "1"}),
    ("user", "post", "/photos/{photo}/lab/", {"style": SUPERSCRIPT_TWO}),
    ("user", "post", "/faces/people/{person}/link/", {"directory_person": SUPERSCRIPT_TWO}),
    ("staff", "post", "/faces/thresholds/", {"apply": SUPERSCRIPT_TWO}),
    ("staff", "post", "/faces/faces/{face}/enroll-shared/", {"person": SUPERSCRIPT_TWO}),
]


@pytest.mark.parametrize(("who", "method", "path", "data"), CASES)
def test_a_hostile_parameter_is_a_400_with_a_message(things, user, staff_user, who, method, path, data):
    client = _as(user if who == "user" else staff_user)
    response = getattr(client, method)(path.format(**things), data) if data else client.get(path.format(**things))
    assert response.status_code == 400, (path, response.status_code)
    body = response.content.decode()
    if path.startswith("/api/"):
        message = response.json()["error"]["message"]
        assert "must be a positive whole number" in message or "control character" in message
    else:
        assert "must be a positive whole number" in body or "control character" in body
        assert "We could not read that request" in body  # our page, not Django's


def test_a_style_named_with_a_nul_is_refused_on_the_page_and_in_the_api(user):
    from gallery.models import Style

    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "orange").save(buffer, "JPEG")

    def painting() -> SimpleUploadedFile:
        return SimpleUploadedFile("s.jpg", buffer.getvalue(), "image/jpeg")

    api = APIClient()
    api.force_authenticate(user)
    response = api.post("/api/v1/styles/", {"image": painting(), "name": "bad\x00name"}, format="multipart")
    assert response.status_code == 400 and "null characters" in json.dumps(response.json()).lower()
    page = _as(user).post("/styles/", {"image": painting(), "name": "bad\x00name"})
    assert page.status_code == 200 and "Null characters are not allowed" in page.content.decode()
    assert not Style.objects.filter(owner=user).exists()


def test_deeply_nested_json_is_a_400_even_anonymously():
    body = "[" * 1100 + "]" * 1100
    response = Client(raise_request_exception=False).post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert "nested" in response.json()["error"]["message"]


def test_a_boolean_weight_and_a_numeric_name_are_refused(user_api, things):
    from gallery import services
    from gallery.models import Style, StyleKind

    services.presets_sync()
    preset = Style.objects.filter(kind=StyleKind.PRESET).first()
    request = {"photo": things["photo"], "method": "preset", "styles": [{"style": preset.pk, "weight": True}]}
    response = user_api.post("/api/v1/renders/", request, format="json")
    assert response.status_code == 400 and "true/false" in json.dumps(response.json())
    response = user_api.post(f"/api/v1/faces/{things['face']}/assign/", {"name": 5}, format="json")
    assert response.status_code == 400 and "Not a valid string" in json.dumps(response.json())


def test_a_blend_longer_than_the_limit_is_refused_before_any_work(user_api, things):
    from gallery.models import Render
    from gallery.options import MAX_BLEND

    styles = [{"style": n, "weight": 1} for n in range(1, 20_001)]
    response = user_api.post(
        "/api/v1/renders/", {"photo": things["photo"], "method": "preset", "styles": styles}, format="json"
    )
    assert response.status_code == 400 and str(MAX_BLEND) in json.dumps(response.json())
    assert not Render.objects.exists()


def test_a_photo_wider_than_any_engine_renders_is_scaled_down_with_a_notice(user_api, settings):
    from gallery.models import Photo

    buffer = io.BytesIO()
    Image.new("RGB", (settings.UPLOAD_MAX_SIDE + 808, 40), "navy").save(buffer, "PNG")
    response = user_api.post(
        "/api/v1/photos/",
        {"images": [SimpleUploadedFile("wide.png", buffer.getvalue(), "image/png")]},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    photo = Photo.objects.get()
    assert max(photo.width, photo.height) == settings.UPLOAD_MAX_SIDE
    assert "no side may be longer than" in json.dumps(response.json())


def test_an_api_error_in_debug_shows_an_anonymous_caller_our_json_not_the_technical_page(settings, monkeypatch):
    from accounts import api

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug in a view")

    settings.DEBUG = True
    monkeypatch.setattr(api.TokenView, "post", broken)
    response = Client(raise_request_exception=False).post(
        "/api/v1/auth/token/", {"username": "x", "password": "y"}, content_type="application/json"
    )
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    text = response.content.decode()
    assert response.json()["error"]["code"] == "server_error"
    assert "SECRET_KEY" not in text and "a bug in a view" not in text and "Traceback" not in text
