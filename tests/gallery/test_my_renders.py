""" "My renders": every job with its place in line and time left, through the page and the API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import services
from gallery.models import Style, StyleKind

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def presets() -> list[Style]:
    services.presets_sync()
    return list(Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id"))


def _photo(owner, data: bytes, name: str):  # type: ignore[no-untyped-def]
    return services.photo_create(owner=owner, upload=SimpleUploadedFile(name, data, "image/jpeg"))[0]


def test_queued_renders_show_their_place_in_line_and_time_left(
    user_api, user, other_user, presets, content_jpeg, queues, run_worker
):
    theirs = services.render_create(
        owner=other_user, photo=_photo(other_user, content_jpeg, "t.jpg"), method="preset", blend=[(presets[0], 1)]
    )
    photo = _photo(user, content_jpeg, "mine.jpg")
    first = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[1], 1)])
    second = services.render_create(
        owner=user, photo=photo, method="preset", blend=[(presets[2], 1)], params={"max_side": 128}
    )

    body = user_api.get("/api/v1/renders/?active=1").json()
    by_id = {r["id"]: r for r in body["results"]}
    assert set(by_id) == {first.pk, second.pk}  # only mine, though another user's render is ahead
    assert by_id[first.pk]["queue_position"] == 2 and by_id[second.pk]["queue_position"] == 3
    assert 0 < by_id[first.pk]["eta_seconds"] < by_id[second.pk]["eta_seconds"]
    detail = user_api.get(f"/api/v1/renders/{second.pk}/").json()
    assert detail["queue_position"] == 3 and detail["eta_seconds"] == by_id[second.pk]["eta_seconds"]
    assert user_api.get(f"/api/v1/renders/{theirs.pk}/").status_code == 404

    run_worker("style")
    assert user_api.get("/api/v1/renders/?active=1").json()["results"] == []
    done = user_api.get(f"/api/v1/renders/{second.pk}/").json()
    assert done["status"] == "succeeded" and done["queue_position"] is None and done["eta_seconds"] is None


def test_the_page_lists_waiting_jobs_and_each_photos_variants(client, user, presets, content_jpeg, queues):
    photo = _photo(user, content_jpeg, "Long name of a holiday photo.jpg")
    queued = services.render_create(owner=user, photo=photo, method="preset", blend=[(presets[4], 1)])
    client.force_login(user)
    page = client.get("/renders/").content.decode()
    working = page[page.index('id="job-list"') : page.index('id="none-working"')]
    assert f'data-render="{queued.pk}"' in working and "number 1 in line" in working and "left" in working
    group = page[page.index('class="card variants"') :]
    assert "Original" in group and f'data-render="{queued.pk}"' in group and "Queued" in group
    only = client.get(f"/renders/?photo={photo.pk + 1000}").content.decode()
    assert 'class="card variants"' not in only  # another id: nothing (and never someone else's photo)
