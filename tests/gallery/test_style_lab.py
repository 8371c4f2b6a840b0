"""The style lab: one job renders a grid across α/β and style depth; a cell renders at full size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import services
from gallery.models import Photo, Render, Style, StyleLab
from nstsite.models import TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(user, content_jpeg) -> Photo:
    photo, _ = services.photo_create(owner=user, upload=SimpleUploadedFile("tubingen.jpg", content_jpeg, "image/jpeg"))
    return photo


@pytest.fixture
def painting(user, style_jpeg) -> Style:
    return services.style_create(owner=user, upload=SimpleUploadedFile("starry.jpg", style_jpeg, "image/jpeg"))


def test_a_style_lab_renders_its_grid_in_one_job_shows_it_and_renders_a_picked_cell(
    client, user, other_user, photo, painting, queues, run_worker, settings
):
    # One lab for the whole flow (it is the slow part): 20 cells × 2 iterations at 64 px.
    settings.STYLE_GATYS_MAX_SECONDS = 10**6
    lab = services.style_lab_create(owner=user, photo=photo, style=painting, cell_size=64, iterations=2)
    assert lab.status == TaskStatus.QUEUED and len(lab.cells) == 20
    assert run_worker("style") == 1
    lab.refresh_from_db()

    # the job: every cell, shallow to deep, α/β from 1e-5 to 1e-2, and a labelled sheet
    assert lab.status == TaskStatus.SUCCEEDED, lab.error
    assert lab.progress == 1.0 and lab.network == "mobilenet-v2"
    assert [c["depth"] for c in lab.cells] == [d for d in range(1, 6) for _ in range(4)]
    assert lab.ratios == [1e-2, 1e-1, 1.0, 10.0]  # painting → photo in MobileNet-v2's normalised units
    assert [len(c["style_layers"]) for c in lab.cells[::4]] == [1, 2, 3, 4, 5]
    images = [np.asarray(Image.open(lab.sheet.storage.open(c["image"])), dtype=np.float32) for c in lab.cells]
    assert all(max(i.shape[:2]) == 64 for i in images)
    # the knobs matter: the most style-heavy, deepest cell differs from the most photo-heavy, shallowest
    assert np.abs(images[16] - images[3]).mean() > 2
    sheet = Image.open(lab.sheet.open("rb"))
    assert sheet.width > 4 * 64 and sheet.height > 5 * 64

    # the page shows the grid to its owner only
    client.force_login(user)
    page = client.get(f"/labs/{lab.pk}/").content.decode()
    assert page.count(f"/labs/{lab.pk}/cells/") == 20 and "α/β 0.01" in page and "5 layers" in page
    cell = client.get(f"/labs/{lab.pk}/cells/19")
    assert cell.status_code == 200 and Image.open(io.BytesIO(b"".join(cell.streaming_content))).size[0] == 64

    # picking a cell queues a full-size render with its settings
    response = client.post(f"/labs/{lab.pk}/pick/", {"cell": "6", "quality": "draft"})
    render = Render.objects.get()
    assert response.status_code == 302 and response["Location"] == render.get_absolute_url()
    chosen = lab.cells[6]
    assert render.method == "gatys" and render.params["network"] == "mobilenet-v2"
    assert render.params["style_weight"] == pytest.approx(1 / chosen["ratio"])
    assert render.params["style_layers"] == chosen["style_layers"] and len(chosen["style_layers"]) == 2
    assert render.params["quality"] == "draft" and queues["style-slow"].count == 1  # Gatys: the slow lane

    client.force_login(other_user)
    assert client.get(f"/labs/{lab.pk}/").status_code == 404
    assert client.get(f"/labs/{lab.pk}/cells/0").status_code == 404
    assert client.post(f"/labs/{lab.pk}/pick/", {"cell": "0"}).status_code == 404

    # deleting the photo removes the lab and its files
    storage = lab.sheet.storage
    names = [lab.sheet.name, *(c["image"] for c in lab.cells)]
    assert all(storage.exists(n) for n in names)
    services.photo_delete(photo=photo)
    assert not StyleLab.objects.exists() and not any(storage.exists(n) for n in names)


def test_a_style_lab_needs_a_painting_the_user_may_use(user, other_user, photo, painting, queues):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        services.style_lab_create(owner=other_user, photo=photo, style=painting)
    services.presets_sync()
    preset = Style.objects.filter(kind="preset").first()
    with pytest.raises(ValidationError):
        services.style_lab_create(owner=user, photo=photo, style=preset)
    assert not StyleLab.objects.exists() and queues["style-slow"].count == 0
