"""Downloads named after the photo and the style; a re-run offers every option of the original,
the blend included."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gallery import services
from gallery.models import Render, Style, StyleKind
from nstsite.models import TaskStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(user, content_jpeg):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile("Tübingen Neckar.JPG", content_jpeg, "image/jpeg")
    return services.photo_create(owner=user, upload=upload)[0]


@pytest.fixture
def presets() -> list[Style]:
    services.presets_sync()
    return list(Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id"))


def _attachment_name(response) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'attachment; filename="([^"]+)"', response["Content-Disposition"])
    assert match, response["Content-Disposition"]
    return match.group(1)


def test_downloads_are_named_after_the_photo_and_the_styles(client, user, photo, presets, queues, run_worker):
    first, second = presets[2], presets[7]
    render = services.render_create(
        owner=user, photo=photo, method="preset", blend=[(first, 0.3), (second, 0.7)], params={"max_side": 128}
    )
    run_worker("style")
    render.refresh_from_db()
    assert render.status == TaskStatus.SUCCEEDED, render.error
    client.force_login(user)
    name = _attachment_name(client.get(f"/renders/{render.pk}/result?download=1"))
    stem = re.sub(r"[^a-z0-9]+", "-", second.name.lower()).strip("-")  # the stronger style first
    assert name.startswith(f"tubingen-neckar-{stem}-") and name.endswith(".jpg")
    assert _attachment_name(client.get(f"/photos/{photo.pk}/image?download=1")) == "tubingen-neckar.jpg"
    assert f'download="{name}"' in client.get(f"/renders/{render.pk}/").content.decode()


def test_a_rerun_shows_every_option_and_can_change_the_blend(client, user, photo, presets, queues):
    a, b = presets[0], presets[5]
    original = services.render_create(
        owner=user, photo=photo, method="preset", blend=[(a, 0.25), (b, 0.75)],
        params={"strength": 0.6, "preserve_color": True, "max_side": 512},
    )  # fmt: skip
    services.render_cancel(render=original)
    client.force_login(user)
    page = client.get(f"/renders/{original.pk}/").content.decode()
    form = page[page.index('id="rerun"') :]
    assert f'name="weight_{a.pk}" min="0" max="1" step="0.05" value="0.25"' in form
    assert f'name="weight_{b.pk}" min="0" max="1" step="0.05" value="0.75"' in form
    assert ">25%</output>" in form and ">75%</output>" in form
    assert 'name="strength" min="0" max="1" step="0.05" value="0.6"' in form
    assert 'name="preserve_color" value="1" checked' in form
    assert '<option value="512" selected>' in form

    response = client.post(
        f"/renders/{original.pk}/rerun/",
        {f"weight_{a.pk}": "1", f"weight_{b.pk}": "0", "strength": "0.6", "preserve_color": "1", "max_side": "512"},
    )
    rerun = Render.objects.exclude(pk=original.pk).get()
    assert response["Location"] == f"/renders/{rerun.pk}/"
    assert [(rs.style_id, rs.weight) for rs in rerun.blend.all()] == [(a.pk, 1.0)]
    assert rerun.params == {"strength": 0.6, "preserve_color": True, "max_side": 512}


def test_a_gatys_rerun_form_carries_its_advanced_settings(client, user, photo, settings, queues):
    settings.STYLE_GATYS_MAX_SECONDS = 10**6
    painting = services.style_create(owner=user, upload=SimpleUploadedFile("p.jpg", photo.image.open("rb").read()))
    original = services.render_create(
        owner=user, photo=photo, method="gatys", blend=[(painting, 1.0)],
        params={"quality": "draft", "network": "vgg19", "size": 96, "iterations": 7, "style_weight": "1e6",
                "optimizer": "adam",
                "color": "luminance", "style_layers": "conv1_1,conv3_1", "seed": 11},
    )  # fmt: skip
    services.render_cancel(render=original)
    client.force_login(user)
    form = client.get(f"/renders/{original.pk}/").content.decode()
    for expected in ('name="size" min="64" max="2048" value="96"', 'name="iterations" min="1" max="2000" value="7"',
                     'name="style_weight" value="1e+06"', '<option value="adam" selected>',
                     '<option value="luminance" selected>', 'name="style_layers" value="conv1_1,conv3_1"',
                     'name="seed" min="0" value="11"', '<option value="draft" selected>',
                     '<option value="vgg19" selected>'):  # fmt: skip
        assert expected in form, expected
