"""Uploads are checked and stored one file at a time: a request's memory is one decoded image, not all."""

from __future__ import annotations

import importlib.util
import os

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.django_db(transaction=True)


def _bench():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("upload_memory_bench", ROOT / "bench" / "upload_memory_bench.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_six_large_pngs_in_one_request_hold_about_one_decoded_image_at_a_time(settings, tmp_path):
    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {**os.environ, "DATABASE_URL": database_url, "MEDIA_ROOT": str(tmp_path), "FACES_DETECT_ON_UPLOAD": "false"}
    megapixels = 16
    result = _bench().measure(6, megapixels, env)
    one_image_mib = megapixels * 1e6 * 4 / 2**20  # Pillow keeps RGB as 4 bytes a pixel
    # All six decoded at once (what the request did before) would be ≥ 6 images; one at a time is ~1.
    assert result["growth_mib"] < 2.5 * one_image_mib, result
