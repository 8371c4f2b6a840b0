"""Security headers (CSP without inline script, Permissions-Policy) and an honest, discreet /healthz."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django_rq
import pytest
from rq.utils import utcformat

from nstsite.worker import WarmWorker

pytestmark = pytest.mark.django_db

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_public_pages_send_csp_and_permissions_policy(client, path):
    response = client.get(path)
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"]


def test_signed_in_pages_have_no_inline_script_or_event_handler(client, user, staff_user, tmp_path):
    from PIL import Image

    from faces.services import person_create
    from gallery.models import Photo
    from tests.faces.conftest import make_photo

    Image.new("RGB", (64, 64), "teal").save(tmp_path / "p.png")
    photo: Photo = make_photo(user, tmp_path / "p.png")
    mine = person_create(name="Ada", actor=user, owner=user)
    directory = person_create(name="Grace", actor=staff_user)
    pages = {
        user: ["/", "/upload/", "/styles/", "/faces/", "/faces/verify/", "/accounts/profile/", "/api/docs/",
               f"/photos/{photo.pk}/", f"/faces/photos/{photo.pk}/", "/faces/people/", f"/faces/people/{mine.pk}/"],
        staff_user: ["/faces/directory/", f"/faces/directory/{directory.pk}/", "/faces/history/"],
    }  # fmt: skip
    for viewer, paths in pages.items():
        client.force_login(viewer)
        for page in paths:
            response = client.get(page)
            assert response.status_code == 200, page
            body = response.content.decode().split("<body", 1)[-1]
            assert not INLINE_SCRIPT.search(body), (page, INLINE_SCRIPT.search(body))
            assert not INLINE_HANDLER.search(body), (page, INLINE_HANDLER.search(body))


def test_no_template_has_an_inline_handler_or_script():
    """Every template, including pages no test above renders (the CSP would silently disable them)."""
    from django.conf import settings

    roots = [Path(d) for t in settings.TEMPLATES for d in t["DIRS"]]
    templates = [p for root in roots for p in root.rglob("*.html")]
    assert len(templates) > 20
    offenders = [f"{p}: {m.group(0)}" for p in templates for m in (INLINE_HANDLER.search(p.read_text()),) if m]
    offenders += [f"{p}: {m.group(0)}" for p in templates for m in (INLINE_SCRIPT.search(p.read_text()),) if m]
    assert not offenders, offenders


def test_anonymous_healthz_says_only_the_status(client, queues):
    response = client.get("/healthz")
    assert set(response.json()) == {"status"}
    assert b"sock" not in response.content and b"postgres" not in response.content


def test_staff_and_a_monitor_token_see_the_details(admin_client, client, settings, queues):
    assert "database" in admin_client.get("/healthz").json()
    settings.HEALTHZ_TOKEN = "s3cret-monitor"
    assert "workers" in client.get("/healthz", HTTP_AUTHORIZATION="Bearer s3cret-monitor").json()
    assert set(client.get("/healthz", HTTP_AUTHORIZATION="Bearer wrong").json()) == {"status"}


def _registered_worker(queues) -> WarmWorker:  # type: ignore[no-untyped-def]
    worker = WarmWorker(list(queues.values()), connection=django_rq.get_connection("style"))
    worker.register_birth()
    return worker


def test_a_worker_whose_process_died_is_not_counted_as_live(admin_client, queues):
    worker = _registered_worker(queues)
    dead = subprocess.Popen(["true"])
    dead.wait()
    worker.connection.hset(worker.key, "pid", dead.pid)  # what a kill -9 leaves behind: a fresh key, no process
    try:
        response = admin_client.get("/healthz")
    finally:
        worker.register_death()
    assert response.status_code == 503
    assert response.json()["workers"]["workers"] == {"style": 0, "style-slow": 0, "faces": 0}


def test_a_worker_silent_for_too_long_is_not_counted_as_live(admin_client, queues, settings):
    worker = _registered_worker(queues)
    old = datetime.now(UTC) - timedelta(seconds=settings.WORKER_LIVE_SECONDS + 30)
    worker.connection.hset(worker.key, "last_heartbeat", utcformat(old))
    try:
        response = admin_client.get("/healthz")
    finally:
        worker.register_death()
    assert response.status_code == 503
