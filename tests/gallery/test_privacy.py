"""Every page, file URL and endpoint shows only the user's own objects; others' ids are 404."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from gallery import services
from gallery.models import Photo, Render, Style, StyleKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(user, content_jpeg, style_jpeg):  # type: ignore[no-untyped-def]
    """Alice's photo, painting and a finished-looking render (result file included)."""
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("a.jpg", content_jpeg, "image/jpeg"))
    painting = services.style_create(owner=user, upload=SimpleUploadedFile("s.jpg", style_jpeg, "image/jpeg"))
    services.presets_sync()
    preset = Style.objects.filter(kind=StyleKind.PRESET).first()
    render = services.render_create(owner=user, photo=photo, method="preset", blend=[(preset, 1.0)])
    render.result.save("r.jpg", photo.thumbnail.open("rb"), save=False)
    render.preview.save("p.jpg", photo.thumbnail.open("rb"), save=False)
    Render.objects.filter(pk=render.pk).update(
        status="succeeded", result=render.result.name, preview=render.preview.name
    )
    return {"photo": photo, "painting": painting, "render": render, "preset": preset}


def _as(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_login(user)  # a session works for the pages and (via SessionAuthentication) the API
    return client


READS = [
    "/photos/{photo}/", "/photos/{photo}/image", "/photos/{photo}/thumb", "/renders/{render}/",
    "/renders/{render}/result", "/renders/{render}/preview", "/styles/{painting}/image", "/styles/{painting}/thumb",
    "/api/v1/photos/{photo}/", "/api/v1/renders/{render}/", "/api/v1/styles/{painting}/",
]  # fmt: skip
WRITES = [
    ("post", "/photos/{photo}/delete/"), ("post", "/photos/{photo}/stylize/"), ("post", "/renders/{render}/cancel/"),
    ("post", "/renders/{render}/retry/"), ("post", "/renders/{render}/delete/"), ("post", "/styles/{painting}/delete/"),
    ("delete", "/api/v1/photos/{photo}/"), ("delete", "/api/v1/renders/{render}/"),
    ("post", "/api/v1/renders/{render}/cancel/"), ("post", "/api/v1/renders/{render}/retry/"),
    ("delete", "/api/v1/styles/{painting}/"),
]  # fmt: skip


def _ids(owned) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {k: v.pk for k, v in owned.items()}


@pytest.mark.parametrize("path", READS)
def test_the_owner_can_read_it(owned, user, path):
    response = _as(user).get(path.format(**_ids(owned)))
    assert response.status_code == 200


@pytest.mark.parametrize("path", READS)
def test_another_user_gets_404_for_every_read(owned, other_user, path):
    assert _as(other_user).get(path.format(**_ids(owned))).status_code == 404


@pytest.mark.parametrize(("method", "path"), WRITES)
def test_another_user_gets_404_for_every_change_and_nothing_changes(owned, other_user, method, path):
    response = getattr(_as(other_user), method)(path.format(**_ids(owned)))
    assert response.status_code == 404
    assert Photo.objects.filter(pk=owned["photo"].pk).exists()
    render = Render.objects.get(pk=owned["render"].pk)
    assert render.status == "succeeded"
    assert Style.objects.filter(pk=owned["painting"].pk).exists()


def test_lists_show_only_the_users_own_objects(owned, other_user):
    client = _as(other_user)
    assert client.get("/api/v1/photos/").json()["count"] == 0
    assert client.get("/api/v1/renders/").json()["count"] == 0
    styles = client.get("/api/v1/styles/").json()
    assert all(s["is_global"] for s in styles["results"])
    assert owned["painting"].pk not in [s["id"] for s in styles["results"]]


def test_a_render_of_another_users_photo_cannot_be_requested(owned, other_user):
    response = _as(other_user).post(
        "/api/v1/renders/", {"photo": owned["photo"].pk, "method": "preset", "styles": [{"style": owned["preset"].pk}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 404


def test_another_users_painting_cannot_be_used_as_a_style(owned, other_user, content_jpeg):
    mine, _ = services.photo_create(owner=other_user, upload=SimpleUploadedFile("m.jpg", content_jpeg, "image/jpeg"))
    response = _as(other_user).post(
        "/api/v1/renders/", {"photo": mine.pk, "method": "arbitrary", "styles": [{"style": owned["painting"].pk}]},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert "Unknown style" in str(response.json()["error"]["fields"]["styles"])


def test_anonymous_visitors_get_nothing(owned, client):
    for path in READS:
        response = client.get(path.format(**_ids(owned)))
        assert response.status_code in (302, 401, 403), path


def test_global_presets_cannot_be_deleted_by_users(owned, user):
    assert _as(user).delete(f"/api/v1/styles/{owned['preset'].pk}/").status_code == 404
    assert Style.objects.filter(pk=owned["preset"].pk).exists()


def test_deleting_a_photo_removes_its_files_and_renders(owned, user, django_capture_on_commit_callbacks):
    photo, render = owned["photo"], owned["render"]
    files = [photo.image.path, photo.thumbnail.path, render.result.path, render.preview.path]
    with django_capture_on_commit_callbacks(execute=True):  # the files go once the delete commits
        assert _as(user).delete(f"/api/v1/photos/{photo.pk}/").status_code == 204
    import os

    assert not Render.objects.filter(pk=render.pk).exists()
    assert [f for f in files if os.path.exists(f)] == []


@pytest.fixture
def superuser(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1234")


@pytest.mark.parametrize("path", READS)
def test_staff_and_superusers_get_404_for_users_pictures_and_pages(owned, staff_user, superuser, path):
    for viewer in (staff_user, superuser):
        assert _as(viewer).get(path.format(**_ids(owned))).status_code == 404, viewer


@pytest.mark.parametrize(
    ("model", "page"), [("photo", "changelist"), ("render", "changelist"), ("style", "changelist"),
                        ("photo", "change"), ("render", "change")]
)  # fmt: skip
def test_the_admin_shows_users_objects_without_their_pictures(owned, superuser, model, page):
    ids = _ids(owned)
    pk = {"photo": ids["photo"], "render": ids["render"], "style": ids["painting"]}[model]
    url = f"/admin/gallery/{model}/" if page == "changelist" else f"/admin/gallery/{model}/{pk}/change/"
    response = _as(superuser).get(url)
    assert response.status_code == 200
    body = response.content.decode()
    assert "private" in body
    for picture in (f"/photos/{ids['photo']}/", f"/renders/{ids['render']}/", f"/styles/{ids['painting']}/"):
        assert f"{picture}thumb" not in body and f"{picture}preview" not in body and f"{picture}image" not in body


def test_the_admin_shows_staff_their_own_pictures_and_the_site_presets(owned, superuser, content_jpeg):
    mine, _ = services.photo_create(owner=superuser, upload=SimpleUploadedFile("mine.jpg", content_jpeg, "image/jpeg"))
    preset = owned["preset"]
    preset.thumbnail.save("preset.jpg", mine.thumbnail.open("rb"), save=True)  # as the worker draws it
    client = _as(superuser)
    assert f"/photos/{mine.pk}/thumb" in client.get("/admin/gallery/photo/").content.decode()
    assert client.get(f"/photos/{mine.pk}/thumb").status_code == 200
    assert f"/styles/{preset.pk}/thumb" in client.get("/admin/gallery/style/").content.decode()
