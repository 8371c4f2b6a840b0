"""Rows and the queue agree: a "queued" row whose job is gone or failed runs again or fails with a reason."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from PIL import Image
from rq.registry import FailedJobRegistry

from faces.models import FaceScan
from nstsite.jobs import LOST_TOO_LONG, reconcile
from nstsite.models import TaskStatus
from tests.faces.conftest import make_photo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def photo(user, tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "plain.png"
    Image.new("RGB", (96, 80), (120, 160, 90)).save(path)
    return make_photo(user, path)


def _lose_the_job(queue, *, to_failed: bool) -> None:  # type: ignore[no-untyped-def]
    """What a worker does while PostgreSQL is down: every job leaves the queue and fails (or vanishes)."""
    for job in queue.get_jobs():
        queue.remove(job)
        if to_failed:
            FailedJobRegistry(queue=queue).add(job, exc_string="OperationalError: connection refused")


@pytest.mark.parametrize("to_failed", [True, False], ids=["job-failed", "job-gone"])
def test_a_queued_scan_whose_job_was_lost_is_enqueued_again_and_runs(photo, queues, run_worker, to_failed):
    from faces.services import face_scan_create

    scan = face_scan_create(photo=photo)
    assert queues["faces"].count == 1
    _lose_the_job(queues["faces"], to_failed=to_failed)
    assert queues["faces"].count == 0
    assert reconcile(grace=timedelta(0)) == {"requeued": 1, "failed": 0}
    assert queues["faces"].count == 1
    run_worker("faces")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.SUCCEEDED, scan.error


def test_a_queued_row_with_a_live_job_is_left_alone(photo, queues):
    from faces.services import face_scan_create

    face_scan_create(photo=photo)
    assert reconcile(grace=timedelta(0)) == {"requeued": 0, "failed": 0}
    assert queues["faces"].count == 1


def test_a_lost_row_that_waited_too_long_is_failed_with_a_reason(photo, queues):
    from faces.services import face_scan_create

    scan = face_scan_create(photo=photo)
    _lose_the_job(queues["faces"], to_failed=True)
    FaceScan.objects.filter(pk=scan.pk).update(queued_at=timezone.now() - timedelta(days=2))
    assert reconcile(grace=timedelta(0), max_age=timedelta(days=1)) == {"requeued": 0, "failed": 1}
    scan.refresh_from_db()
    assert scan.status == TaskStatus.FAILED and scan.error == LOST_TOO_LONG


def test_asking_for_a_rescan_of_a_stuck_row_enqueues_it(photo, queues, run_worker, user_api):
    from faces.services import face_scan_create

    scan = face_scan_create(photo=photo)
    _lose_the_job(queues["faces"], to_failed=True)
    response = user_api.post("/api/v1/identify/", {"photo": photo.pk}, format="json")
    assert response.status_code == 202, response.json()
    assert queues["faces"].count == 1
    run_worker("faces")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.SUCCEEDED


def test_a_worker_starting_restarts_lost_rows(photo, queues, run_worker, settings):
    from faces.services import face_scan_create

    settings.RECONCILE_GRACE_SECONDS = 0
    scan = face_scan_create(photo=photo)
    _lose_the_job(queues["faces"], to_failed=True)
    run_worker("faces")
    scan.refresh_from_db()
    assert scan.status == TaskStatus.SUCCEEDED


def test_retrying_a_stuck_queued_render_enqueues_it(photo, queues, user_api):
    from gallery.models import Style

    preset = Style.objects.filter(kind="preset").first()
    if preset is None:
        from gallery.services import presets_sync

        presets_sync()
        preset = Style.objects.filter(kind="preset").first()
    created = user_api.post(
        "/api/v1/renders/",
        {"photo": photo.pk, "method": "preset", "styles": [{"style": preset.pk}]},
        format="json",
    )
    assert created.status_code == 202, created.json()
    _lose_the_job(queues["style"], to_failed=True)
    response = user_api.post(f"/api/v1/renders/{created.json()['id']}/retry/")
    assert response.status_code == 202, response.json()
    assert queues["style"].count == 1
