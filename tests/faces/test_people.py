"""People management: merge and undo, erasure (service, page, API, admin bulk action), kept confirmations."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage

from faces.models import Assignment, Face, PeopleEvent, Person, Upload

pytestmark = pytest.mark.django_db(transaction=True)


def _files_of(person_faces, uploads):  # type: ignore[no-untyped-def]
    names = [f.crop.name for f in person_faces if f.crop] + [u.image.name for u in uploads]
    assert names and all(default_storage.exists(n) for n in names)
    return names


@pytest.fixture
def obama_biden(staff_user, faces_dir, enroll):  # type: ignore[no-untyped-def]
    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2], run=False)
    biden = enroll(staff_user, "Joe Biden", sorted((faces_dir / "joe_biden").glob("*.jpg")))
    return obama, biden


def test_merge_then_undo_restores_both_people(staff_user, user, obama_biden, faces_dir, scan_photo):
    from faces.services import event_undo, face_reject, person_merge

    obama, biden = obama_biden
    obama_faces = set(obama.faces.values_list("id", flat=True))
    biden_faces = set(biden.faces.values_list("id", flat=True))
    # A user's face that said "not Joe Biden" must say "not Obama" while merged, and only then.
    photo = scan_photo(user, faces_dir / "barack_obama" / "4.jpg")
    face = Face.objects.get(photo=photo)
    assert face.person == obama
    face_reject(face=face, actor=user)
    assert set(Face.objects.get(pk=face.pk).rejected.all()) == {obama}

    event = person_merge(source=biden, target=obama, actor=staff_user)
    assert set(obama.faces.values_list("id", flat=True)) == obama_faces | biden_faces
    assert Person.objects.get(pk=biden.pk).merged_into == obama
    assert Upload.objects.filter(person=obama).count() == 4

    event_undo(event=event, actor=staff_user)
    biden.refresh_from_db()
    assert biden.merged_into is None and biden.name == "Joe Biden"
    assert set(obama.faces.values_list("id", flat=True)) == obama_faces
    assert set(biden.faces.values_list("id", flat=True)) == biden_faces
    assert Upload.objects.filter(person=biden).count() == 2
    assert set(Face.objects.get(pk=face.pk).rejected.all()) == {obama}
    assert list(PeopleEvent.objects.values_list("action", flat=True)[:2]) == ["unmerge", "merge"]
    with pytest.raises(Exception, match="already undone"):
        event_undo(event=event, actor=staff_user)


def test_people_seen_together_in_a_photo_are_not_merged(staff_user, user, obama_biden, group_dir, scan_photo):

    from faces.services import person_merge

    obama, biden = obama_biden
    scan_photo(user, group_dir / "face_recognition__two_people.jpg")
    with pytest.raises(ValidationError, match="appear together"):
        person_merge(source=biden, target=obama, actor=staff_user)


def test_deleting_a_person_erases_enrollment_photos_and_unlinks_users_faces(
    staff_user, user, obama_biden, faces_dir, scan_photo, client, run_worker
):
    obama, biden = obama_biden
    photo = scan_photo(user, faces_dir / "barack_obama" / "4.jpg")  # a user's photo identified as Obama
    users_face = Face.objects.get(photo=photo)
    assert users_face.person == obama
    enrolled = list(obama.faces.filter(assignment="enrolled"))
    files = _files_of(enrolled, obama.uploads.all())
    client.force_login(staff_user)
    response = client.post(f"/faces/directory/{obama.pk}/delete/")
    assert response.status_code == 302
    assert not Person.objects.filter(pk=obama.pk).exists()
    assert not Face.objects.filter(pk__in=[f.pk for f in enrolled]).exists()
    assert not Upload.objects.filter(person_id=obama.pk).exists()
    assert not any(default_storage.exists(n) for n in files)
    users_face.refresh_from_db()  # the user's face stays, unknown, with its crop
    assert users_face.person is None and users_face.assignment == Assignment.NONE
    assert default_storage.exists(users_face.crop.name)
    event = PeopleEvent.objects.get(action="delete", person_name="Barack Obama")
    assert event.details["unlinked"] == 1 and event.owner is None
    assert Person.objects.filter(pk=biden.pk).exists() and biden.faces.count() == 2
    # Scanning again does not bring Obama back: the face comes back unknown.
    from faces.services import face_scan_create

    face_scan_create(photo=photo)
    run_worker("faces")
    again = Face.objects.get(photo=photo)
    assert again.person is None and again.assignment == Assignment.NONE


def test_the_admin_bulk_delete_erases_files_too(staff_user, obama_biden, client, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-ROOT-12345")
    obama, biden = obama_biden
    files = _files_of(list(obama.faces.all()) + list(biden.faces.all()), Upload.objects.all())
    client.force_login(admin)
    response = client.post(
        "/admin/faces/person/",
        {"action": "delete_selected", "_selected_action": [obama.pk, biden.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert Person.objects.count() == 0 and Face.objects.count() == 0 and Upload.objects.count() == 0
    assert not any(default_storage.exists(n) for n in files)
    assert PeopleEvent.objects.filter(action="delete").count() == 2


def test_confirmations_survive_a_new_scan_and_rejections_are_remembered(
    staff_user, user, obama_biden, group_dir, scan_photo, run_worker
):
    from faces.services import face_assign, face_reject, face_scan_create

    obama, biden = obama_biden
    photo = scan_photo(user, group_dir / "face_recognition__two_people.jpg")
    left, right = Face.objects.filter(photo=photo).order_by("x1")
    assert (left.person, right.person) == (obama, biden)
    face_reject(face=right, actor=user)  # "not Biden" (wrong, but the user's word counts)
    face_assign(face=left, person=obama, actor=user)  # confirmed
    face_scan_create(photo=photo)
    run_worker("faces")
    left.refresh_from_db()
    right.refresh_from_db()
    assert Face.objects.filter(photo=photo).count() == 2
    assert left.person == obama and left.assignment == Assignment.CONFIRMED
    assert right.person != biden and biden in right.rejected.all()
    assert right.person is None  # Obama is taken in this photo, Biden is rejected


def test_photo_faces_delete_removes_rows_and_crops(user, staff_user, obama_biden, group_dir, scan_photo):
    from faces.services import photo_faces_delete

    photo = scan_photo(user, group_dir / "face_recognition__two_people.jpg")
    crops = [f.crop.name for f in Face.objects.filter(photo=photo)]
    assert len(crops) == 2 and all(default_storage.exists(c) for c in crops)
    assert photo_faces_delete(photo=photo) == 2
    assert not Face.objects.filter(photo=photo).exists()
    assert not any(default_storage.exists(c) for c in crops)


def test_renaming_is_logged_and_can_be_undone(staff_user, obama_biden):
    from faces.services import event_undo, person_update

    obama, _ = obama_biden
    person_update(person=obama, actor=staff_user, name="B. Obama")
    event = PeopleEvent.objects.get(action="rename")
    event_undo(event=event, actor=staff_user)
    obama.refresh_from_db()
    assert obama.name == "Barack Obama"


def test_import_people_enrolls_folders_and_reports_what_was_skipped(staff_user, faces_dir, tmp_path: Path, capsys):
    from django.core.management import call_command

    (tmp_path / "kit_harington").mkdir()
    for p in sorted((faces_dir / "kit_harington").glob("*.jpg"))[:2]:
        (tmp_path / "kit_harington" / p.name).write_bytes(p.read_bytes())
    (tmp_path / "empty_person").mkdir()
    (tmp_path / "no_face").mkdir()
    (tmp_path / "no_face" / "blank.jpg").write_bytes(b"not an image at all")
    call_command("import_people", str(tmp_path), user=staff_user.username)
    out = capsys.readouterr().out
    person = Person.objects.get(name="Kit Harington")
    assert person.faces.filter(assignment="enrolled").count() == 2
    assert "empty_person/: no photos" in out and "no_face/blank.jpg: unreadable" in out
    call_command("import_people", str(tmp_path), user=staff_user.username)
    assert "already enrolled" in capsys.readouterr().out
    assert person.faces.count() == 2


def test_import_people_enrolls_into_the_directory_never_a_users_same_named_person(
    user, staff_user, faces_dir, tmp_path: Path
):
    from django.core.management import call_command

    from faces.references import face_enroll
    from faces.services import person_create

    private = person_create(name="Kit Harington", actor=user, owner=user)
    (tmp_path / "kit_harington").mkdir()
    photo = sorted((faces_dir / "kit_harington").glob("*.jpg"))[0]
    (tmp_path / "kit_harington" / photo.name).write_bytes(photo.read_bytes())
    call_command("import_people", str(tmp_path), user=staff_user.username)
    directory = Person.objects.get(name="Kit Harington", owner__isnull=True)
    assert directory.faces.filter(assignment="enrolled").count() == 1
    assert not private.faces.exists() and not private.uploads.exists()
    # No path may make a user's person a reference for everyone.
    with pytest.raises(ValidationError):
        face_enroll(face=directory.faces.get(), person=private, actor=staff_user)
