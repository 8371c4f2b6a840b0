"""Render options: one typed schema for the web form and the API; bad numbers are field errors, never 500s."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from gallery import options, services
from gallery.models import Photo, Render, RenderStyle, Style, StyleKind

pytestmark = pytest.mark.django_db


def _png(colour: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "PNG")
    return SimpleUploadedFile(f"{colour}.png", buffer.getvalue(), "image/png")


@pytest.fixture
def photo(user) -> Photo:
    return services.photo_create(owner=user, upload=_png("teal"))[0]


@pytest.fixture
def preset() -> Style:
    services.presets_sync()
    return Style.objects.filter(kind=StyleKind.PRESET).order_by("preset_id").first()  # type: ignore[return-value]


@pytest.fixture
def painting(user) -> Style:
    return services.style_create(owner=user, upload=_png("orange"))


def _post_raw(client, body: str):  # type: ignore[no-untyped-def]
    """Send the JSON text as is (``1e309``, ``NaN`` are not what json.dumps would write)."""
    return client.generic("POST", "/api/v1/renders/", body, content_type="application/json")


BAD_FEED_FORWARD = [
    ("strength", '"NaN"'), ("strength", '"nan"'), ("strength", '"Infinity"'), ("strength", '"-Infinity"'),
    ("strength", "1e309"), ("strength", "true"), ("strength", "[1]"), ("strength", '{"a": 1}'),
    ("strength", '"abc"'), ("strength", "2"), ("strength", "-0.5"), ("max_side", "1.5"), ("max_side", "true"),
    ("max_side", "99999999999999999999999"), ("preserve_color", '"maybe"'), ("preserve_color", "[true]"),
]  # fmt: skip

BAD_GATYS = [
    ("content_weight", '"nan"'), ("style_weight", '"Infinity"'), ("tv_weight", "1e309"), ("style_weight", "1e300"),
    ("iterations", "1.5"), ("iterations", "true"), ("iterations", '"NaN"'), ("size", "1e309"), ("size", "-1"),
    ("seed", "-1"), ("style_scale", '"inf"'), ("content_layers", "5"), ("content_layers", '{"a": 1}'),
    ("style_layers", "[1, 2]"), ("style_layers", '["conv9_9"]'), ("optimizer", "5"), ("quality", '["draft"]'),
    ("init", "null"), ("pooling", '"median"'),
]  # fmt: skip


def _assert_field_error(response, field: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 400, (field, response.content)
    error = response.json()["error"]
    if error["code"] == "parse_error":  # e.g. 1e309 or NaN as bare JSON numbers: not JSON DRF accepts
        return
    assert error["code"] == "invalid", error
    assert field in error["fields"] or "params" in error["fields"], (field, error)


def test_the_api_refuses_bad_preset_options_with_a_field_error(user_api, photo, preset, queues):
    for field, value in BAD_FEED_FORWARD:
        body = (
            f'{{"photo": {photo.pk}, "method": "preset", "styles": [{{"style": {preset.pk}}}], '
            f'"params": {{"{field}": {value}}}}}'
        )
        _assert_field_error(_post_raw(user_api, body), field)
    assert not Render.objects.exists()


def test_the_api_refuses_bad_gatys_options_with_a_field_error(user_api, photo, painting, queues):
    for field, value in BAD_GATYS:
        if value == "null":
            continue  # null means "not given"
        body = (
            f'{{"photo": {photo.pk}, "method": "gatys", "styles": [{{"style": {painting.pk}}}], '
            f'"params": {{"{field}": {value}}}}}'
        )
        _assert_field_error(_post_raw(user_api, body), field)
    assert not Render.objects.exists()


def test_params_that_are_not_an_object_are_refused(user_api, photo, preset, queues):
    for params in ("5", '"x"', "[1, 2]"):
        body = f'{{"photo": {photo.pk}, "method": "preset", "styles": [{{"style": {preset.pk}}}], "params": {params}}}'
        response = _post_raw(user_api, body)
        assert response.status_code == 400, response.content
        assert "params" in response.json()["error"]["fields"]


def test_the_web_form_refuses_the_same_bad_numbers(client, user, photo, painting, preset, queues):
    client.force_login(user)
    for value in ("inf", "nan", "Infinity", "1e309", "1.5", "true", "-3"):
        field = "iterations" if value in ("1.5", "true") else "content_weight"
        form = {"method": "gatys", f"weight_{painting.pk}": "1", "quality": "draft", field: value}
        response = client.post(f"/photos/{photo.pk}/stylize/", form, follow=True)
        assert response.status_code == 200
        assert any(field.replace("_", " ") in str(m).lower() for m in response.context["messages"]), value
    for weight in ("inf", "nan", "-inf", "1e309", "5000"):
        response = client.post(f"/photos/{photo.pk}/stylize/", {"method": "preset", f"weight_{preset.pk}": weight})
        assert response.status_code == 302
    assert not Render.objects.exists()


def test_good_options_still_work_on_both_paths(user_api, client, user, photo, painting, preset, queues, settings):
    settings.STYLE_GATYS_MAX_SECONDS = 10**6
    body = {"photo": photo.pk, "method": "gatys", "styles": [{"style": painting.pk}],
            "params": {"quality": "draft", "iterations": 3, "size": 64, "content_weight": 1.5,
                       "content_layers": ["conv4_2"], "style_layers": "conv1_1,conv2_1", "seed": 7}}  # fmt: skip
    response = user_api.post("/api/v1/renders/", body, format="json")
    assert response.status_code == 202, response.json()
    assert response.json()["params"]["iterations"] == 3 and response.json()["params"]["style_layers"] == [
        "conv1_1",
        "conv2_1",
    ]
    client.force_login(user)
    form = {"method": "preset", f"weight_{preset.pk}": "0.5", "strength": "0.8", "preserve_color": "on"}
    assert client.post(f"/photos/{photo.pk}/stylize/", form).status_code == 302
    assert Render.objects.count() == 2


def test_the_render_list_survives_a_row_with_non_finite_numbers(user_api, user, photo, preset):
    # What the old web form let through (weight_1=inf): the list must still answer, with null.
    render = Render.objects.create(owner=user, photo=photo, method="preset", params={}, estimated_seconds=float("nan"))
    RenderStyle.objects.create(render=render, style=preset, weight=float("inf"))
    response = user_api.get("/api/v1/renders/")
    assert response.status_code == 200
    item = response.json()["results"][0]
    assert item["styles"][0]["weight"] is None and item["estimated_seconds"] is None
    assert user_api.get(f"/api/v1/renders/{render.pk}/").status_code == 200


def test_the_gatys_estimate_refuses_bad_queries_with_400(user_api, photo):
    queries = ["photo=abc", "photo=", "", "photo=1e309", "photo=-1", "photo={pk}&size=1e309",
               "photo={pk}&iterations=1.5", "photo={pk}&quality=nan"]  # fmt: skip
    for query in queries:
        response = user_api.get("/api/v1/estimate/gatys/?" + query.format(pk=photo.pk))
        assert response.status_code == 400, (query, response.content)
        assert response.json()["error"]["code"] == "invalid"


def test_the_openapi_schema_describes_params_with_types_and_bounds(user_api):
    schema = user_api.get("/api/schema/?format=json").json()
    params = schema["components"]["schemas"]["RenderCreateRequest"]["properties"]["params"]
    variants = {v["title"]: v["properties"] for v in params["anyOf"]}
    gatys = variants["Gatys options"]
    assert gatys["iterations"]["type"] == "integer" and gatys["iterations"]["maximum"] == 2000
    assert gatys["style_weight"]["type"] == "number" and gatys["style_weight"]["maximum"] == 1e12
    assert gatys["content_layers"]["items"]["enum"] == list(options.VGG_LAYERS)
    assert variants["preset / arbitrary / fast options"]["strength"]["maximum"] == 1
    json.dumps(schema)  # a valid JSON document (no NaN/inf in bounds)
