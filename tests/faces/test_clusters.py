"""Unknown faces: DBSCAN groups staff can name or dismiss, merge suggestions, and threshold calibration."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from faces.models import Assignment, Calibration, Face, Suggestion

pytestmark = pytest.mark.django_db(transaction=True)


def test_unknown_faces_of_one_person_are_grouped_and_can_be_named(staff_user, user, faces_dir, scan_photo, run_worker):
    from faces.services import clustering_create, suggestion_name

    blair = sorted((faces_dir / "tony_blair").glob("*.jpg"))
    for path in blair[:5] + sorted((faces_dir / "yao_ming").glob("*.jpg"))[:1]:
        scan_photo(user, path, run=False)
    run_worker("faces")
    clustering_create(actor=staff_user, min_faces=3)
    run_worker("faces")
    groups = list(Suggestion.objects.filter(kind="cluster", status="open"))
    assert len(groups) == 1, [g.size for g in groups]
    group = groups[0]
    assert 3 <= group.size <= 5
    assert {f.photo.original_name for f in group.faces.all()} <= {p.name for p in blair}
    person = suggestion_name(suggestion=group, name="Tony Blair", actor=staff_user)
    assert person.faces.filter(assignment=Assignment.CONFIRMED).count() == group.size
    # The named group now identifies a new photo of him.
    photo = scan_photo(user, blair[5])
    face = max(Face.objects.filter(photo=photo), key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1))
    assert face.person == person and face.assignment == Assignment.AUTO


def test_a_dismissed_group_is_not_suggested_again(staff_user, user, faces_dir, scan_photo, run_worker):
    from faces.services import clustering_create, suggestion_dismiss

    for path in sorted((faces_dir / "tony_blair").glob("*.jpg"))[:4]:
        scan_photo(user, path, run=False)
    run_worker("faces")
    clustering_create(actor=staff_user, min_faces=3)
    run_worker("faces")
    suggestion_dismiss(suggestion=Suggestion.objects.get(kind="cluster"), actor=staff_user)
    clustering_create(actor=staff_user, min_faces=3)
    run_worker("faces")
    assert not Suggestion.objects.filter(status="open").exists()


def test_one_person_enrolled_twice_is_suggested_for_a_merge(staff_user, faces_dir, enroll, run_worker):
    from faces.services import clustering_create, suggestion_merge

    photos = sorted((faces_dir / "colin_powell").glob("*.jpg"))
    a = enroll(staff_user, "Colin Powell", photos[:2], run=False)
    b = enroll(staff_user, "C. Powell", photos[2:4], run=False)
    enroll(staff_user, "Halle Berry", sorted((faces_dir / "halle_berry").glob("*.jpg"))[:2], run=False)
    run_worker("faces")
    clustering_create(actor=staff_user)
    run_worker("faces")
    merges = list(Suggestion.objects.filter(kind="merge", status="open"))
    assert [{m.person_a_id, m.person_b_id} for m in merges] == [{a.pk, b.pk}]
    suggestion_merge(suggestion=merges[0], actor=staff_user)
    b.refresh_from_db()
    assert b.merged_into is not None


def test_calibration_sets_the_threshold_and_draws_the_roc_and_an_override_wins(
    staff_user, faces_dir, enroll, run_worker, client
):
    from faces.services import calibration_create, threshold_for, threshold_override_set

    for folder in ["colin_powell", "halle_berry", "tony_blair", "vladimir_putin", "serena_williams"]:
        enroll(staff_user, folder, sorted((faces_dir / folder).glob("*.jpg"))[:3], run=False)
    run_worker("faces")
    embedder = "facenet-casia-webface"  # the default
    assert threshold_for(embedder).source == "default"
    calibration_create(actor=staff_user, target_far=1e-3)
    run_worker("faces")
    calibration = Calibration.objects.get()
    assert calibration.status == "succeeded", calibration.error
    assert calibration.embedder == embedder
    assert calibration.genuine_pairs > 0 and calibration.impostor_pairs > calibration.genuine_pairs
    # FaceNet: same-person pairs ≈ 0.2–0.5 apart, different people ≈ 0.7–1.2 (cosine).
    assert calibration.far <= 1e-3 and 0.2 < calibration.threshold < 0.9 and calibration.tar > 0.5
    assert default_storage.exists(calibration.roc.name)
    assert threshold_for(embedder).source == "calibrated"
    threshold_override_set(embedder=embedder, threshold=0.45, actor=staff_user)
    assert threshold_for(embedder).value == 0.45
    client.force_login(staff_user)
    page = client.get("/faces/thresholds/").content.decode()
    assert "0.4500" in page and f"/faces/calibrations/{calibration.pk}/roc.png" in page
    assert client.get(f"/faces/calibrations/{calibration.pk}/roc.png").status_code == 200
