"""The landing page's before/after examples: rendered once by a real worker (never in a request),
then public, by name only."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from gallery.landing import examples, landing_examples_ensure

pytestmark = pytest.mark.django_db(transaction=True)


def _pixels(response) -> np.ndarray:  # type: ignore[no-untyped-def]
    body = b"".join(response.streaming_content)
    return np.asarray(Image.open(io.BytesIO(body)).convert("RGB"), dtype=np.float32)


def test_a_worker_renders_the_examples_once_and_visitors_see_them(client, settings, testdata, queues, run_worker):
    settings.LANDING_EXAMPLES_DIR = str(testdata)
    settings.LANDING_EXAMPLES_MAX_SIDE = 128
    assert b"Before and after" not in client.get("/").content  # nothing rendered yet: no empty section
    landing_examples_ensure()
    assert queues["style"].count == 1
    run_worker("style")
    items = examples()
    assert [i["slug"] for i in items] == [
        "tubingen-starry-night", "golden-gate-great-wave", "chicago-the-scream", "sailboat-preset"
    ]  # fmt: skip
    landing_examples_ensure()
    assert queues["style"].count == 0  # rendered once, not at every start

    page = client.get("/").content.decode()
    assert "Before and after" in page and "How it works" in page
    for item in items:
        assert f"/examples/{item['before']}" in page and f"/examples/{item['after']}" in page
        before = _pixels(client.get(f"/examples/{item['before']}"))
        after = _pixels(client.get(f"/examples/{item['after']}"))
        assert before.shape == after.shape and max(before.shape[:2]) == 128
        assert np.abs(before - after).mean() > 10  # really restyled
    assert client.get("/examples/examples.json").status_code == 404  # only the pictures, by name
    assert client.get("/examples/..%2Fphotos%2Fx.jpg").status_code == 404


def test_the_command_renders_them_from_a_folder(testdata, tmp_path, settings):
    settings.LANDING_EXAMPLES_DIR = str(tmp_path / "nothing-here")
    out = io.StringIO()
    call_command("landing_examples", "--source", str(testdata), "--max-side", "96", stdout=out)
    assert "4 example(s) rendered." in out.getvalue() and "The Starry Night" in out.getvalue()
    assert len(examples()) == 4
