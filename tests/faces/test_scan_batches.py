"""Bulk scanning: one job takes on several queued scans and gives each what a lone scan would."""

from __future__ import annotations

import numpy as np
import pytest

from faces.jobs import face_scan_run
from faces.models import Face, FaceScan
from tests.faces.conftest import make_photo

pytestmark = pytest.mark.django_db(transaction=True)

GROUP = [
    "face_recognition__two_people.jpg",
    "facenet-pytorch__multiface.jpg",
    "CompreFace__013_4.jpg",
    "CompreFace__017_0.jpg",  # no face at all
    "deepface__couple.jpg",
]


def _queue(owner, group_dir):  # type: ignore[no-untyped-def]
    from faces.services import face_scan_create

    return [face_scan_create(photo=make_photo(owner, group_dir / name)) for name in GROUP]


def _faces(photo):  # type: ignore[no-untyped-def]
    faces = sorted(Face.objects.filter(photo=photo), key=lambda f: (f.x1, f.y1))
    boxes = np.array([f.box for f in faces], dtype=np.float64).reshape(-1, 4)
    return boxes, [np.asarray(f.embedding, dtype=np.float64) for f in faces]


def test_a_batched_scan_finds_the_same_faces_and_embeddings_as_scans_one_by_one(
    user, other_user, group_dir, run_worker, settings
):
    settings.FACES_SCAN_BATCH = 1
    alone = _queue(user, group_dir)
    run_worker("faces")
    settings.FACES_SCAN_BATCH = 8
    together = _queue(other_user, group_dir)
    face_scan_run(together[0].pk)  # one job: it takes on the other four queued scans
    assert set(FaceScan.objects.filter(pk__in=[s.pk for s in together]).values_list("status", flat=True)) == {
        "succeeded"
    }
    run_worker("faces")  # their own jobs find the rows claimed and change nothing
    total = 0
    for one, many in zip(alone, together, strict=True):
        one.refresh_from_db()
        many.refresh_from_db()
        assert one.status == many.status == "succeeded", (one.error, many.error)
        assert one.face_count == many.face_count
        boxes_one, vectors_one = _faces(one.photo)
        boxes_many, vectors_many = _faces(many.photo)
        assert boxes_one.shape == boxes_many.shape
        assert np.abs(boxes_one - boxes_many).max(initial=0) < 1e-3
        assert all(np.abs(a - b).max() < 1e-4 for a, b in zip(vectors_one, vectors_many, strict=True))
        total += len(boxes_one)
    assert total >= 12  # real group photos: the comparison covered many faces


def test_one_unreadable_photo_fails_only_its_own_scan_in_a_batch(user, group_dir, settings):
    settings.FACES_SCAN_BATCH = 8
    scans = _queue(user, group_dir)
    broken = scans[2]
    with open(broken.photo.image.path, "wb") as handle:  # the stored file got damaged after upload
        handle.write(b"\xff\xd8\xff\xe0 not a jpeg any more")
    face_scan_run(scans[0].pk)
    broken.refresh_from_db()
    assert broken.status == "failed" and broken.error
    assert not Face.objects.filter(photo=broken.photo).exists()
    others = FaceScan.objects.filter(pk__in=[s.pk for s in scans]).exclude(pk=broken.pk)
    assert set(others.values_list("status", flat=True)) == {"succeeded"}


def test_the_jobs_own_broken_photo_fails_its_job_and_the_others_still_finish(user, group_dir, settings):
    settings.FACES_SCAN_BATCH = 8
    scans = _queue(user, group_dir)
    with open(scans[0].photo.image.path, "wb") as handle:
        handle.write(b"garbage")
    with pytest.raises(Exception):  # noqa: B017 - RQ's failure callback turns whatever it is into a message
        face_scan_run(scans[0].pk)
    rest = FaceScan.objects.filter(pk__in=[s.pk for s in scans[1:]])
    assert set(rest.values_list("status", flat=True)) == {"succeeded"}


def test_a_cancelled_or_finished_scan_is_not_taken_into_a_batch(user, group_dir, settings):
    settings.FACES_SCAN_BATCH = 8
    scans = _queue(user, group_dir)
    FaceScan.cancel(scans[3].pk)
    face_scan_run(scans[0].pk)
    cancelled = FaceScan.objects.get(pk=scans[3].pk)
    assert cancelled.status == "cancelled" and cancelled.face_count is None
    assert FaceScan.objects.filter(pk__in=[scans[i].pk for i in (0, 1, 2, 4)], status="succeeded").count() == 4


def test_the_batch_size_bounds_how_many_scans_one_job_takes(user, group_dir, settings):
    settings.FACES_SCAN_BATCH = 2
    scans = _queue(user, group_dir)
    face_scan_run(scans[0].pk)
    statuses = list(
        FaceScan.objects.filter(pk__in=[s.pk for s in scans]).order_by("id").values_list("status", flat=True)
    )
    assert statuses == ["succeeded", "succeeded", "queued", "queued", "queued"]
