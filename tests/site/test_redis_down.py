"""Redis down: the API still answers (rate limits fail open), uploads are saved with a clear message.

These tests stop the suite's real embedded Redis and start it again afterwards.
"""

from __future__ import annotations

import io
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from faces.models import FaceScan
from gallery.models import Photo
from nstsite import embedded
from nstsite.jobs import QUEUE_DOWN
from nstsite.models import TaskStatus
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _embedded_redis() -> tuple[Path, Path]:
    url = os.environ["REDIS_URL"]
    if not url.startswith("unix://"):
        pytest.skip("REDIS_URL names an external Redis; these tests stop the embedded one")
    sock = Path(url.removeprefix("unix://"))
    return sock.parent, sock


@pytest.fixture
def redis_down(queues) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Stop the embedded Redis for the test; start it again afterwards (its data survives in the AOF)."""
    data_dir, sock = _embedded_redis()
    pid = int((data_dir / "redis.pid").read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while embedded._redis_answers(sock) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not embedded._redis_answers(sock)
    try:
        yield
    finally:
        if not embedded._redis_answers(sock):
            embedded._start_redis(data_dir, sock)


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "olive").save(buffer, "PNG")
    return SimpleUploadedFile("p.png", buffer.getvalue(), "image/png")


def test_the_api_answers_without_500_while_redis_is_down(api_client, user, redis_down):
    api_client.force_authenticate(user)
    assert api_client.get("/api/v1/photos/").status_code == 200
    assert api_client.get("/api/v1/renders/").status_code == 200
    assert api_client.get("/api/v1/me/").status_code == 200


def test_the_token_endpoint_and_the_web_login_work_while_redis_is_down(api_client, client, user, redis_down):
    response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}, format="json")
    assert response.status_code == 200 and response.json()["token"]
    assert client.post("/accounts/login/", {"username": "alice", "password": PASSWORD}).status_code == 302


def test_an_upload_is_saved_and_says_press_retry_while_redis_is_down(user_api, settings, redis_down):
    settings.FACES_DETECT_ON_UPLOAD = True
    response = user_api.post("/api/v1/photos/", {"images": [_png()]}, format="multipart")
    assert response.status_code == 201, response.content
    photo = Photo.objects.get()
    assert photo.image.storage.exists(photo.image.name)
    scan = FaceScan.objects.get(photo=photo)
    assert scan.status == TaskStatus.FAILED and scan.error == QUEUE_DOWN


def test_healthz_reports_redis_down_as_503_not_500(client, redis_down):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
