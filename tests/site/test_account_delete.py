"""Deleting your own account erases everything in it: rows and files, gallery and faces."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import services
from gallery.models import Photo, Render, Style
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def full_account(user, testdata: Path, settings, queues, run_worker):  # type: ignore[no-untyped-def]
    """Alice with a photo (faces scanned by the real worker), a painting and a render."""
    settings.FACES_DETECT_ON_UPLOAD = True
    group = testdata / "faces_group"
    image = next(p for p in sorted(group.iterdir()) if p.suffix.lower() in (".jpg", ".jpeg"))
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile(image.name, image.read_bytes()))
    services.style_create(
        owner=user, upload=SimpleUploadedFile("s.jpg", (testdata / "style" / "styles" / "wave.jpg").read_bytes())
    )
    services.presets_sync()
    preset = Style.objects.filter(kind="preset").first()
    services.render_create(owner=user, photo=photo, method="preset", blend=[(preset, 1.0)], params={"max_side": 128})
    run_worker()
    assert Render.objects.get().result
    return user


def _files(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    return [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]


def test_deleting_the_account_erases_every_row_and_file(full_account, client, settings):
    from faces.models import Face

    assert Face.objects.filter(owner=full_account).exists() and _files(settings)
    client.force_login(full_account)
    response = client.post("/accounts/delete/", {"password": PASSWORD}, follow=True)
    assert "have been deleted" in response.content.decode()
    assert not get_user_model().objects.filter(pk=full_account.pk).exists()
    assert not Photo.objects.exists() and not Render.objects.exists() and not Face.objects.exists()
    assert not Style.objects.filter(kind="image").exists()
    assert _files(settings) == []


def test_a_wrong_password_deletes_nothing(user, client):
    client.force_login(user)
    response = client.post("/accounts/delete/", {"password": "wrong"}, follow=True)
    assert "password is not right" in response.content.decode()
    assert get_user_model().objects.filter(pk=user.pk).exists()


def test_the_api_deletes_the_account_with_the_password(user, api_client):
    from rest_framework.authtoken.models import Token

    api_client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert api_client.delete("/api/v1/me/", {"password": "nope"}, format="json").status_code == 400
    assert api_client.delete("/api/v1/me/", {"password": PASSWORD}, format="json").status_code == 204
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert api_client.get("/api/v1/me/").status_code == 401


def test_staff_accounts_cannot_delete_themselves(staff_user, client):
    client.force_login(staff_user)
    response = client.post("/accounts/delete/", {"password": PASSWORD}, follow=True)
    assert "another admin" in response.content.decode()
    assert get_user_model().objects.filter(pk=staff_user.pk).exists()


def test_an_admin_deleting_a_user_erases_their_files_too(full_account, django_user_model, settings):
    from django.test import Client

    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1234")
    admin = Client()
    admin.force_login(root)
    response = admin.post(f"/admin/auth/user/{full_account.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Photo.objects.exists() and not Style.objects.filter(kind="image").exists()
    assert _files(settings) == []  # the cascade's rows took their files with them


def test_a_bulk_delete_erases_files_and_a_rolled_back_one_keeps_them(user, testdata: Path, settings):
    from django.db import transaction

    painting = (testdata / "style" / "styles" / "wave.jpg").read_bytes()
    for name in ("a.jpg", "b.jpg"):
        services.style_create(owner=user, upload=SimpleUploadedFile(name, painting))
    kept = _files(settings)
    assert len(kept) == 4  # two images, two thumbnails

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        Style.objects.filter(owner=user).delete()
        raise Abort
    assert _files(settings) == kept and Style.objects.filter(owner=user).count() == 2
    Style.objects.filter(owner=user).delete()  # the admin's bulk action: no Model.delete() at all
    assert _files(settings) == []
