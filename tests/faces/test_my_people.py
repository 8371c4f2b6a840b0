"""Your people: rename, hide, merge with undo, delete, link to the directory; undo a naming or a
"not this person"; the people pages."""

from __future__ import annotations

import pytest

from faces.models import Assignment, Face, PeopleEvent, Person

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kit_photos(user, faces_dir, scan_photo, run_worker):  # type: ignore[no-untyped-def]
    photos = [scan_photo(user, p, run=False) for p in sorted((faces_dir / "kit_harington").glob("*.jpg"))[:3]]
    run_worker("faces")
    return photos


def _face(photo):  # type: ignore[no-untyped-def]
    return max(Face.objects.filter(photo=photo), key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1))


def test_merge_my_two_people_and_undo_it(user, kit_photos, run_worker, client):
    from faces.services import event_undo, face_name, person_merge

    a = face_name(face=_face(kit_photos[0]), name="Kit", actor=user).person
    b = face_name(face=_face(kit_photos[1]), name="Jon Snow", actor=user).person
    assert a.owner == b.owner == user
    event = person_merge(source=b, target=a, actor=user)
    assert _face(kit_photos[1]).person == a
    assert event.owner == user
    client.force_login(user)
    page = client.get(f"/faces/people/{a.pk}/").content.decode()
    assert "Jon Snow" in page and f"/faces/changes/{event.pk}/undo/" in page
    assert client.post(f"/faces/changes/{event.pk}/undo/").status_code == 302
    b.refresh_from_db()
    assert b.merged_into is None and _face(kit_photos[1]).person == b
    # Staff history never lists a user's edits.
    assert not PeopleEvent.objects.filter(owner__isnull=True).exists()
    with pytest.raises(Exception, match="already undone"):
        event_undo(event=event, actor=user)


def test_a_wrong_naming_and_a_not_this_person_can_be_undone(user, kit_photos, client, run_worker):
    from faces.services import face_name

    face = _face(kit_photos[0])
    client.force_login(user)
    assert client.post(f"/faces/faces/{face.pk}/assign/", {"name": "Rose"}).status_code == 302
    face.refresh_from_db()
    rose = face.person
    assert rose.name == "Rose" and rose.owner == user and face.assignment == Assignment.CONFIRMED
    page = client.get(f"/faces/photos/{kit_photos[0].pk}/").content.decode()
    naming = PeopleEvent.objects.get(action="reassign", owner=user)
    assert f"/faces/changes/{naming.pk}/undo/" in page
    client.post(f"/faces/changes/{naming.pk}/undo/")
    face.refresh_from_db()
    assert face.person is None and face.assignment == Assignment.NONE
    # "Not this person", then undo: the name and the assignment come back, the rejection goes.
    face_name(face=face, name="Kit", actor=user)
    run_worker("faces")
    other = _face(kit_photos[1])
    kit = Person.objects.get(name="Kit", owner=user)
    assert other.person == kit and other.assignment == Assignment.AUTO
    distance = other.distance
    page = f"/faces/photos/{kit_photos[1].pk}/"
    answer = client.post(f"/faces/faces/{other.pk}/reject/", {"next": page}, follow=True).content.decode()
    other.refresh_from_db()
    assert other.person is None and kit in other.rejected.all()
    # The page says what happened and offers the undo right there.
    rejection = PeopleEvent.objects.get(action="reject", owner=user)
    assert "Noted: not Kit, and never suggested again. It is now an unknown face." in answer
    assert f'action="/faces/changes/{rejection.pk}/undo/"' in answer
    assert client.post(f"/faces/changes/{rejection.pk}/undo/", {"next": page}).url == page
    other.refresh_from_db()
    assert other.person == kit and other.assignment == Assignment.AUTO and other.distance == distance
    assert kit not in other.rejected.all()


