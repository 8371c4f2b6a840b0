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
from gallery.previews import PREVIEW_SIDE

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
