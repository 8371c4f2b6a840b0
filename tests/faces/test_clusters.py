"""Unknown faces: per-owner "who is this?" groups (incremental and DBSCAN), merge suggestions, and
threshold calibration as a proposal staff apply."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from faces.models import Assignment, Calibration, Face, Suggestion

pytestmark = pytest.mark.django_db(transaction=True)


def test_my_unknown_faces_of_one_person_are_grouped_without_a_button_and_i_name_them(
    staff_user, user, other_user, faces_dir, scan_photo, run_worker
):
    from faces.services import clustering_create, suggestion_name

    blair = sorted((faces_dir / "tony_blair").glob("*.jpg"))
    for path in blair[:5] + sorted((faces_dir / "yao_ming").glob("*.jpg"))[:1]:
        scan_photo(user, path, run=False)
    scan_photo(other_user, blair[5], run=False)  # someone else's photo of him
    run_worker("faces")
    # Grouped as the scans finished (incremental), and only with my own faces.
    groups = list(Suggestion.objects.filter(kind="cluster", status="open"))
    assert len(groups) == 1, [g.size for g in groups]
    group = groups[0]
    assert group.owner == user and 3 <= group.size <= 5
    assert {f.photo.original_name for f in group.faces.all()} <= {p.name for p in blair[:5]}
    assert {f.owner_id for f in group.faces.all()} == {user.pk}
    # Staff clustering sees only the directory's enrollment photos: nothing of users'.
    clustering_create(actor=staff_user, owner=None, min_faces=2)
    run_worker("faces")
    assert not Suggestion.objects.filter(owner__isnull=True, kind="cluster").exists()
    person = suggestion_name(suggestion=group, name="Tony Blair", actor=user)
    assert person.owner == user
    assert person.faces.filter(assignment=Assignment.CONFIRMED).count() == group.size
    # The named group now identifies a new photo of him — mine, not the other user's.
    photo = scan_photo(user, blair[5])
    face = max(Face.objects.filter(photo=photo), key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1))
    assert face.person == person and face.assignment == Assignment.AUTO
    theirs = Face.objects.filter(owner=other_user)
    assert not theirs.filter(person=person).exists()


def test_a_dismissed_group_is_not_suggested_again(user, faces_dir, scan_photo, run_worker):
    from faces.services import clustering_create, suggestion_dismiss

    blair = sorted((faces_dir / "tony_blair").glob("*.jpg"))
    for path in blair[:4]:
        scan_photo(user, path, run=False)
    run_worker("faces")
    suggestion_dismiss(suggestion=Suggestion.objects.get(kind="cluster", owner=user), actor=user)
    clustering_create(actor=user, owner=user, min_faces=3)
    run_worker("faces")
    scan_photo(user, blair[4])  # a new photo of the dismissed stranger joins the dismissed group
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


def test_calibration_is_a_proposal_applied_on_confirmation_and_an_override_wins(
    staff_user, faces_dir, enroll, run_worker, client
):
    from django.core.exceptions import ValidationError

    from faces.services import calibration_create, threshold_for, threshold_override_set

    for folder in ["colin_powell", "halle_berry", "tony_blair", "vladimir_putin", "serena_williams"]:
        enroll(staff_user, folder, sorted((faces_dir / folder).glob("*.jpg"))[:3], run=False)
    run_worker("faces")
    embedder = "facenet-casia-webface"  # the default
    assert threshold_for(embedder).source == "default"
    # 15 faces give about 90 impostor pairs: far too few to estimate a FAR of 1e-3. Refused, with why.
    with pytest.raises(ValidationError, match=r"Too few reference pairs.*at least 1000 needed"):
        calibration_create(actor=staff_user, target_far=1e-3)
    assert not Calibration.objects.exists()
    calibration_create(actor=staff_user, target_far=0.05)
    run_worker("faces")
    calibration = Calibration.objects.get()
    assert calibration.status == "succeeded", calibration.error
    assert calibration.embedder == embedder
    assert calibration.genuine_pairs > 0 and calibration.impostor_pairs > calibration.genuine_pairs
    # FaceNet: same-person pairs ≈ 0.2–0.5 apart, different people ≈ 0.7–1.2 (cosine).
    assert calibration.far <= 0.05 and 0.2 < calibration.threshold < 0.9 and calibration.tar > 0.5
    assert calibration.names_lost is not None and calibration.names_gained is not None
    assert default_storage.exists(calibration.roc.name)
    client.force_login(staff_user)
    page = client.get("/faces/thresholds/").content.decode()
    assert "would turn" in page and "Apply threshold" in page
    assert threshold_for(embedder).source == "default"  # nothing changes until it is applied
    client.post("/faces/thresholds/", {"apply": calibration.pk})
    assert threshold_for(embedder).source == "calibrated"
    assert threshold_for(embedder).value == pytest.approx(calibration.threshold)
    threshold_override_set(embedder=embedder, threshold=0.45, actor=staff_user)
    assert threshold_for(embedder).value == 0.45
    page = client.get("/faces/thresholds/").content.decode()
    assert "0.4500" in page and f"/faces/calibrations/{calibration.pk}/roc.png" in page
    assert client.get(f"/faces/calibrations/{calibration.pk}/roc.png").status_code == 200
