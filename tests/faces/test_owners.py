"""Faces belong to their owners: whose answers count where, who sees what, and names kept current."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from faces.models import Assignment, Face, Person
from tests.faces.conftest import make_photo

pytestmark = pytest.mark.django_db(transaction=True)


def _main_face(photo):  # type: ignore[no-untyped-def]
    return max(Face.objects.filter(photo=photo), key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1))


def _results(photos):  # type: ignore[no-untyped-def]
    # Distances to 6 places: a rescan may embed the photo in a batch with others, which moves the
    # float32 sums by ~1e-7 without changing anything a user could see.
    return {
        f.pk: (f.person.name if f.person else None, f.assignment, None if f.distance is None else round(f.distance, 6))
        for p in photos
        for f in Face.objects.filter(photo=p).select_related("person")
    }


def _directory_snapshot():  # type: ignore[no-untyped-def]
    from faces.identify import nearest

    references = set(Face.objects.filter(assignment="enrolled").values_list("id", "person_id"))
    probes = Face.objects.filter(assignment="enrolled").order_by("id")[:3]
    answers = [[(n.face_id, n.person_id, n.distance) for n in nearest(f.embedding, f.embedder, 5)] for f in probes]
    return references, answers


def test_another_users_answers_change_neither_my_names_nor_the_directory(
    staff_user, user, other_user, faces_dir, enroll, scan_photo, api_client, run_worker
):
    from faces.services import face_scan_create

    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    blair = sorted((faces_dir / "tony_blair").glob("*.jpg"))
    mine = [scan_photo(user, blair[0]), scan_photo(user, faces_dir / "barack_obama" / "3.jpg")]
    before = _results(mine)
    assert sorted(v[0] or "" for v in before.values()) == ["", "Barack Obama"]
    directory_before = _directory_snapshot()

    # Mallory (B) names her photos of Tony Blair "Barack Obama", confirms, corrects and rejects.
    theirs = [scan_photo(other_user, p, run=False) for p in blair[1:4]]
    theirs.append(scan_photo(other_user, faces_dir / "barack_obama" / "4.jpg", run=False))
    run_worker("faces")
    api_client.force_authenticate(other_user)
    for photo in theirs[:3]:
        face = _main_face(photo)
        response = api_client.post(f"/api/v1/faces/{face.pk}/assign/", {"person": obama.pk}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["person"]["name"] == "Barack Obama"
        assert api_client.post(f"/api/v1/faces/{face.pk}/confirm/").status_code == 200
    real_obama = _main_face(theirs[3])
    assert real_obama.person == obama
    assert api_client.post(f"/api/v1/faces/{real_obama.pk}/reject/").status_code == 200
    named = api_client.post(f"/api/v1/faces/{real_obama.pk}/assign/", {"name": "Not Obama"}, format="json")
    assert named.status_code == 200 and named.json()["person"]["name"] == "Not Obama"
    run_worker("faces")

    # Her answers shape her results: a new photo of Blair is "Barack Obama" for her…
    hers = scan_photo(other_user, blair[4])
    assert _main_face(hers).person == obama
    # …and nobody else's: my photos scanned again keep the same names at the same distances.
    for photo in mine:
        face_scan_create(photo=photo)
    run_worker("faces")
    assert _results(mine) == before
    mine_new = scan_photo(user, blair[5])
    assert _main_face(mine_new).person is None
    assert _directory_snapshot() == directory_before
    assert not Person.objects.filter(owner__isnull=True, name="Not Obama").exists()


def test_naming_with_a_person_the_caller_cannot_see_is_404_without_the_name(
    staff_user, user, other_user, testdata, api_client
):
    from faces.services import person_create

    secret = person_create(name="Secret Sweetheart", actor=user, owner=user)
    hidden = person_create(name="Hidden Celebrity", actor=staff_user)
    hidden.hidden = True
    hidden.save()
    photo = make_photo(other_user, testdata / "faces" / "tony_blair" / "1.jpg")
    face = Face.objects.create(owner=other_user, photo=photo, x1=0, y1=0, x2=10, y2=10, score=1, embedder="x")
    api_client.force_authenticate(other_user)
    for person_id in (secret.pk, hidden.pk, 999999):
        response = api_client.post(f"/api/v1/faces/{face.pk}/assign/", {"person": person_id}, format="json")
        assert response.status_code == 404
        assert "Secret" not in response.content.decode() and "Celebrity" not in response.content.decode()
    face.refresh_from_db()
    assert face.person is None
    listed = api_client.get("/api/v1/people/").json()["results"]
    assert [p["name"] for p in listed] == []
    known = person_create(name="Public Figure", actor=staff_user)
    listed = api_client.get("/api/v1/people/").json()["results"]
    assert listed == [{"id": known.pk, "name": "Public Figure", "directory": True}]  # by name only
    assert api_client.get(f"/api/v1/people/{secret.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/people/{secret.pk}/photos/").status_code == 404


def test_a_named_face_names_my_earlier_and_later_photos_of_that_person(
    user, other_user, faces_dir, group_dir, scan_photo, user_api, run_worker
):
    kit = sorted((faces_dir / "kit_harington").glob("*.jpg"))
    group = scan_photo(user, group_dir / "face_recognition__kit_with_rose.jpg")
    earlier = scan_photo(user, kit[0])  # scanned before anyone is named: unknown
    assert _main_face(earlier).person is None
    _rose, kit_face = Face.objects.filter(photo=group).order_by("x1")
    response = user_api.post(f"/api/v1/faces/{kit_face.pk}/assign/", {"name": "Kit"}, format="json")
    assert response.status_code == 200, response.content
    person = Person.objects.get(name="Kit")
    assert person.owner == user and not person.in_directory
    run_worker("faces")  # the background re-identification the naming queued
    assert _main_face(earlier).person == person and _main_face(earlier).assignment == Assignment.AUTO
    later = scan_photo(user, kit[1])
    assert _main_face(later).person == person
    # Someone else's photo of him stays unknown: my names are mine.
    theirs = scan_photo(other_user, kit[2])
    assert _main_face(theirs).person is None
    # The people API: my person, the photos he is in, his cover crop with the token.
    body = user_api.get("/api/v1/people/").json()["results"]
    assert [(p["name"], p["photo_count"], p["directory"]) for p in body] == [("Kit", 3, False)]
    photos = user_api.get(body[0]["photos_url"]).json()["results"]
    assert {p["id"] for p in photos} == {group.pk, earlier.pk, later.pk}
    assert user_api.get(body[0]["cover_url"]).status_code == 200
    face = user_api.get(f"/api/v1/faces/{kit_face.pk}/").json()
    assert user_api.get(face["crop_url"]).status_code == 200
    # Filter the gallery by him.
    from django.test import Client

    client = Client()
    client.force_login(user)
    page = client.get(f"/?person={person.pk}")
    assert {p.pk for p in page.context["photos"]} == {group.pk, earlier.pk, later.pk}


def test_staff_pages_and_the_admin_never_show_crops_of_users_faces(
    staff_user, user, faces_dir, enroll, scan_photo, client, django_user_model, api_client, run_worker
):
    from faces.services import clustering_create, face_share

    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    photo = scan_photo(user, faces_dir / "barack_obama" / "3.jpg")
    for path in sorted((faces_dir / "tony_blair").glob("*.jpg"))[:3]:  # unknown bystanders of the user
        scan_photo(user, path, run=False)
    run_worker("faces")
    face = _main_face(photo)
    assert face.person == obama and face.crop
    private = list(Face.objects.filter(owner=user).values_list("pk", flat=True))
    enrolled = list(Face.objects.filter(assignment="enrolled").values_list("pk", flat=True))
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw-ROOT-12345")
    clustering_create(actor=staff_user, owner=None)
    run_worker("faces")

    def crops(html: str) -> set[int]:
        import re

        return {int(x) for x in re.findall(r"/faces/crops/(\d+)\.jpg", html)}

    for who in (staff_user, admin):
        client.force_login(who)
        pages = [
            client.get(f"/faces/directory/{obama.pk}/"),
            client.get("/faces/directory/"),
            client.get("/faces/suggestions/"),
        ]
        if who.is_superuser:  # plain staff have no admin permissions on faces
            pages += [client.get(f"/admin/faces/person/{obama.pk}/change/"), client.get("/admin/faces/face/")]
        for response in pages:
            assert response.status_code == 200
            shown = crops(response.content.decode())
            assert not shown & set(private), response.request["PATH_INFO"]
        assert crops(pages[0].content.decode()) & set(enrolled)  # the directory's own faces are shown
        assert client.get(f"/faces/crops/{face.pk}.jpg").status_code == 404
        if who.is_superuser:
            assert client.get(f"/admin/faces/face/{face.pk}/change/").status_code == 302  # not in the admin
    api_client.force_authenticate(staff_user)
    listed = api_client.get(f"/api/v1/directory/{obama.pk}/faces/").json()["results"]
    assert {f["id"] for f in listed} == set(
        Face.objects.filter(person=obama, assignment="enrolled").values_list("pk", flat=True)
    )
    assert api_client.get(f"/api/v1/faces/{face.pk}/crop/").status_code == 404
    # With the owner's consent the face is offered, and then staff may see and enroll it.
    face_share(face=face, shared=True, actor=user)
    client.force_login(staff_user)
    assert client.get(f"/faces/crops/{face.pk}.jpg").status_code == 200
    assert f"/faces/crops/{face.pk}.jpg" in client.get(f"/faces/directory/{obama.pk}/").content.decode()


def test_deleting_a_directory_person_leaves_users_faces_as_unknown(
    staff_user, user, faces_dir, enroll, scan_photo, client
):
    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    photo = scan_photo(user, faces_dir / "barack_obama" / "3.jpg")
    face = _main_face(photo)
    assert face.person == obama
    from faces.services import face_confirm

    face_confirm(face=face, actor=user)
    enrollment = list(Face.objects.filter(assignment="enrolled"))
    crops = [f.crop.name for f in enrollment]
    client.force_login(staff_user)
    assert client.post(f"/faces/directory/{obama.pk}/delete/").status_code == 302
    face.refresh_from_db()
    assert face.person is None and face.assignment == Assignment.NONE and default_storage.exists(face.crop.name)
    assert not Face.objects.filter(pk__in=[f.pk for f in enrollment]).exists()
    assert not any(default_storage.exists(c) for c in crops)
    assert not Person.objects.filter(pk=obama.pk).exists()


def test_turning_recognition_off_erases_my_embeddings_and_computes_none(
    user, other_user, faces_dir, scan_photo, user_api, queues
):
    from faces.services import RecognitionOff, face_scan_create

    photo = scan_photo(user, faces_dir / "barack_obama" / "3.jpg")
    scan_photo(other_user, faces_dir / "barack_obama" / "4.jpg")
    assert Face.objects.filter(owner=user, embedding__isnull=False).exists()
    response = user_api.put("/api/v1/face-settings/", {"recognition": False}, format="json")
    assert response.status_code == 200 and response.json() == {"recognition": False}
    assert Face.objects.filter(owner=user).exists()
    assert not Face.objects.filter(owner=user, embedding__isnull=False).exists()
    assert Face.objects.filter(owner=other_user, embedding__isnull=False).exists()  # only mine
    with pytest.raises(RecognitionOff):
        face_scan_create(photo=photo)
    with open(faces_dir / "barack_obama" / "1.jpg", "rb") as image:
        upload = user_api.post("/api/v1/photos/", {"images": [image]}, format="multipart")
    assert upload.status_code in (200, 201), upload.content
    assert queues["faces"].count == 0  # the gallery queued no face scan
    with open(faces_dir / "barack_obama" / "1.jpg", "rb") as image:
        assert user_api.post("/api/v1/identify/", {"image": image}, format="multipart").status_code == 400
