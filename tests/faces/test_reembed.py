"""`manage.py reembed`: new vectors for every stored face, names and confirmations kept."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from faces.models import Assignment, Face

pytestmark = pytest.mark.django_db(transaction=True)


def test_reembed_moves_the_database_from_facenet_to_dlib_and_back_keeping_names(
    staff_user, user, faces_dir, enroll, scan_photo, settings
):
    photos = sorted((faces_dir / "barack_obama").glob("*.jpg"))
    person = enroll(staff_user, "Barack Obama", photos[:3])
    faces = list(Face.objects.filter(person=person).order_by("pk"))
    assert len(faces) == 3 and {f.embedder for f in faces} == {"facenet-casia-webface"}  # the default
    before = {f.pk: (np.asarray(f.embedding), f.assignment) for f in faces}
    assert all(len(vector) == 512 for vector, _ in before.values())

    call_command("reembed", "--embedder", "dlib-resnet-v1", verbosity=0)
    for face in Face.objects.filter(person=person):
        assert face.embedder == "dlib-resnet-v1" and len(face.embedding) == 128
        assert face.person_id == person.pk and face.assignment == before[face.pk][1]
        assert np.linalg.norm(np.asarray(face.embedding)) == pytest.approx(1.0, abs=1e-5)
    # The app now identifies with dlib against the moved references.
    settings.FACES_EMBEDDER = "dlib-resnet-v1"
    probe = max(Face.objects.filter(photo=scan_photo(user, photos[3])), key=lambda f: (f.x2 - f.x1) * (f.y2 - f.y1))
    assert probe.embedder == "dlib-resnet-v1" and probe.person == person and probe.assignment == Assignment.AUTO

    call_command("reembed", "--embedder", "facenet-casia-webface", verbosity=0)
    for face in Face.objects.filter(pk__in=before):
        vector, assignment = before[face.pk]
        assert face.person_id == person.pk and face.assignment == assignment
        assert face.embedder == "facenet-casia-webface"
        assert np.allclose(np.asarray(face.embedding), vector, atol=1e-4)  # the same model gives the same vector
    assert set(Face.objects.values_list("embedder", flat=True)) == {"facenet-casia-webface"}  # the probe moved too


def test_reembed_all_repairs_vectors_of_the_current_embedder(staff_user, faces_dir, enroll):
    person = enroll(staff_user, "Joe Biden", sorted((faces_dir / "joe_biden").glob("*.jpg"))[:2])
    faces = list(Face.objects.filter(person=person).order_by("pk"))
    good = np.asarray(faces[0].embedding)
    Face.objects.filter(pk=faces[0].pk).update(embedding=np.full(512, 1 / np.sqrt(512), dtype=np.float32).tolist())
    call_command("reembed", "--embedder", "facenet-casia-webface", verbosity=0)  # without --all: nothing to do
    assert not np.allclose(np.asarray(Face.objects.get(pk=faces[0].pk).embedding), good, atol=1e-4)
    call_command("reembed", "--embedder", "facenet-casia-webface", "--all", verbosity=0)
    assert np.allclose(np.asarray(Face.objects.get(pk=faces[0].pk).embedding), good, atol=1e-4)


def test_reembed_with_missing_weights_names_the_file_and_changes_nothing(
    staff_user, faces_dir, enroll, monkeypatch, tmp_path
):
    enroll(staff_user, "Joe Biden", sorted((faces_dir / "joe_biden").glob("*.jpg"))[:1])
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(CommandError, match=r"20180402-114759-vggface2\.pt"):
        call_command("reembed", "--embedder", "facenet-vggface2", verbosity=0)
    assert set(Face.objects.values_list("embedder", flat=True)) == {"facenet-casia-webface"}
