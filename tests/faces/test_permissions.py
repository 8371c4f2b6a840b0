"""Access control: staff-only people management, owner-only faces, crops and photos, no embeddings out."""

from __future__ import annotations

import json

import pytest

from faces.models import Face, FaceScan

pytestmark = pytest.mark.django_db(transaction=True)

STAFF_PAGES = ["/faces/directory/", "/faces/history/", "/faces/suggestions/", "/faces/thresholds/"]
STAFF_API = ["/api/v1/directory/"]


@pytest.fixture
def scanned(staff_user, user, faces_dir, group_dir, enroll, scan_photo):  # type: ignore[no-untyped-def]
    obama = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:2])
    photo = scan_photo(user, group_dir / "face_recognition__two_people.jpg")
    return obama, photo


def test_people_pages_and_endpoints_refuse_normal_users(client, user, staff_user, api_client):
    client.force_login(user)
    for url in STAFF_PAGES:
        assert client.get(url).status_code == 403, url  # our "staff only" page, not the admin's log-in
    api_client.force_authenticate(user)
    for url in STAFF_API:
        assert api_client.get(url).status_code == 403, url
    assert api_client.post("/api/v1/directory/", {"name": "X"}).status_code == 403
    assert api_client.post("/api/v1/people/", {"name": "X"}).status_code == 405  # people are made by naming faces
    client.force_login(staff_user)
    for url in STAFF_PAGES:
        assert client.get(url).status_code == 200, url
    api_client.force_authenticate(staff_user)
    for url in STAFF_API:
        assert api_client.get(url).status_code == 200, url


def test_another_users_photo_faces_and_crops_are_404(scanned, user, other_user, client, api_client):
    _, photo = scanned
    face = Face.objects.filter(photo=photo).first()
    scan = FaceScan.objects.get(photo=photo)
    client.force_login(other_user)
    for url in [f"/faces/photos/{photo.pk}/", f"/faces/photos/{photo.pk}/image", f"/faces/crops/{face.pk}.jpg",
                f"/faces/scans/{scan.pk}/"]:  # fmt: skip
        assert client.get(url).status_code == 404, url
    for url in [
        f"/faces/faces/{face.pk}/confirm/",
        f"/faces/faces/{face.pk}/reject/",
        f"/faces/photos/{photo.pk}/scan/",
    ]:
        assert client.post(url).status_code == 404, url
    api_client.force_authenticate(other_user)
    assert api_client.get(f"/api/v1/faces/{face.pk}/").status_code == 404
    assert api_client.get(f"/api/v1/scans/{scan.pk}/").status_code == 404
    assert api_client.post(f"/api/v1/faces/{face.pk}/reject/").status_code == 404
    assert api_client.post("/api/v1/identify/", {"photo": photo.pk}, format="json").status_code == 404
    assert (
        api_client.post("/api/v1/verify/", {"photo_a": photo.pk, "photo_b": photo.pk}, format="json").status_code == 404
    )
    assert api_client.get("/api/v1/faces/").json()["count"] == 0
    # …while the owner sees them.
    client.force_login(user)
    assert client.get(f"/faces/crops/{face.pk}.jpg").status_code == 200
    assert client.get(f"/faces/photos/{photo.pk}/").status_code == 200


def test_the_api_never_returns_embeddings(scanned, user, api_client):
    api_client.force_authenticate(user)
    body = api_client.get("/api/v1/faces/").json()
    assert body["count"] == 2
    text = json.dumps(body)
    assert "embedding" not in text
    assert all(len(f["box"]) == 4 for f in body["results"])
    names = {f["person"]["name"] if f["person"] else None for f in body["results"]}
    assert names == {"Barack Obama", None}


def test_a_normal_user_cannot_verify_against_a_person(scanned, user, api_client):
    obama, photo = scanned
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/verify/", {"photo_a": photo.pk, "person": obama.pk}, format="json")
    assert response.status_code == 404
