"""A user-supplied ``next`` never sends anyone to another site (open redirect)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EVIL = ["https://evil.example/", "//evil.example/x", "http:evil.example", "/\\evil.example", "javascript:alert(1)"]


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (48, 48), "orange").save(buffer, "PNG")
    return SimpleUploadedFile("s.png", buffer.getvalue(), "image/png")


@pytest.mark.parametrize("target", EVIL)
def test_adding_a_style_never_redirects_to_another_site(client, user, target):
    client.force_login(user)
    response = client.post("/styles/", {"image": _png(), "name": "x", "next": target})
    assert response.status_code == 302
    assert response["Location"] == "/styles/"


def test_adding_a_style_follows_a_local_next(client, user):
    client.force_login(user)
    response = client.post("/styles/", {"image": _png(), "name": "x", "next": "/photos/1/"})
    assert response["Location"] == "/photos/1/"


@pytest.mark.parametrize("target", EVIL)
def test_logging_in_never_redirects_to_another_site(client, user, target):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert "evil" not in response["Location"] and not response["Location"].startswith("javascript")
