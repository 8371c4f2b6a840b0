"""Migration 0003: existing people become the directory; nothing a user confirmed stays shared."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("faces", "0002_embedding_indexes")]


def _migrate(targets=None):  # type: ignore[no-untyped-def]
    """Migrate to ``targets`` (default: every app's latest, so later tests find the usual schema)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_existing_people_become_the_directory_and_user_confirmations_stay_private(user, other_user, staff_user):
    old = _migrate(BEFORE)
    try:
        Person, Face, Upload, Suggestion = (
            old.get_model("faces", m) for m in ("Person", "Face", "Upload", "Suggestion")
        )
        Photo = old.get_model("gallery", "Photo")
        obama = Person.objects.create(name="Barack Obama")
        enroll = Upload.objects.create(
            owner_id=staff_user.pk, purpose="enroll", person=obama, image="x.jpg", sha256="0", width=1, height=1
        )
        photo = Photo.objects.create(
            owner_id=user.pk, image="a.jpg", thumbnail="t.jpg", content_hash="1", width=1, height=1
        )
        theirs = Photo.objects.create(
            owner_id=other_user.pk, image="b.jpg", thumbnail="t.jpg", content_hash="2", width=1, height=1
        )
        box = {"x1": 0, "y1": 0, "x2": 1, "y2": 1, "score": 1, "embedder": "dlib-resnet-v1", "embedding": [1.0] * 128}
        enrolled = Face.objects.create(
            owner_id=staff_user.pk, upload=enroll, person=obama, assignment="enrolled", **box
        )
        mine = Face.objects.create(owner_id=user.pk, photo=photo, person=obama, assignment="confirmed",
                                   assigned_by_id=user.pk, **box)  # fmt: skip
        named_by_staff = Face.objects.create(owner_id=other_user.pk, photo=theirs, person=obama,
                                             assignment="confirmed", assigned_by_id=staff_user.pk, **box)  # fmt: skip
        group = Suggestion.objects.create(kind="cluster", embedder="dlib-resnet-v1", size=1)
        Face.objects.filter(pk=mine.pk).update(suggestion=group)
    finally:
        new = _migrate()
    Person, Face, Suggestion = (new.get_model("faces", m) for m in ("Person", "Face", "Suggestion"))
    assert Person.objects.get(pk=obama.pk).owner_id is None  # the directory
    assert Face.objects.get(pk=enrolled.pk).assignment == "enrolled"
    # The user's own word stays theirs (a reference for their photos only: confirmed, owner-scoped)…
    assert Face.objects.get(pk=mine.pk).assignment == "confirmed"
    # …a name staff put on someone else's face was never that owner's word: an automatic name now.
    assert Face.objects.get(pk=named_by_staff.pk).assignment == "auto"
    assert Suggestion.objects.get(pk=group.pk).owner_id == user.pk
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'face_emb_dlib_resnet_v1_hnsw'")
        (definition,) = cursor.fetchone()
    assert "'enrolled'" in definition and "confirmed" not in definition


def test_enrollments_filed_under_a_users_private_person_move_to_the_directory(user, other_user, staff_user):
    old = _migrate([("faces", "0003_owners")])
    try:
        Person, Face, Upload = (old.get_model("faces", m) for m in ("Person", "Face", "Upload"))
        Photo = old.get_model("gallery", "Photo")
        private = Person.objects.create(name="Barack Obama", owner_id=user.pk)
        enroll = Upload.objects.create(
            owner_id=staff_user.pk, purpose="enroll", person=private, image="x.jpg", sha256="0", width=1, height=1
        )
        mine_photo = Photo.objects.create(
            owner_id=user.pk, image="a.jpg", thumbnail="t.jpg", content_hash="1", width=1, height=1
        )
        theirs_photo = Photo.objects.create(
            owner_id=other_user.pk, image="b.jpg", thumbnail="t.jpg", content_hash="2", width=1, height=1
        )
        box = {"x1": 0, "y1": 0, "x2": 1, "y2": 1, "score": 1, "embedder": "dlib-resnet-v1", "embedding": [1.0] * 128}
        enrolled = Face.objects.create(
            owner_id=staff_user.pk, upload=enroll, person=private, assignment="enrolled", **box
        )
        mine = Face.objects.create(owner_id=user.pk, photo=mine_photo, person=private, assignment="confirmed", **box)
        theirs = Face.objects.create(
            owner_id=other_user.pk, photo=theirs_photo, person=private, assignment="auto", **box
        )
        Person.objects.filter(pk=private.pk).update(cover=enrolled)
    finally:
        new = _migrate()
    Person, Face, Upload = (new.get_model("faces", m) for m in ("Person", "Face", "Upload"))
    directory = Person.objects.get(name="Barack Obama", owner__isnull=True)
    assert Face.objects.get(pk=enrolled.pk).person_id == directory.pk
    assert Upload.objects.get(pk=enroll.pk).person_id == directory.pk
    assert Face.objects.get(pk=theirs.pk).person_id == directory.pk  # named via the moved references
    # The user's own naming stays theirs, on their person.
    assert Face.objects.get(pk=mine.pk).person_id == private.pk
    assert Person.objects.get(pk=private.pk).cover_id is None
    assert Person.objects.get(pk=directory.pk).cover_id == enrolled.pk
