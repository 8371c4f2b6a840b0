"""The style picker's previews: every preset on the user's own photo, drawn once by a real worker,
private to the photo's owner, deleted with the photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import services
from gallery.models import Style, StyleKind
from gallery.runs.previews import PREVIEW_SIDE

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_worker_draws_each_preset_on_my_photo_once_and_only_i_see_them(
    client, user, other_user, content_jpeg, queues, run_worker
):
    services.presets_sync()
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("t.jpg", content_jpeg, "image/jpeg"))
    client.force_login(user)
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "data-ready" not in page and queues["style"].count == 1
    client.get(f"/photos/{photo.pk}/")
    assert queues["style"].count == 1  # asked once, not on every visit
    assert client.get(f"/photos/{photo.pk}/previews/").json() == {"ready": False}

    run_worker("style")
    assert client.get(f"/photos/{photo.pk}/previews/").json() == {"ready": True}
    page = client.get(f"/photos/{photo.pk}/").content.decode()
    assert "data-ready" in page and f'src="/photos/{photo.pk}/previews/25"' in page
    pictures = []
    for preset in Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id")[:3]:
        response = client.get(f"/photos/{photo.pk}/previews/{preset.preset_id}")
        image = Image.open(io.BytesIO(b"".join(response.streaming_content))).convert("RGB")
        assert (
            max(image.size) == PREVIEW_SIDE and abs(image.size[0] / image.size[1] - photo.width / photo.height) < 0.02
        )
        pictures.append(np.asarray(image, dtype=np.float32))
    assert np.abs(pictures[0] - pictures[1]).mean() > 5 and np.abs(pictures[1] - pictures[2]).mean() > 5

    client.force_login(other_user)
    assert client.get(f"/photos/{photo.pk}/previews/3").status_code == 404
    assert client.get(f"/photos/{photo.pk}/previews/").status_code == 404

    pk = photo.pk
    assert len(default_storage.listdir(f"previews/{pk}")[1]) == 26
    services.photo_delete(photo=photo)
    assert default_storage.listdir(f"previews/{pk}")[1] == []


def test_a_blend_preview_is_drawn_by_the_network_ahead_of_queued_renders(
    client, user, other_user, content_jpeg, queues, run_worker
):
    services.presets_sync()
    presets = list(Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id"))
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("t.jpg", content_jpeg, "image/jpeg"))
    services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[0], 1.0)])  # queued first
    client.force_login(user)
    form = {f"weight_{presets[3].pk}": "0.5", f"weight_{presets[9].pk}": "0.5", "strength": "0.7"}
    answer = client.post(f"/photos/{photo.pk}/blend-preview/", form).json()
    assert answer["ready"] is False and answer["url"].startswith(f"/photos/{photo.pk}/blend-preview/")
    assert queues["style"].job_ids[0].startswith("blend-preview-")  # ahead of the waiting render
    assert client.get(answer["url"]).status_code == 204  # not drawn yet

    run_worker("style")
    response = client.get(answer["url"])
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    image = Image.open(io.BytesIO(response.content))
    assert max(image.size) == PREVIEW_SIDE
    assert client.post(f"/photos/{photo.pk}/blend-preview/", form).json() == {**answer, "ready": True}
    other = client.post(f"/photos/{photo.pk}/blend-preview/", {**form, "strength": "0.2"}).json()
    assert other["url"] != answer["url"]  # a different strength is a different picture

    assert client.post(f"/photos/{photo.pk}/blend-preview/", {"strength": "1"}).status_code == 400  # no style
    client.force_login(other_user)
    assert client.get(answer["url"]).status_code == 404