def test_hide_and_delete_my_person_and_the_people_page(user, kit_photos, client):
    from faces.services import face_name

    kit = face_name(face=_face(kit_photos[0]), name="Kit", actor=user).person
    kit.refresh_from_db()
    client.force_login(user)
    page = client.get("/faces/people/").content.decode()
    assert "Kit" in page and f"/faces/crops/{kit.cover_id}.jpg" in page
    person_page = client.get(f"/faces/people/{kit.pk}/")
    assert {p.pk for p in person_page.context["photos"]} >= {kit_photos[0].pk}
    client.post(f"/faces/people/{kit.pk}/", {"name": "Kit H", "hidden": "on"})
    kit.refresh_from_db()
    assert kit.name == "Kit H" and kit.hidden
    assert "Kit H" not in client.get("/faces/people/").content.decode()
    client.post(f"/faces/people/{kit.pk}/delete/")
    assert not Person.objects.filter(pk=kit.pk).exists()
    face = _face(kit_photos[0])
    assert face.person is None and face.embedding is not None  # the face stays, unknown


def test_linking_to_the_directory_needs_a_match_and_sharing_needs_consent(
    staff_user, user, faces_dir, enroll, kit_photos, client
):
    from django.core.exceptions import PermissionDenied, ValidationError

    from faces.services import face_name, face_share, person_link, shared_face_enroll

    kit_dir = enroll(staff_user, "Kit Harington", sorted((faces_dir / "kit_harington").glob("*.jpg"))[2:3])
    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    face = _face(kit_photos[0])
    mine = face_name(face=face, name="Kit", actor=user).person
    with pytest.raises(ValidationError, match="do not match"):
        person_link(person=mine, directory_person=obama, actor=staff_user)
    client.force_login(user)
    assert client.post(f"/faces/people/{mine.pk}/link/", {"directory_person": kit_dir.pk}).status_code == 302
    mine.refresh_from_db()
    assert mine.directory_person == kit_dir
    person_link(person=mine, directory_person=None, actor=user)
    person_link(person=mine, directory_person=kit_dir, actor=user)
    with pytest.raises(PermissionDenied):
        shared_face_enroll(face=face, person=kit_dir, actor=staff_user)  # not shared: refused
    page = client.get(f"/faces/photos/{kit_photos[0].pk}/").content.decode()
    assert "Offer to the directory" in page
    client.post(f"/faces/faces/{face.pk}/share/", {"shared": "1"})
    face.refresh_from_db()
    assert face.shared
    shared_face_enroll(face=face, person=kit_dir, actor=staff_user)
    face.refresh_from_db()
    assert face.assignment == Assignment.ENROLLED and face.person == kit_dir
    face_share(face=face, shared=False, actor=user)  # consent withdrawn: out of the directory
    face.refresh_from_db()
    assert face.assignment == Assignment.NONE and not face.shared


def test_background_renaming_never_overwrites_a_confirmation(user, kit_photos, run_worker):
    from faces.services import face_name

    wrong = face_name(face=_face(kit_photos[1]), name="Jon Snow", actor=user)  # the owner's word, even if odd
    face_name(face=_face(kit_photos[0]), name="Kit", actor=user)
    run_worker("faces")  # re-identification of the owner's unconfirmed faces
    wrong.refresh_from_db()
    assert wrong.person.name == "Jon Snow" and wrong.assignment == Assignment.CONFIRMED
    assert _face(kit_photos[2]).person.name in ("Kit", "Jon Snow")  # the open face was named again
    assert _face(kit_photos[2]).assignment == Assignment.AUTO


def test_deleting_my_account_takes_my_people_with_my_faces(user, staff_user, kit_photos):
    from faces.services import face_name, person_create

    kit = face_name(face=_face(kit_photos[0]), name="Kit", actor=user).person
    directory = person_create(name="Someone Known", actor=staff_user)
    face_name(face=_face(kit_photos[1]), name="Someone Known", actor=user)  # a directory name, mine to use
    user.delete()  # Face.person is RESTRICT: allowed because my faces go in the same delete
    assert not Person.objects.filter(pk=kit.pk).exists()
    assert Person.objects.filter(pk=directory.pk).exists()
    assert not Face.objects.exists()
