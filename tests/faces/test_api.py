"""The identify and verify endpoints: 202 + a status URL, the real worker, then the answer."""

from __future__ import annotations

import pytest

from faces.models import Face

pytestmark = pytest.mark.django_db(transaction=True)


def test_identify_an_upload_returns_202_then_names_and_unknowns(
    staff_user, user, user_api, faces_dir, group_dir, enroll, run_worker
):
    enroll(staff_user, "Kit Harington", sorted((faces_dir / "kit_harington").glob("*.jpg")))
    with open(group_dir / "face_recognition__kit_with_rose.jpg", "rb") as image:
        response = user_api.post("/api/v1/identify/", {"image": image}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "queued" and response["Location"] == body["status_url"]
    assert run_worker("faces") == 1
    result = user_api.get(body["status_url"]).json()
    assert result["status"] == "succeeded"
    faces = sorted(result["faces"], key=lambda f: f["box"][0])
    assert len(faces) == 2
    assert faces[0]["unknown"] is True  # Rose Leslie is not enrolled
    assert faces[1]["person"]["name"] == "Kit Harington"
    # Distances and thresholds are for staff: absent from a user's answer, kept in the rows.
    assert "threshold" not in result and not {"distance", "score"} & {k for f in faces for k in f}
    from faces.models import FaceScan

    scan = FaceScan.objects.get(pk=body["id"])
    kit = Face.objects.get(upload=scan.upload, person__name="Kit Harington")
    assert 0 < kit.distance <= scan.threshold
    # A one-off upload keeps the answer, not the biometric vectors.
    assert not Face.objects.filter(upload__isnull=False, owner=user, embedding__isnull=False).exists()


def test_identify_refuses_a_file_that_is_not_an_image(user_api, queues):
    from django.core.files.uploadedfile import SimpleUploadedFile

    fake = SimpleUploadedFile("x.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = user_api.post("/api/v1/identify/", {"image": fake}, format="multipart")
    assert response.status_code == 400
    assert queues["faces"].count == 0


def test_verify_two_photos_of_one_person_and_of_two_people(user_api, staff_user, faces_dir, run_worker):
    from rest_framework.test import APIClient

    def verify(a, b, client=user_api):  # type: ignore[no-untyped-def]
        with open(a, "rb") as fa, open(b, "rb") as fb:
            response = client.post("/api/v1/verify/", {"image_a": fa, "image_b": fb}, format="multipart")
        assert response.status_code == 202, response.content
        return response.json()["status_url"]

    # FaceNet's default threshold is its FAR 1e-3 point, which accepts ~93 % of same-person pairs: Aniston
    # 1 vs 2 (0.56 apart) is one of the ~7 % it calls different, 1 vs 3 (0.24) a typical pair.
    same = verify(faces_dir / "jennifer_aniston" / "1.jpg", faces_dir / "jennifer_aniston" / "3.jpg")
    different = verify(faces_dir / "jennifer_aniston" / "1.jpg", faces_dir / "nicole_kidman" / "1.jpg")
    staff = APIClient()
    staff.force_authenticate(staff_user)
    staffs = verify(faces_dir / "jennifer_aniston" / "1.jpg", faces_dir / "jennifer_aniston" / "3.jpg", staff)
    assert run_worker("faces") == 3
    a, b = user_api.get(same).json(), user_api.get(different).json()
    assert a["status"] == b["status"] == "succeeded"
    assert a["same"] is True and b["same"] is False
    # The numbers behind the verdict are staff-only: absent for the user, there for staff.
    assert not {"distance", "threshold", "score"} & (set(a) | set(b))
    c = staff.get(staffs).json()
    assert c["same"] is True and c["distance"] <= c["threshold"] and c["score"] > 0.5
    from faces.models import Verification

    other = Verification.objects.get(pk=b["id"])
    assert other.distance > other.threshold and other.score < 0.5


def test_the_schema_documents_the_faces_endpoints(client, user):
    client.force_login(user)
    schema = client.get("/api/schema/").content.decode()
    for path in ["/api/v1/identify/", "/api/v1/verify/", "/api/v1/people/", "/api/v1/faces/", "/api/v1/suggestions/"]:
        assert path in schema
    assert "embedding:" not in schema  # no field of that name in any component


def test_the_schema_a_user_reads_has_no_staff_only_numbers(client, user):
    import yaml

    client.force_login(user)
    components = yaml.safe_load(client.get("/api/schema/").content)["components"]["schemas"]
    assert not {"score", "distance"} & set(components["Face"]["properties"])
    assert not {"distance", "threshold", "score"} & set(components["Verification"]["properties"])
    assert "threshold" not in components["Scan"]["properties"]
