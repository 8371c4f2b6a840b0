"""1:1 verification: two photos (the largest face of each), or a photo against a person.

Runs as a job (the detector and embedder are models). Against a person, the distance is to the
person's nearest reference face. No embedding is stored: the row keeps boxes and the answer.
"""

from __future__ import annotations

import numpy as np
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from faces import conf
from faces.models import Person, Upload, Verification
from faces.services.identify import threshold_for, vector_literal
from faces.services.scans import Detection, detect_and_embed
from faces.vector_index import cast, predicate
from ml.faces.verify import verify
from ml.images import open_image
from nstsite import jobs
from nstsite.models import TaskStatus


def verification_create(
    *,
    owner,
    photo_a=None,
    upload_a: Upload | None = None,
    photo_b=None,
    upload_b: Upload | None = None,  # type: ignore[no-untyped-def]
    person: Person | None = None,
) -> Verification:
    """Queue a verification of a (photo or upload) against b (photo or upload) or a person."""
    if (photo_a is None) == (upload_a is None):
        raise ValidationError("Give one first image.")
    if sum(x is not None for x in (photo_b, upload_b, person)) != 1:
        raise ValidationError("Give one second image, or a person.")
    verification = Verification.objects.create(
        owner=owner,
        photo_a=photo_a,
        upload_a=upload_a,
        photo_b=photo_b,
        upload_b=upload_b,
        person=person,
        embedder=conf.embedder_name(),
    )
    from faces.jobs import verification_failed, verification_run

    jobs.enqueue("faces", verification_run, Verification, verification.pk, on_failure=verification_failed)
    return verification


class NoFace(Exception):
    def __init__(self, which: str) -> None:
        super().__init__(which)
        self.user_message = f"No face was found in the {which} image."


class NoReference(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.user_message = f"{name} has no enrolled face to compare with."


def _largest(detections: list[Detection], which: str) -> Detection:
    if not detections:
        raise NoFace(which)
    return max(detections, key=lambda d: d.face.width * d.face.height)


def _image(photo, upload):  # type: ignore[no-untyped-def]
    field = photo.image if photo is not None else upload.image
    with field.open("rb") as handle:
        return open_image(handle.read())


def nearest_reference(embedding: np.ndarray, person: Person, embedder: str) -> np.ndarray | None:
    """``person``'s reference face nearest to ``embedding`` (exact search over that person's faces)."""
    dim = conf.embedder_dim(embedder)
    vector = vector_literal(embedding)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT embedding::text FROM faces_face WHERE {predicate(embedder)} AND person_id = %s "  # noqa: S608
            f"ORDER BY {cast(dim)} <=> %s::vector({dim}) LIMIT 1",
            [person.pk, vector],
        )
        row = cursor.fetchone()
    return None if row is None else np.asarray(row[0].strip("[]").split(","), dtype=np.float32)


def _box(detection: Detection) -> list[float]:
    return [round(float(v), 1) for v in detection.face.box]


def verification_run_body(verification_id: int, *, worker_name: str = "") -> None:
    if not Verification.claim(verification_id, worker_name=worker_name):
        return
    v = Verification.objects.select_related("photo_a", "upload_a", "photo_b", "upload_b", "person").get(
        pk=verification_id
    )
    threshold = threshold_for(v.embedder).value
    with jobs.heartbeat(Verification, verification_id):
        a = _largest(detect_and_embed(_image(v.photo_a, v.upload_a), v.embedder), "first")
        box_b = None
        if v.person_id:
            reference = nearest_reference(a.embedding, v.person, v.embedder)  # type: ignore[arg-type]
            if reference is None:
                raise NoReference(str(v.person))
            result = verify(a.embedding, reference, threshold, "cosine")
        else:
            b = _largest(detect_and_embed(_image(v.photo_b, v.upload_b), v.embedder), "second")
            result = verify(a.embedding, b.embedding, threshold, "cosine")
            box_b = _box(b)
    with transaction.atomic():
        Verification.objects.filter(pk=verification_id, status=TaskStatus.RUNNING).update(
            status=TaskStatus.SUCCEEDED,
            progress=1.0,
            same=result.same,
            distance=result.distance,
            threshold=result.threshold,
            score=result.score,
            box_a=_box(a),
            box_b=box_b,
            finished_at=timezone.now(),
        )
