"""`manage.py reembed`: new vectors for every stored face, names and confirmations kept."""

from __future__ import annotations

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from faces.models import Face

pytestmark = pytest.mark.django_db(transaction=True)


def test_reembed_recomputes_vectors_and_keeps_people_and_assignments(staff_user, faces_dir, enroll):
    person = enroll(staff_user, "Barack Obama", sorted((faces_dir / "barack_obama").glob("*.jpg"))[:3])
    faces = list(Face.objects.filter(person=person).order_by("pk"))
    assert len(faces) == 3
    before = {f.pk: (np.asarray(f.embedding), f.assignment) for f in faces}
    broken = faces[0]
    Face.objects.filter(pk=broken.pk).update(embedding=np.full(128, 1 / np.sqrt(128), dtype=np.float32).tolist())

    call_command("reembed", "--embedder", "dlib-resnet-v1", "--all", verbosity=0)

    for face in Face.objects.filter(person=person):
        vector, assignment = before[face.pk]
        assert face.person_id == person.pk and face.assignment == assignment and face.embedder == "dlib-resnet-v1"
        assert np.allclose(np.asarray(face.embedding), vector, atol=1e-4)  # the same model gives the same vector


def test_reembed_with_missing_weights_names_the_file_and_changes_nothing(
    staff_user, faces_dir, enroll, monkeypatch, tmp_path
):
    enroll(staff_user, "Joe Biden", sorted((faces_dir / "joe_biden").glob("*.jpg"))[:1])
    monkeypatch.setenv("NSTSITE_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(CommandError, match=r"20180402-114759-vggface2\.pt"):
        call_command("reembed", "--embedder", "facenet-vggface2", verbosity=0)
    assert set(Face.objects.values_list("embedder", flat=True)) == {"dlib-resnet-v1"}
