"""Identify/verify uploads: never orphaned by a refused request, owned, listable and deletable."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from faces.models import FaceScan, Upload, Verification
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _png(name: str = "a.png", colour: str = "teal") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), "image/png")


def _not_an_image() -> SimpleUploadedFile:
    return SimpleUploadedFile("b.jpg", b"this is not an image at all", "image/jpeg")


def upload_files(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(settings.MEDIA_ROOT) / "faces" / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_a_refused_second_image_leaves_no_file_of_the_first(user_api, settings, queues):
    response = user_api.post("/api/v1/verify/", {"image_a": _png(), "image_b": _not_an_image()}, format="multipart")
    assert response.status_code == 400
    assert "image_b" in response.json()["error"]["fields"]
    assert not Upload.objects.exists()
    assert upload_files(settings) == []


def test_someone_elses_or_a_missing_photo_b_leaves_no_file_of_image_a(user_api, settings, queues):
    response = user_api.post("/api/v1/verify/", {"image_a": _png(), "photo_b": 999999}, format="multipart")
    assert response.status_code == 404
    assert not Upload.objects.exists()
    assert upload_files(settings) == []


def test_the_web_verify_form_leaves_no_orphan_file_either(client, user, settings, queues):
    client.force_login(user)
    response = client.post("/faces/verify/", {"image_a": _png(), "image_b": _not_an_image()})
    assert response.status_code == 200  # the form again, with the reason
    assert not Upload.objects.exists()
    assert upload_files(settings) == []


def test_identify_uploads_are_listed_to_their_owner_only_and_can_be_deleted(
    user_api, api_client, other_user, settings, queues
):
    response = user_api.post("/api/v1/identify/", {"image": _png()}, format="multipart")
    assert response.status_code == 202
    listed = user_api.get("/api/v1/uploads/").json()["results"]
    assert len(listed) == 1 and listed[0]["original_name"] == "a.png"
    assert len(upload_files(settings)) == 1

    from rest_framework.test import APIClient

    mallory = APIClient()
    mallory.force_authenticate(other_user)
    assert mallory.get("/api/v1/uploads/").json()["results"] == []
    assert mallory.delete(f"/api/v1/uploads/{listed[0]['id']}/").status_code == 404

    assert user_api.delete(f"/api/v1/uploads/{listed[0]['id']}/").status_code == 204
    assert not Upload.objects.exists() and not FaceScan.objects.exists()
    assert upload_files(settings) == []


def test_deleting_a_verification_or_a_scan_deletes_its_uploaded_images(user_api, settings, queues):
    made = user_api.post("/api/v1/verify/", {"image_a": _png(), "image_b": _png("b.png", "red")}, format="multipart")
    assert made.status_code == 202
    scan = user_api.post("/api/v1/identify/", {"image": _png("c.png", "blue")}, format="multipart")
    assert len(upload_files(settings)) == 3
    assert user_api.delete(f"/api/v1/verifications/{made.json()['id']}/").status_code == 204
    assert user_api.delete(f"/api/v1/scans/{scan.json()['id']}/").status_code == 204
    assert not Verification.objects.exists() and not Upload.objects.exists()
    assert upload_files(settings) == []


def test_deleting_the_account_removes_every_identify_and_verify_upload(user_api, user, settings, queues):
    user_api.post("/api/v1/verify/", {"image_a": _png(), "image_b": _png("b.png", "red")}, format="multipart")
    user_api.post("/api/v1/verify/", {"image_a": _png("x.png", "navy"), "image_b": _not_an_image()}, format="multipart")
    assert len(upload_files(settings)) == 2
    assert user_api.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204
    assert upload_files(settings) == []
