"""The identification SQL uses the per-embedder partial HNSW index, with the same cast."""

from __future__ import annotations

import numpy as np
import pytest
from django.db import connection

from faces.identify import explain_nearest, nearest

pytestmark = pytest.mark.django_db


def _fill(user, n=2000, dim=128, embedder="dlib-resnet-v1"):  # type: ignore[no-untyped-def]
    import io

    from PIL import Image

    from faces.models import Face, Person
    from faces.services import upload_create

    person = Person.objects.create(name="P")
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32)).save(buffer, "PNG")
    upload = upload_create(owner=user, file=buffer.getvalue(), purpose="enroll", person=person, name="x.png")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    Face.objects.bulk_create(
        [Face(owner=user, upload=upload, x1=0, y1=0, x2=1, y2=1, score=1, embedding=v, embedder=embedder,
              person=person, assignment="enrolled") for v in vectors]
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE faces_face")
    return vectors


def test_explain_shows_the_hnsw_index_of_the_embedder(user):
    _fill(user)
    plan = explain_nearest("dlib-resnet-v1")
    assert "face_emb_dlib_resnet_v1_hnsw" in plan, plan
    assert "Index Scan" in plan


def test_the_approximate_answer_matches_exact_search(user):
    vectors = _fill(user)
    from faces.models import Face

    ids = list(Face.objects.order_by("id").values_list("id", flat=True))
    hits = 0
    for i in range(0, 2000, 100):
        query = vectors[i] + np.random.default_rng(i).normal(scale=0.05, size=128).astype(np.float32)
        found = nearest(query, "dlib-resnet-v1", 5)
        assert [n.distance for n in found] == sorted(n.distance for n in found)
        hits += found[0].face_id == ids[i]
    assert hits >= 19


def test_other_embedders_rows_are_not_compared(user):
    _fill(user, n=50, dim=512, embedder="facenet-vggface2")
    assert nearest(np.ones(128, np.float32), "dlib-resnet-v1", 5) == []
    assert len(nearest(np.ones(512, np.float32), "facenet-vggface2", 5)) == 5


def test_owner_scoped_search_uses_the_directory_index_and_only_the_callers_confirmations(user, other_user):
    from faces.models import Face

    vectors = _fill(user, n=300)  # the directory: enrolled faces
    photo_face = Face.objects.filter(assignment="enrolled").first()
    person = photo_face.person
    # Two users confirmed a face each, right on top of the query vector.
    query = vectors[0] * -1.0
    mine = Face.objects.create(owner=user, upload=photo_face.upload, x1=0, y1=0, x2=1, y2=1, score=1,
                               embedding=query, embedder="dlib-resnet-v1", person=person, assignment="confirmed")  # fmt: skip
    theirs = Face.objects.create(owner=other_user, upload=photo_face.upload, x1=0, y1=0, x2=1, y2=1, score=1,
                                 embedding=query, embedder="dlib-resnet-v1", person=person, assignment="confirmed")  # fmt: skip
    plan = explain_nearest("dlib-resnet-v1", owner_id=user.pk)
    assert "face_emb_dlib_resnet_v1_hnsw" in plan, plan
    found_mine = nearest(query, "dlib-resnet-v1", 3, owner_id=user.pk)
    found_theirs = nearest(query, "dlib-resnet-v1", 3, owner_id=other_user.pk)
    directory_only = nearest(query, "dlib-resnet-v1", 3)
    assert found_mine[0].face_id == mine.pk and theirs.pk not in {n.face_id for n in found_mine}
    assert found_theirs[0].face_id == theirs.pk and mine.pk not in {n.face_id for n in found_theirs}
    assert {mine.pk, theirs.pk}.isdisjoint(n.face_id for n in directory_only)
    assert [n.face_id for n in found_mine[1:]] == [n.face_id for n in directory_only[:2]]


def test_the_thresholds_page_explains_the_query_only_when_an_administrator_asks(admin_client):
    page = admin_client.get("/faces/thresholds/").content.decode()
    assert "show the database's plan" in page and "Index Scan" not in page and "Seq Scan" not in page
    plan = admin_client.get("/faces/thresholds/?plan=1").content.decode()
    assert "Scan" in plan  # the planner's own words: EXPLAIN ran
